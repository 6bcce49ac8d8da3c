"""Files a workflow names or is read from: bounded, strictly decoded, links checked.

Contract:

- :func:`read_text` reads a *regular* file (not a FIFO or a device) of at most
  ``limits.max_bytes`` bytes as strict UTF-8 without NUL characters; every problem is one
  :class:`~hybridflow.errors.SpecError` line naming the file (a path with a NUL byte or
  over the OS's length limit included).
- :func:`read_small` reads the first bytes of a small file the program itself writes
  (an attempt's pid or exit file, ``/proc/PID/stat``) in one ``read``; None when it does
  not exist (yet, or any more).
- :func:`escaping_link` tells whether a path written *inside* a folder (relative, no
  ``..``) is a symbolic link, or lies under one, that leads out of that folder: a workflow
  folder must not smuggle in ``/etc/passwd`` as ``prep.sh``.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path, PurePath

from .errors import LimitError, SpecError
from .limits import Limits


def read_small(path: str, size: int = 256) -> str | None:
    """Up to ``size`` bytes of ``path`` as text (undecodable bytes replaced); None when it is
    missing. One open and one read: callers ask per attempt, on the engine's hot path."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        return os.read(fd, size).decode("utf-8", "replace")
    except ProcessLookupError:  # a /proc file whose process ended after the open
        return None
    finally:
        os.close(fd)


def read_text(path: str | Path, *, limits: Limits, file: str | None = None) -> str:
    """The text of the file at ``path``; ``file`` is how errors name it (default: the path)."""
    file = file or str(path)
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            raise SpecError("cannot read: not a regular file", file=file)
        if info.st_size > limits.max_bytes:
            raise LimitError(f"file of {info.st_size} bytes is too large {limits.hint('max_bytes')}", file=file)
        with open(path, "rb") as handle:
            data = handle.read(limits.max_bytes + 1)
    except OSError as exc:
        raise SpecError(f"cannot read: {exc.strerror or exc}", file=file) from None
    except ValueError as exc:  # a path with a NUL byte
        raise SpecError(f"cannot read: {exc}", file=file) from None
    if len(data) > limits.max_bytes:
        raise LimitError(f"file is larger than {limits.max_bytes} bytes {limits.hint('max_bytes')}", file=file)
    return decode(data, file=file)


def decode(data: bytes, *, file: str | None = None) -> str:
    """``data`` as strict UTF-8 text without NUL bytes, else a one-line :class:`SpecError`."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise SpecError(f"not UTF-8 text: byte 0x{data[exc.start]:02x} at offset {exc.start}",
                        file=file, line=line) from None
    if "\x00" in text:
        offset = text.index("\x00")
        raise SpecError(f"NUL character at offset {offset}", file=file, line=text.count("\n", 0, offset) + 1)
    return text


def escaping_link(base_dir: str | Path, written: str) -> Path | None:
    """The real target of ``written`` when a link carries it out of ``base_dir``, else None.

    Paths written absolute or with ``..`` say themselves where they lead and are not
    checked here; a path that cannot be resolved (a loop) counts as escaping.
    """
    path = PurePath(written)
    if path.is_absolute() or ".." in path.parts or written.startswith("~"):
        return None
    root = Path(base_dir)
    try:
        real_root = root.resolve()
        target = (root / path).resolve()
    except (OSError, RuntimeError, ValueError):
        return root / path
    return None if target == real_root or real_root in target.parents else target


def is_file(path: str | Path) -> bool:
    """``Path.is_file`` that answers False, not an exception, for a NUL byte or an overlong name."""
    try:
        return Path(path).is_file()
    except (OSError, ValueError):
        return False
