# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""The one atomic writer that every file semiseg_sk writes goes through.

A temporary file is written in the destination's folder and renamed over the
destination only once complete, so an interrupted run never leaves a
half-written file where the output should be. Only regular files are ever
replaced: a device, a FIFO or a socket at the destination is refused.
"""

import contextlib
import errno
import os
import secrets
import stat

__all__ = [
    "TEMP_PREFIX",
    "atomic_path",
    "check_destination",
    "check_folder_writable",
    "file_kind",
]

#: Prefix of the temporary files; files that start with it are never inputs.
TEMP_PREFIX = ".semiseg-tmp-"

_KINDS = (
    (stat.S_ISDIR, "folder"),
    (stat.S_ISCHR, "character device"),
    (stat.S_ISBLK, "block device"),
    (stat.S_ISFIFO, "FIFO (named pipe)"),
    (stat.S_ISSOCK, "socket"),
)


def file_kind(path):
    """What ``path`` is: ``"regular file"``, ``"folder"``, ``"FIFO (named pipe)"``...

    Parameters
    ----------
    path : str or path-like
        Any path; symbolic links are followed.

    Returns
    -------
    kind : str or None
        None when nothing is there; ``"broken symbolic link"`` for a link to
        nothing or a loop of links.
    """
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return "broken symbolic link" if os.path.lexists(path) else None
    if stat.S_ISREG(mode):
        return "regular file"
    return next((kind for test, kind in _KINDS if test(mode)), "special file")


def check_destination(path, *, overwrite=True):
    """Refuse a destination that :func:`atomic_path` must not replace.

    Parameters
    ----------
    path : str or path-like
        The destination.
    overwrite : bool, default=True
        If False, an existing file is refused too.

    Raises
    ------
    IsADirectoryError
        ``path`` is a folder.
    FileExistsError
        ``path`` is not a regular file (a device, a FIFO, a socket), or it
        exists and ``overwrite`` is False.
    """
    kind = file_kind(path)
    if kind in (None, "broken symbolic link", "regular file"):
        if kind == "regular file" and not overwrite:
            raise FileExistsError(
                f"{os.fspath(path)} exists; refusing to overwrite it."
            )
        return
    if kind == "folder":
        raise IsADirectoryError(f"{os.fspath(path)} is a folder; expected a file name.")
    raise FileExistsError(
        f"{os.fspath(path)} is a {kind}, not a regular file; refusing to replace it."
    )


@contextlib.contextmanager
def _temp_file(directory, suffix):
    """Create an empty temporary file, removed when the block ends.

    Its mode is 0o666 less the umask, as for any new file: the umask is
    never read (reading it means setting it, which races with threads).
    """
    tmp = None
    try:
        while tmp is None:
            name = os.path.join(
                directory, f"{TEMP_PREFIX}{secrets.token_hex(8)}{suffix}"
            )
            with contextlib.suppress(FileExistsError):
                os.close(os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
                tmp = name
        yield tmp
    finally:
        if tmp is not None and os.path.lexists(tmp):
            os.unlink(tmp)


def check_folder_writable(folder):
    """Create and remove a temporary file in ``folder``, or raise naming it.

    Permission bits do not tell (root ignores them, a read-only mount or a
    full disk has its own), so this tries.

    Parameters
    ----------
    folder : str or path-like
        An existing folder.

    Raises
    ------
    OSError
        The folder cannot be written; the error names the folder.
    """
    folder = os.fspath(folder)
    try:
        with _temp_file(folder, ""):
            pass
    except OSError as exc:
        raise OSError(
            exc.errno, f"cannot write into it ({exc.strerror})", folder
        ) from exc


def _link_exclusive(tmp, path):
    """Give ``tmp`` the name ``path``, failing if ``path`` appeared meanwhile."""
    try:
        os.link(tmp, path)  # atomic: fails when path exists
    except FileExistsError:
        raise FileExistsError(
            f"{path} exists; refusing to overwrite it (it appeared while "
            f"this file was being written)."
        ) from None
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP):
            raise
        # No hard links on this file system: the best is check, then rename.
        check_destination(path, overwrite=False)
        os.replace(tmp, path)


@contextlib.contextmanager
def atomic_path(path, *, overwrite=True):
    """Yield a temporary path next to ``path``; rename it to ``path`` on success.

    The temporary file keeps ``path``'s extension, so writers that choose the
    format from it work, and its name starts with :data:`TEMP_PREFIX`, so it
    is never read as an input. If the block raises (also on Ctrl-C or the
    command line's SIGTERM), the temporary file is removed and ``path`` is
    left as it was. The written file's mode honours the umask.

    Parameters
    ----------
    path : str or path-like
        The destination; if it exists it must be a regular file.
    overwrite : bool, default=True
        If False, raise :class:`FileExistsError` when ``path`` exists, also
        when another process creates it while the block runs: the rename is
        then an exclusive link, so of two writers only the first succeeds.

    Yields
    ------
    tmp : str
        The temporary path to write.

    Raises
    ------
    FileExistsError
        ``path`` is not a regular file, or exists and ``overwrite`` is False.
    IsADirectoryError
        ``path`` is a folder.
    OSError
        Writing failed (no such folder, no permission, disk full...); the
        error names ``path``, not the temporary file.
    """
    path = os.fspath(path)
    check_destination(path, overwrite=overwrite)
    directory = os.path.dirname(os.path.abspath(path))
    try:
        with _temp_file(directory, os.path.splitext(path)[1]) as tmp:
            yield tmp
            check_destination(path, overwrite=overwrite)
            if overwrite:
                os.replace(tmp, path)
            else:
                _link_exclusive(tmp, path)
    except OSError as exc:
        if exc.errno is None or exc.filename == path:
            raise
        raise OSError(exc.errno, exc.strerror, path) from exc
