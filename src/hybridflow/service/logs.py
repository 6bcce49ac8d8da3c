"""Reading a job's log by byte offset, so that a viewer can follow it cheaply.

A log is ``{workdir}/{stem}.log`` of the job's attempt (``Store.attempts``). This module
reads it from the local file system, which is where local jobs (and batch kinds run
without a host) write it; a log on a remote host is read through that host
(:mod:`.remotelogs`), with the same offsets.

Contract of :func:`read_chunk`: ``data`` is the text of bytes ``[offset, next_offset)``;
a multi-byte UTF-8 character cut at the end is left for the next read (so following a
log never garbles text), ``next_offset`` never exceeds the size and never goes backward.
The log is opened with :func:`~hybridflow.service.files.open_inside`: a log that is a
symbolic link, not a regular file, or outside the attempt's run directory raises
:class:`~hybridflow.service.files.UnsafeFile` (HTTP 403), for every kind of host.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..snapshot import AttemptView
from .files import open_inside


@dataclass(frozen=True, slots=True)
class LogChunk:
    data: str
    offset: int
    next_offset: int
    size: int


def log_path(attempt: AttemptView) -> Path:
    return Path(attempt.workdir) / attempt.log_name


def complete_utf8(data: bytes) -> bytes:
    """``data`` without a trailing incomplete UTF-8 sequence (at most 3 bytes dropped)."""
    for cut in range(1, min(4, len(data)) + 1):
        byte = data[-cut]
        if byte < 0x80:
            return data
        if byte >= 0xC0:  # lead byte: how long is its sequence?
            need = 2 if byte < 0xE0 else 3 if byte < 0xF0 else 4
            return data if need <= cut else data[:-cut]
    return data


def read_chunk(attempt: AttemptView, *, offset: int | None, tail: int | None, limit: int) -> LogChunk:
    """Bytes of the attempt's log from ``offset`` (or the last ``tail`` bytes), at most ``limit``."""
    try:
        with open_inside(attempt.workdir, attempt.log_name) as handle:
            size = os.fstat(handle.fileno()).st_size
            start = offset if offset is not None else max(0, size - (tail or 0)) if tail else 0
            start = min(start, size)
            handle.seek(start)
            raw = handle.read(min(limit, size - start))
    except FileNotFoundError:
        return LogChunk("", 0, 0, 0)
    raw = complete_utf8(raw)  # a writer may be mid-character: leave it for the next read
    if start and tail and offset is None:  # a tail starts at a character boundary
        skip = 0
        while skip < min(3, len(raw)) and 0x80 <= raw[skip] < 0xC0:
            skip += 1
        raw, start = raw[skip:], start + skip
    return LogChunk(raw.decode("utf-8", errors="replace"), start, start + len(raw), size)
