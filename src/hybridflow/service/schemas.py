"""Request and response bodies of the REST API (pydantic: the service's edge).

Times are POSIX seconds (floats), ``null`` until known. Every error body is
:class:`ErrorOut`: one line naming the problem.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

NAME_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9._-]*$"


class ErrorOut(BaseModel):
    detail: str = Field(description="One line naming the problem.")


class WorkflowSummary(BaseModel):
    """A workflow as listed: its state and how many jobs are in each state."""

    name: str
    state: str = Field(description="defined, running, done, failed, canceled, or interrupted (running, but "
                                    "its coordinator died: a run resumes it)")
    running: bool = Field(description="A live coordinator holds the workflow's lock.")
    pid: int | None = Field(None, description="The coordinator's process id while running (interrupted: the "
                                              "one that died).")
    job_count: int
    counts: dict[str, int] = Field(description="Number of jobs per state (states that occur).")
    created: float | None = None
    modified: float | None = None
    t0: float | None = Field(None, description="Start of the last run.")
    t1: float | None = Field(None, description="End of the last run.")
    duration: float | None = Field(None, description="t1 - t0 once the run ended.")
    run_dir: str | None = None
    warnings: list[str] = Field(default_factory=list, description="What an upload kept but doubts (unknown "
                                "keys, a script that does not exist yet: a run refuses it), one line each.")


class JobOut(BaseModel):
    name: str
    kind: str
    host: str | None = None
    label: str = Field(description="The label template rendered for the job's current state.")
    state: str
    progress: int
    message: str | None = None
    attempt: int
    exit_code: int | None = None
    tstart: float | None = None
    tend: float | None = None
    duration: float | None = Field(None, description="tend - tstart once the job ended.")
    parents: list[str]


class WorkflowDetail(WorkflowSummary):
    """One workflow with every job's state, its edges and its colours."""

    jobs: list[JobOut]
    edges: list[tuple[str, str]]
    colors: dict[str, str] = Field(description="Fill colour per state, as in the SVG.")
    generation: int = Field(description="Bumped whenever jobs or edges change.")
    last_event: int = Field(description="Id of the newest event: resume the stream after it.")
    source: str | None = None


class AttemptOut(BaseModel):
    number: int
    state: str
    exit_code: int | None = None
    kind: str
    host: str
    workdir: str
    log: str = Field(description="Path of the attempt's log on its host.")
    native_id: str | None = None
    created: float
    started: float | None = None
    ended: float | None = None
    message: str | None = None


class JobDetail(JobOut):
    spec: dict[str, Any] = Field(description="The job as written in YAML.")
    children: list[str]
    attempts: list[AttemptOut]


class LogOut(BaseModel):
    job: str
    attempt: int | None = Field(None, description="Attempt number read (null: never started).")
    offset: int = Field(description="Byte offset of the first byte of data.")
    next_offset: int = Field(description="Pass as offset to read on from here.")
    size: int = Field(description="Size of the log file when read.")
    data: str
    state: str = Field(description="The job's state when read.")
    complete: bool = Field(description="The job ended and the log has been read to its end.")


class RunIn(BaseModel):
    """The options of ``hflow workflow run`` (a :class:`~hybridflow.coordinator.RunRequest`):
    ``rerun`` or its CLI spellings ``rerun_failed``, ``force`` and ``from``."""

    sequential: bool = Field(False, description="One job at a time, in topological order.")
    resume: bool = Field(True, description="Re-attach to the attempts of an interrupted run. Always "
                                           "true: false is refused (422), since a run never starts a job twice.")
    rerun: Literal["default", "failed", "force"] = Field(
        "default", description="default: reuse jobs that succeeded and are unchanged; failed: only "
                               "unsuccessful jobs and their dependents; force: every job.")
    from_jobs: list[Annotated[str, StringConstraints(pattern=NAME_PATTERN, max_length=200)]] = Field(
        default_factory=list, max_length=1000,
        description="Run these jobs and everything after them again (with rerun 'default').")
    rerun_failed: bool = Field(False, description="As --rerun-failed: rerun 'failed'.")
    force: bool = Field(False, description="As --force: rerun 'force'.")
    from_: list[Annotated[str, StringConstraints(pattern=NAME_PATTERN, max_length=200)]] = Field(
        default_factory=list, max_length=1000, alias="from",
        description="As --from JOB: the same as from_jobs.")
    detach: bool = Field(False, description="As --detach: hand the Slurm jobs to Slurm (afterok chains); the "
                                            "coordinator exits once only Slurm holds work (state handed-off).")

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class RunRecordOut(BaseModel):
    """One recorded run of a workflow."""

    number: int
    started: float
    ended: float | None = None
    duration: float | None = None
    state: str = Field(description="running, done, failed, canceled, handed-off (Slurm holds the rest), or "
                                   "interrupted (its coordinator died)")
    started_by: str = Field(description="user@host (origin: cli or service)")
    pid: int | None = Field(None, description="The coordinator's process id.")
    options: dict[str, Any]
    counts: dict[str, int] = Field(description="Jobs per state when the run ended.")


class TimelineAttempt(BaseModel):
    job: str
    number: int
    state: str
    host: str
    kind: str
    created: float
    started: float | None = None
    ended: float | None = None
    exit_code: int | None = None


class TimelineOut(BaseModel):
    """The attempts of one run, for a Gantt chart: what ran where, when."""

    run: RunRecordOut
    attempts: list[TimelineAttempt]


class RunOut(BaseModel):
    name: str
    pid: int = Field(description="Process id of the coordinator started for the run.")
    running: bool = Field(description="False when the run already ended before this answer.")
    exit_code: int | None = None


class CancelOut(BaseModel):
    name: str
    requested: bool
    running: bool = Field(description="A coordinator was running and will cancel.")


class JobIn(BaseModel):
    """A job to add, with the keys of a YAML node. ``name`` may expand: ``train[1-3]``."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    kind: str = Field("local", max_length=50)
    exec: str | None = Field(None, max_length=100_000)
    script: str | None = Field(None, max_length=4096)
    host: str | None = Field(None, max_length=200)
    user: str | None = Field(None, max_length=200)
    label: str | None = Field(None, max_length=10_000)
    venv: str | None = Field(None, max_length=4096)
    shape: str | None = Field(None, max_length=50)
    style: str | None = Field(None, max_length=200)
    args: dict[str, Any] = Field(default_factory=dict, description=(
        "Other node keys: policy (env, retries, retry_delay, retry_on, timeout, stage_in, stage_out...), "
        "checked as in YAML, and kind-specific options (partition, time...), kept as job arguments."))


class JobsAdded(BaseModel):
    name: str
    added: list[str]


class DependenciesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    chains: list[str] = Field(min_length=1, max_length=1000,
                              description="Chains such as 'a,b,c' (a→b→c) or 'prep,train[1-3]'.")


class DependenciesOut(BaseModel):
    name: str
    added: list[tuple[str, str]]


class ServiceInfo(BaseModel):
    version: str
    home: str
    pid: int
    started: float
    workflows: int
