"""Settings of one service instance: where its home is, its token and its limits."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from ..limits import Limits

MIB = 1 << 20


@dataclass(frozen=True, slots=True)
class ServiceSettings:
    """Everything a :func:`~hybridflow.service.app.create_app` instance is configured with.

    ``home`` is the ``$HYBRIDFLOW_HOME`` whose state database the service shares with the
    CLI. The limits bound what one request may make the service do: an upload larger than
    ``max_upload_bytes`` (request body) or ``max_unpacked_bytes`` (archive contents) is
    refused with 413, so are archives of more than ``max_members`` entries and workflows
    of more than ``max_jobs`` jobs or ``max_edges`` dependencies (bracket and sweep expansion
    included; both default to ``hybridflow.limits``, ``HYBRIDFLOW_MAX_JOBS``/``_EDGES``).
    """

    home: Path
    token: str
    max_upload_bytes: int = 16 * MIB
    max_unpacked_bytes: int = 64 * MIB
    max_members: int = 2000
    max_jobs: int = field(default_factory=lambda: Limits.from_env().max_jobs)
    max_edges: int = field(default_factory=lambda: Limits.from_env().max_edges)
    max_log_chunk: int = 1 * MIB
    #: seconds a run request waits for the coordinator to take the workflow's lock
    run_start_timeout: float = 15.0
    #: seconds a cached snapshot is trusted when nothing in the database changed
    snapshot_ttl: float = 1.0
    #: seconds a cached snapshot is served even when the database moved on (coalescing)
    snapshot_min_age: float = 1.0
    #: seconds an outdated snapshot may still be answered while it is rebuilt in the background
    snapshot_max_stale: float = 2.0
    #: seconds between polls of the events table by an event stream
    stream_interval: float = 0.25
    #: seconds a service call is kept (None: the services database's, set by services.yaml; else 7 days)
    call_retention: float | None = None

    def limits(self) -> Limits:
        """The workflow size limits of this service: the environment's, with its jobs and edges."""
        return replace(Limits.from_env(), max_jobs=self.max_jobs, max_edges=self.max_edges)

    @property
    def database(self) -> Path:
        return self.home / "hybridflow.db"

    @property
    def uploads(self) -> Path:
        """Uploaded workflows live in ``uploads/NAME`` (their scripts beside the YAML)."""
        return self.home / "uploads"

    @property
    def coordinator_logs(self) -> Path:
        """Output of the coordinator processes the service started, ``NAME.log`` each."""
        return self.home / "service" / "runs"
