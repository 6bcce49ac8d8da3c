"""Read-only views of a workflow's state, as the store returns them to renderers and APIs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from .spec import JobSpec, WorkflowSpec
from .states import JobState, WorkflowState
from .usage import Usage


@dataclass(frozen=True, slots=True)
class AttemptView:
    """One attempt (submission) of a job."""

    job: str
    number: int
    token: str
    kind: str
    host: str
    workdir: str
    stem: str
    native_id: str | None
    state: JobState
    exit_code: int | None
    log_offset: int
    created: float
    started: float | None
    ended: float | None
    message: str | None
    usage: Usage | None = None  # what a finished batch attempt used

    @property
    def log_name(self) -> str:
        return f"{self.stem}.log"


@dataclass(frozen=True, slots=True)
class JobView:
    """A job with its current state. Times are POSIX seconds (None until known)."""

    spec: JobSpec
    state: JobState = JobState.READY
    progress: int = 0
    message: str | None = None
    attempt: int = 0
    exit_code: int | None = None
    created: float | None = None
    modified: float | None = None
    tstart: float | None = None
    tend: float | None = None

    @property
    def name(self) -> str:
        return self.spec.name


@dataclass(frozen=True, slots=True)
class WorkflowView:
    """A workflow with every job's state: what renderers, the CLI and the service show."""

    spec: WorkflowSpec
    jobs: Mapping[str, JobView]
    state: WorkflowState = WorkflowState.DEFINED
    run_dir: str | None = None
    created: float | None = None
    modified: float | None = None
    t0: float | None = None
    t1: float | None = None
    running_pid: int | None = None
    attempts: Mapping[str, AttemptView] = field(default_factory=dict)  # latest per job, this run's only
    dead_pid: int | None = None  # state INTERRUPTED: the coordinator that died holding the lock

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def edges(self) -> tuple[tuple[str, str], ...]:
        return self.spec.edges

    def counts(self) -> dict[str, int]:
        """Number of jobs per state (only states that occur)."""
        counts: dict[str, int] = {}
        for job in self.jobs.values():
            counts[job.state.value] = counts.get(job.state.value, 0) + 1
        return counts


@dataclass(frozen=True, slots=True)
class RunView:
    """One recorded run of a workflow (``runs`` table). ``state`` is ``interrupted`` for a
    run still marked running whose coordinator (``pid``) is gone."""

    number: int
    started: float
    ended: float | None
    state: WorkflowState
    started_by: str
    pid: int | None
    options: Mapping[str, object]
    counts: Mapping[str, int]

    @property
    def duration(self) -> float | None:
        return None if self.ended is None else self.ended - self.started
