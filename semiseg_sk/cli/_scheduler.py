# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""Where the per-image work of a command runs: ``--n-jobs`` and ``--scheduler``.

Without either option everything runs in the command's process. ``--n-jobs N``
runs per-image tasks in N local joblib (loky) processes. ``--scheduler``
connects to a dask.distributed scheduler (``tcp://host:8786``) or starts a
:class:`distributed.LocalCluster` (``local:N``: N worker processes of one
thread each, closed when the command ends), and runs the tasks on its workers
through joblib's dask backend. dask and distributed are the optional extra
``semiseg_sk[dask]``; they are imported only when ``--scheduler`` is given.

dask's nannies start their workers with ``MALLOC_TRIM_THRESHOLD_=65536``
(``distributed.nanny.pre-spawn-environ``). With it, glibc serves every array
larger than 128 KiB by a fresh ``mmap`` and returns it at once, so each of the
many image-sized temporaries of a per-image task is faulted in anew: on one
1024 x 1024 image a task takes about 1.8 times its time in a plain process
(5.4 s against 3.0 s). :func:`local_cluster` starts workers without it, and
:func:`worker_environment_warning` says so when a cluster's workers have it.
"""

import contextlib
import logging
import os
import re
import warnings

from ..exceptions import CommandError

__all__ = [
    "CONNECT_TIMEOUT",
    "WORKER_CONFIG",
    "absolute",
    "ImageWorkers",
    "image_workers",
    "library_backend",
    "local_cluster",
    "parse_scheduler",
    "uses_workers",
    "worker_environment_warning",
]

#: Seconds to wait for a scheduler to answer, and for it to have a worker.
CONNECT_TIMEOUT = 10

#: The dask settings under which :func:`local_cluster` starts its workers:
#: no ``MALLOC_TRIM_THRESHOLD_`` in their environment (glibc's default, a
#: threshold that adapts to the sizes freed), see the module's docstring.
WORKER_CONFIG = {"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}
_TRIM = "MALLOC_TRIM_THRESHOLD_"

_LOCAL = re.compile(r"local:(.*)", re.IGNORECASE)
_EARLY_EXIT = ".*You could benefit from adjusting the input task iterator"
_EXAMPLES = "tcp://10.0.0.5:8786, or local:N to start N local worker processes"


def parse_scheduler(text):
    """``("local", n_workers)`` or ``("address", address)`` of ``--scheduler``.

    Parameters
    ----------
    text : str
        ``local:N`` with N >= 1, or a scheduler address such as
        ``tcp://10.0.0.5:8786`` (``host:port`` is taken as TCP).

    Returns
    -------
    kind : {"local", "address"}
    value : int or str

    Raises
    ------
    CommandError
        ``local:N`` whose N is not a whole number >= 1, or an address without
        a port.

    Examples
    --------
    >>> from semiseg_sk.cli._scheduler import parse_scheduler
    >>> parse_scheduler("local:2")
    ('local', 2)
    >>> parse_scheduler("tcp://10.0.0.5:8786")
    ('address', 'tcp://10.0.0.5:8786')
    """
    text = text.strip()
    local = _LOCAL.fullmatch(text)
    if local:
        count = local.group(1).strip()
        if not count.isdigit() or int(count) < 1:
            raise CommandError(
                f"--scheduler {text}: expected local:N with N a whole number of "
                f"worker processes >= 1, e.g. local:4."
            )
        return "local", int(count)
    if text.lower() == "local":
        raise CommandError(
            "--scheduler local: say how many worker processes, e.g. local:4."
        )
    if "://" not in text and ":" not in text:
        raise CommandError(
            f"--scheduler {text}: expected a scheduler address with a port, such "
            f"as {_EXAMPLES}."
        )
    return "address", text


def _import_distributed():
    try:
        import distributed
    except ImportError as exc:
        raise CommandError(
            "--scheduler needs dask.distributed, which is not installed; install "
            "it with pip install 'semiseg_sk[dask]' (or run without --scheduler)."
        ) from exc
    return distributed


def local_cluster(n_workers, **kwargs):
    """A :class:`distributed.LocalCluster` of ``n_workers`` one-thread processes.

    The workers start under :data:`WORKER_CONFIG`; other keyword arguments go
    to :class:`distributed.LocalCluster`.

    Parameters
    ----------
    n_workers : int
        Worker processes, one thread each.
    **kwargs
        Passed on, e.g. ``dashboard_address``.

    Returns
    -------
    cluster : distributed.LocalCluster
    """
    distributed = _import_distributed()
    import dask

    options = {
        "threads_per_worker": 1,
        "processes": True,
        "dashboard_address": None,
        "silence_logs": logging.ERROR,
    }
    with dask.config.set(WORKER_CONFIG):
        return distributed.LocalCluster(n_workers=n_workers, **{**options, **kwargs})


def worker_environment_warning(client):
    """A sentence about workers whose malloc setting slows tasks, or None.

    Parameters
    ----------
    client : distributed.Client

    Returns
    -------
    message : str or None
        Names the setting, how many workers have it and how to start them
        without it.
    """
    values = client.run(os.environ.get, _TRIM)
    slowed = sorted(str(v) for v in values.values() if v is not None)
    if not slowed:
        return None
    return (
        f"{len(slowed)} of the cluster's {len(values)} workers run with "
        f"{_TRIM}={slowed[0]} (dask's default for workers), which makes "
        f"semiseg's per-image tasks up to 1.8x slower; start the workers with "
        f"the dask setting distributed.nanny.pre-spawn-environ.{_TRIM}: null "
        f"(or {_TRIM} set to a large value)."
    )


def uses_workers(args):
    """Whether per-image tasks leave the command's process."""
    if args.scheduler is not None and args.n_jobs is not None:
        raise CommandError(
            "give --n-jobs or --scheduler, not both: with --scheduler every "
            "worker thread of the cluster is used."
        )
    return args.scheduler is not None or args.n_jobs not in (None, 1)


@contextlib.contextmanager
def _client(args, say):
    """A dask Client for ``--scheduler``, closed (with its cluster) at the end."""
    kind, value = parse_scheduler(args.scheduler)
    distributed = _import_distributed()
    with contextlib.ExitStack() as stack:
        if kind == "local":
            cluster = stack.enter_context(local_cluster(value))
            client = stack.enter_context(
                distributed.Client(cluster, set_as_default=False)
            )
            say(f"started a local dask cluster of {value} worker processes")
        else:
            try:
                client = distributed.Client(
                    value, timeout=CONNECT_TIMEOUT, set_as_default=False
                )
            except (OSError, TimeoutError, ValueError) as exc:
                raise CommandError(
                    f"--scheduler {value}: cannot reach a dask scheduler there "
                    f"within {CONNECT_TIMEOUT} s ({exc}). Expected {_EXAMPLES}."
                ) from exc
            stack.callback(client.close)
            try:
                client.wait_for_workers(1, timeout=CONNECT_TIMEOUT)
            except (OSError, TimeoutError) as exc:
                raise CommandError(
                    f"--scheduler {value}: the scheduler has no worker after "
                    f"{CONNECT_TIMEOUT} s; start workers with dask worker {value}."
                ) from exc
            n_threads = sum(client.nthreads().values())
            say(
                f"connected to {value}: {len(client.nthreads())} workers, "
                f"{n_threads} threads"
            )
            slowed = worker_environment_warning(client)
            if slowed:
                warnings.warn(slowed, RuntimeWarning, stacklevel=2)
        yield client


@contextlib.contextmanager
def library_backend(args, model, say):
    """Run the library's own per-image steps on the ``--scheduler`` cluster.

    Sets every ``n_jobs`` of ``model`` to -1 and makes joblib's dask backend
    the active one: each step's per-image tasks (superpixels, features,
    encoding, ...) then run on the workers; the ``n_jobs`` are restored at
    the end. Without ``--scheduler``, sets ``--n-jobs`` (if given) and
    leaves joblib's default backend.
    """
    from ._common import set_n_jobs

    uses_workers(args)
    if args.scheduler is None:
        set_n_jobs(model, args.n_jobs)
        yield
        return
    from joblib import parallel_config

    before = {
        key: value
        for key, value in model.get_params(deep=True).items()
        if key.split("__")[-1] == "n_jobs"
    }
    with _client(args, say) as client:
        set_n_jobs(model, -1)
        try:
            with parallel_config(backend="dask", client=client):
                yield
        finally:
            model.set_params(**before)  # a saved model does not keep -1


class ImageWorkers:
    """Run one task per image on joblib processes or on a dask cluster.

    Parameters
    ----------
    n_jobs : int
        Processes for joblib's loky backend; ignored with ``client``.
    client : distributed.Client, default=None
        Run the tasks on this client's workers through joblib's dask backend.
    """

    def __init__(self, n_jobs, client=None):
        self.n_jobs = n_jobs
        self.client = client

    def map(self, func, items, *args, shared=(), ordered=True):
        """Yield ``func(item, *args)`` per item, as the tasks finish.

        ``shared`` lists large arguments (among ``args``) sent once to every
        dask worker instead of with each task. With ``ordered`` the results
        come in the order of ``items``; otherwise as soon as each is done.
        Closing the generator early cancels the tasks not yet started.
        """
        from joblib import parallel_config
        from sklearn.utils.parallel import delayed

        from ..utils._parallel import capped_n_jobs, image_parallel

        items = list(items)
        return_as = "generator" if ordered else "generator_unordered"
        if self.client is None:
            config = parallel_config(backend="loky")
            n_jobs = capped_n_jobs(self.n_jobs, len(items))
        else:
            config = parallel_config(
                backend="dask", client=self.client, scatter=list(shared) or None
            )
            n_jobs = -1
        with config:
            parallel = image_parallel(n_jobs, return_as=return_as)
            results = parallel(delayed(func)(item, *args) for item in items)
            try:
                # Not ``yield from``: it would close ``results`` itself, unfiltered.
                for result in results:  # noqa: UP028
                    yield result
            finally:
                # Stopping early (an error, Ctrl-C) is on purpose: joblib's
                # warning about the cancelled tasks says nothing to the user.
                with warnings.catch_warnings():
                    warnings.filterwarnings("ignore", message=_EARLY_EXIT)
                    results.close()


@contextlib.contextmanager
def image_workers(args, say):
    """The :class:`ImageWorkers` of ``--n-jobs`` or ``--scheduler``."""
    uses_workers(args)
    if args.scheduler is None:
        yield ImageWorkers(args.n_jobs)
        return
    with _client(args, say) as client:
        yield ImageWorkers(None, client)


def absolute(path):
    """A path that a worker with another working folder finds too."""
    return os.path.abspath(os.fspath(path))
