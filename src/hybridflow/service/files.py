"""Opening files that jobs wrote without being led out of their run directory.

A job owns its run directory: where the service expects ``a.log`` it can leave a symbolic
link to a file only the service's user may read (``ln -sf /root/secret a.log``), a FIFO
that blocks a reader, or a device. Every route that serves a file a job
could have written opens it through :func:`open_inside`, never with a plain ``open``.

Contract of :func:`open_inside` (``directory``, ``name``):

- ``name`` is one path component (no ``/``, no NUL, not ``.`` or ``..``);
- links *above* ``directory`` (the user's layout: ``/tmp`` → ``/private/tmp``) are
  followed, ``directory`` itself must not be a symbolic link (a job could have replaced
  its run directory by one), nor may ``name`` (``O_NOFOLLOW``, opened relative to the
  directory's descriptor, so nothing can be swapped between the check and the open);
- the file must be a regular file (``O_NONBLOCK``: a FIFO never blocks the open), and
  its resolved path lies inside the resolved directory;
- a missing directory or file raises :class:`FileNotFoundError`; everything else refused
  raises :class:`UnsafeFile` (HTTP 403), whose message names the file, never its target.
"""

from __future__ import annotations

import os
import stat
from typing import BinaryIO

from ..errors import HybridflowError

#: flags of the final open: never follow, never block on a FIFO, never take a terminal
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC


class UnsafeFile(HybridflowError):
    """A file the service refuses to serve: a link, not a regular file, or outside its directory."""


def open_inside(directory: str | os.PathLike[str], name: str) -> BinaryIO:
    """``directory/name`` opened for binary reading (see the module's contract)."""
    if not name or name in (".", "..") or "/" in name or "\0" in name:
        raise UnsafeFile(f"'{name}' is not a file name")
    folder = os.path.abspath(os.fspath(directory))
    parent, leaf = os.path.split(folder)
    real_parent = os.path.realpath(parent)
    parent_fd = os.open(real_parent, _DIR_FLAGS)
    try:
        try:
            dir_fd = os.open(leaf, _DIR_FLAGS | os.O_NOFOLLOW, dir_fd=parent_fd) if leaf else os.dup(parent_fd)
        except OSError as exc:
            if os.path.islink(os.path.join(real_parent, leaf)):
                raise UnsafeFile(f"run directory {folder} is a symbolic link; its files are not served") from None
            if isinstance(exc, NotADirectoryError):
                raise UnsafeFile(f"run directory {folder} is not a directory") from None
            raise
    finally:
        os.close(parent_fd)
    try:
        fd = _open_file(dir_fd, folder, name)
    finally:
        os.close(dir_fd)
    return os.fdopen(fd, "rb")


def _open_file(dir_fd: int, folder: str, name: str) -> int:
    """The descriptor of regular file ``name`` in the open directory ``dir_fd``."""
    shown = os.path.join(folder, name)
    try:
        fd = os.open(name, _FILE_FLAGS, dir_fd=dir_fd)
    except OSError as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        if stat.S_ISLNK(os.lstat(name, dir_fd=dir_fd).st_mode):
            raise UnsafeFile(f"{shown} is a symbolic link; it is not served") from None
        raise UnsafeFile(f"{shown} cannot be opened ({exc.strerror})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise UnsafeFile(f"{shown} is not a regular file; it is not served")
        real_dir = os.path.realpath(folder)
        real_file = os.path.realpath(os.path.join(real_dir, name))
        if os.path.dirname(real_file) != real_dir:
            raise UnsafeFile(f"{shown} resolves outside its run directory; it is not served")
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd
