"""Progress markers: printing them from a job, and mining them from its log.

A job reports progress by printing a line to its output::

    # cloudmesh status=running progress=50 pid=1234     (cloudmesh-cc's form)
    # hybridflow progress=40 message='epoch 2 of 5'     (ours, printed by progress())

Only these lines are read; completion always comes from the exit status.
"""

from __future__ import annotations

import re
import shlex
import sys
from dataclasses import dataclass

_MARKER = re.compile(r"^#\s*(?:cloudmesh|hybridflow)\s+(.*)$")
_PAIR = re.compile(r"""(\w+)=("[^"]*"|'[^']*'|\S+)""")


@dataclass(frozen=True, slots=True)
class ProgressMark:
    """One parsed marker line."""

    progress: int | None
    status: str | None
    message: str | None


def progress(percent: float, message: str | None = None) -> None:
    """Print a progress marker for the coordinator (call from inside a job)."""
    value = max(0, min(100, int(percent)))
    line = f"# hybridflow progress={value}"
    if message:
        line += f" message={shlex.quote(message)}"
    print(line, file=sys.stdout, flush=True)


def parse_line(line: str) -> ProgressMark | None:
    """The marker on ``line``, or None when it is not one."""
    match = _MARKER.match(line.strip())
    if not match:
        return None
    fields = {key: value.strip("'\"") for key, value in _PAIR.findall(match.group(1))}
    value: int | None = None
    if "progress" in fields:
        try:
            value = max(0, min(100, int(float(fields["progress"]))))
        except ValueError:
            value = None
    if value is None and "status" not in fields:
        return None
    return ProgressMark(value, fields.get("status"), fields.get("message") or fields.get("msg"))


class LogMiner:
    """Incremental reader of one log: feed it the bytes read from :attr:`read_offset`.

    Only complete lines are parsed. :attr:`line_offset` is where the unparsed rest
    starts: store it, and a restarted coordinator continues from there.
    """

    def __init__(self, offset: int = 0) -> None:
        self.line_offset = offset
        self._partial = b""

    @property
    def read_offset(self) -> int:
        """Where the next read of the log starts."""
        return self.line_offset + len(self._partial)

    def feed(self, data: bytes) -> ProgressMark | None:
        """Consume ``data``; returns the last marker among the newly completed lines."""
        buffer = self._partial + data
        end = buffer.rfind(b"\n")
        if end < 0:
            self._partial = buffer
            return None
        complete, self._partial = buffer[: end + 1], buffer[end + 1 :]
        self.line_offset += len(complete)
        latest: ProgressMark | None = None
        if b"#" in complete:
            for line in complete.decode("utf-8", "replace").splitlines():
                mark = parse_line(line)
                if mark is not None:
                    latest = mark
        return latest
