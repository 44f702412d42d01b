# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""The one atomic writer that every file semiseg_sk writes goes through.

A temporary file is written in the destination's folder and renamed over the
destination only once complete, so an interrupted run never leaves a
half-written file where the output should be.
"""

import contextlib
import os
import tempfile

__all__ = ["TEMP_PREFIX", "atomic_path"]

#: Prefix of the temporary files; files that start with it are never inputs.
TEMP_PREFIX = ".semiseg-tmp-"


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path, *, overwrite=True):
    """Yield a temporary path next to ``path``; rename it to ``path`` on success.

    The temporary file keeps ``path``'s extension, so writers that choose the
    format from it work. If the block raises, the temporary file is removed
    and ``path`` is left as it was.

    Parameters
    ----------
    path : str or path-like
        The destination.
    overwrite : bool, default=True
        If False, raise :class:`FileExistsError` when ``path`` exists.

    Yields
    ------
    tmp : str
        The temporary path to write.
    """
    path = os.fspath(path)
    if not overwrite and os.path.exists(path):
        raise FileExistsError(f"{path} exists; refusing to overwrite it.")
    directory = os.path.dirname(os.path.abspath(path))
    suffix = os.path.splitext(path)[1]
    fd, tmp = tempfile.mkstemp(suffix=suffix, dir=directory, prefix=TEMP_PREFIX)
    os.close(fd)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_umask())
        if not overwrite and os.path.exists(path):
            raise FileExistsError(f"{path} exists; refusing to overwrite it.")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
