"""Reading an attempt's log where it was written, by byte offset.

From this machine's file system for local jobs (and batch jobs that ran here), through the
job's own host otherwise (``Host.read_log``: SFTP or a shell over SSH, the host's one
connection). Used by ``hflow workflow logs`` and by the service's log routes, so that the
CLI and the web UI read remote logs the same way.
"""

from __future__ import annotations

from pathlib import Path

from .config import is_local_name
from .errors import HostError, NotFoundError
from .hostpool import HostPool
from .hosts.base import Host, Submission
from .snapshot import AttemptView
from .spec import WorkflowSpec

CHUNK = 1 << 20


def is_here(attempt: AttemptView) -> bool:
    """Whether the attempt's log is on this machine's file system."""
    return attempt.kind == "local" or is_local_name(attempt.host) or Path(attempt.workdir, attempt.log_name).exists()


def host_for(spec: WorkflowSpec, attempt: AttemptView) -> Host:
    """A (not yet connected) host object for the attempt's job, from the workflow's spec."""
    if attempt.job not in spec.jobs:
        raise NotFoundError(f"job '{attempt.job}' is no longer in workflow '{spec.name}'")
    _, slot = HostPool(lambda: None).slot_for(spec, spec.jobs[attempt.job])
    return slot.host


def submission(attempt: AttemptView, host: Host) -> Submission:
    return Submission(attempt.job, attempt.number, attempt.token, host.name, attempt.native_id, attempt.workdir,
                      attempt.stem)


async def read_remote(host: Host, attempt: AttemptView, offset: int, limit: int = CHUNK) -> tuple[bytes, int]:
    """Bytes ``[offset, offset + limit)`` of a remote attempt's log and the new offset."""
    try:
        return await host.read_log(submission(attempt, host), offset, limit)
    except HostError as exc:
        raise HostError(f"job '{attempt.job}': cannot read its log on host '{attempt.host}': {exc}") from exc


class LogSource:
    """Reads one attempt's log from an offset: a local file, or through its own host."""

    def __init__(self, spec: WorkflowSpec, attempt: AttemptView) -> None:
        self.attempt = attempt
        self.path = Path(attempt.workdir) / attempt.log_name
        self.host: Host | None = None if is_here(attempt) else host_for(spec, attempt)

    async def read(self, offset: int, limit: int = CHUNK) -> tuple[bytes, int]:
        if self.host is None:
            try:
                with self.path.open("rb") as handle:
                    handle.seek(offset)
                    data = handle.read(limit)
            except FileNotFoundError:
                return b"", offset
            return data, offset + len(data)
        return await read_remote(self.host, self.attempt, offset, limit)

    async def close(self) -> None:
        if self.host is not None:
            await self.host.close()
