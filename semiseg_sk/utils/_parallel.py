# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""The ``n_jobs`` parameter: its constraint and how many workers it starts."""

import os
from numbers import Integral

from joblib import effective_n_jobs
from sklearn.utils.parallel import Parallel

from .fixes import Interval

__all__ = ["N_JOBS", "capped_n_jobs", "image_parallel", "thread_budget"]

# Any non-zero int (negative counts back from the number of processors, as in
# joblib) or None; 0 would mean "no worker" and is rejected with its name.
N_JOBS = [
    Interval(Integral, None, -1, closed="right"),
    Interval(Integral, 1, None, closed="left"),
    None,
]


def capped_n_jobs(n_jobs, n_tasks):
    """The ``n_jobs`` to hand joblib for ``n_tasks`` independent tasks.

    Never more workers than tasks: ``n_jobs=-1`` or ``n_jobs=1000`` on four
    images starts four workers, not one per core or a thousand. ``None`` is
    returned unchanged, so that a :func:`joblib.parallel_backend` context
    (dask, for instance) still decides.

    Parameters
    ----------
    n_jobs : int or None
        The user's ``n_jobs``.
    n_tasks : int
        Number of independent tasks, e.g. images.

    Returns
    -------
    n_jobs : int or None
        At most ``max(n_tasks, 1)``.

    Examples
    --------
    >>> from semiseg_sk.utils._parallel import capped_n_jobs
    >>> capped_n_jobs(1000, 4)
    4
    >>> capped_n_jobs(None, 4) is None
    True
    """
    if n_jobs is None:
        return None
    return max(1, min(effective_n_jobs(n_jobs), n_tasks))


def image_parallel(n_jobs, n_tasks=None, **kwargs):
    """A :class:`sklearn.utils.parallel.Parallel` for per-image tasks, one per call.

    joblib groups calls into batches when it judges them short, which suits
    thousands of tiny calls. A per-image call (superpixels, features,
    prediction of one image) takes a fraction of a second to seconds, and
    batches of them spread unevenly over the workers: under the dask
    backend, joblib grouped 16 predictions of 1024x1024 images into one
    task, and one worker computed them while the other had nothing left.
    ``batch_size=1`` keeps every image its own task.

    Parameters
    ----------
    n_jobs : int or None
        The user's ``n_jobs``.
    n_tasks : int, default=None
        Number of tasks when known: ``n_jobs`` is capped to it
        (:func:`capped_n_jobs`).
    **kwargs
        Passed to scikit-learn's ``Parallel`` (``prefer``, ``return_as``...).

    Returns
    -------
    parallel : sklearn.utils.parallel.Parallel
        joblib's, passing scikit-learn's configuration on to the workers.

    Examples
    --------
    >>> from sklearn.utils.parallel import delayed
    >>> from semiseg_sk.utils._parallel import image_parallel
    >>> image_parallel(2, n_tasks=3)(delayed(abs)(-i) for i in range(3))
    [0, 1, 2]
    """
    if n_tasks is not None:
        n_jobs = capped_n_jobs(n_jobs, n_tasks)
    return Parallel(n_jobs=n_jobs, batch_size=1, **kwargs)


def thread_budget(environ=None):
    """Threads a step may start for its own thread pools, or None (no limit).

    A process that runs one task among many gets ``OMP_NUM_THREADS`` from
    whoever started it: joblib's loky workers ``cpu_count() // n_jobs``, dask
    workers 1. OpenMP, BLAS and torch follow it; thread pools outside them
    (scikit-image's filter bank) are given this number, so that two
    single-thread dask workers on two cores do not start a pool each.

    Parameters
    ----------
    environ : mapping, default=None
        The environment; None means ``os.environ``.

    Returns
    -------
    n_threads : int or None
        ``OMP_NUM_THREADS`` when it is a positive integer, else None.

    Examples
    --------
    >>> from semiseg_sk.utils._parallel import thread_budget
    >>> thread_budget({"OMP_NUM_THREADS": "1"})
    1
    >>> thread_budget({}) is None, thread_budget({"OMP_NUM_THREADS": "0"}) is None
    (True, True)
    """
    environ = os.environ if environ is None else environ
    try:
        n_threads = int(environ.get("OMP_NUM_THREADS", ""))
    except ValueError:
        return None
    return n_threads if n_threads >= 1 else None
