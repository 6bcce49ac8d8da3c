"""The run state of every job of one run, and the round of writes it produces.

:class:`RunState` is the one owner of a run's job states: the engine changes a job only
through :meth:`RunState.move` (and the few other methods here), which updates the job's
:class:`JobRun` and appends the matching typed write to the current round. A round is a
list of :data:`Write` values that :meth:`hybridflow.store.sqlite.Store.apply` writes in one
transaction, in order; nothing else writes a run's jobs and attempts. No I/O here.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from .hosts.base import StagedJob, Submission
from .progress import LogMiner
from .rounds import AttemptChange, FingerprintChange, NewAttempt, ProgressChange, RunEnd, StateChange, Write
from .states import JobState, WorkflowState
from .usage import Usage

HostKey = tuple[str, str]  # (kind, host name): one host instance per key and run


@dataclass
class Attempt:
    """An attempt handed to a host and not finished (what the engine watches)."""

    staged: StagedJob
    host_key: HostKey
    state: JobState
    sub: Submission | None = None
    miner: LogMiner = field(default_factory=LogMiner)
    next_log_read: float = 0.0
    running_since: float | None = None  # monotonic; a time limit counts from here
    #: started again with others after a restart (:mod:`hybridflow.resume`): once only
    resubmitted_together: bool = False


@dataclass
class JobRun:
    """One job in this run: its state, latest attempt number, progress and open attempt."""

    state: JobState
    attempt: int = 0
    progress: int = 0
    active: Attempt | None = None


@dataclass(frozen=True, slots=True)
class Notice:
    """A job event for the notification hooks, sent once its round is written."""

    job: str
    state: JobState
    attempt: int
    exit_code: int | None
    message: str | None


class RunState:
    """Every job of a run, mutated only through this class; collects the round's writes."""

    def __init__(self, states: Mapping[str, JobState], attempts: Mapping[str, int],
                 progress: Mapping[str, int]) -> None:
        self.jobs: dict[str, JobRun] = {
            job: JobRun(state, attempts.get(job, 0), progress.get(job, 0)) for job, state in states.items()
        }
        #: the open attempts by job (an index of ``JobRun.active``, kept here)
        self.active: dict[str, Attempt] = {}
        self.writes: list[Write] = []
        self.notices: list[Notice] = []
        self.durable = False  # the round records an attempt on another machine

    # -- reading ---------------------------------------------------------------------------

    def __contains__(self, job: object) -> bool:
        return job in self.jobs

    def __iter__(self) -> Iterator[str]:
        return iter(self.jobs)

    def state(self, job: str) -> JobState:
        return self.jobs[job].state

    @property
    def states(self) -> dict[str, JobState]:
        """A copy: ``{job: state}``."""
        return {job: run.state for job, run in self.jobs.items()}

    # -- changing --------------------------------------------------------------------------

    def move(self, job: str, state: JobState, *, message: str | None = None, exit_code: int | None = None) -> None:
        """Move ``job`` to ``state``: the job's record, its open attempt's record, and the
        event, written with the round. A terminal state closes the open attempt."""
        run = self.jobs[job]
        now = time.time()
        run.state = state
        attempt = run.active
        if attempt is not None:
            self.writes.append(AttemptChange(
                attempt.staged.token, state=state, exit_code=exit_code, message=message,
                started=now if state is JobState.RUNNING else None, ended=now if state.is_terminal else None,
            ))
            if state.is_terminal:
                run.active = None
                del self.active[job]
            else:
                attempt.state = state
        self.writes.append(StateChange(job, state, now, message))
        if state is JobState.DONE:
            run.progress = 100
        if state.is_terminal and state is not JobState.SKIPPED:
            self.notices.append(Notice(job, state, run.attempt, exit_code, message))

    def retrying(self, job: str, failed: JobState, *, exit_code: int | None, attempt_message: str | None,
                 message: str) -> None:
        """The open attempt ended ``failed``; the job waits for its next attempt."""
        run = self.jobs[job]
        attempt = run.active
        assert attempt is not None
        now = time.time()
        self.writes.append(AttemptChange(attempt.staged.token, state=failed, exit_code=exit_code,
                                         message=attempt_message, ended=now))
        run.active = None
        del self.active[job]
        run.state = JobState.RETRYING
        self.writes.append(StateChange(job, JobState.RETRYING, now, message))

    def withdraw(self, job: str, message: str) -> None:
        """A handed-off attempt that can never start (an upstream job failed) was cancelled:
        the attempt ends canceled, the job is skipped."""
        run = self.jobs[job]
        attempt = run.active
        assert attempt is not None
        now = time.time()
        self.writes.append(AttemptChange(attempt.staged.token, state=JobState.CANCELED, message=message, ended=now))
        run.active = None
        del self.active[job]
        run.state = JobState.SKIPPED
        self.writes.append(StateChange(job, JobState.SKIPPED, now, message))

    def start(self, attempt: Attempt, *, remote: bool) -> None:
        """Record a new attempt of its job (before its host is asked to start it)."""
        job = attempt.staged.job
        run = self.jobs[job]
        now = time.time()
        run.state = JobState.SUBMITTED
        run.attempt = attempt.staged.attempt
        run.progress = 0
        run.active = self.active[job] = attempt
        kind, host = attempt.host_key
        staged = attempt.staged
        self.writes.append(NewAttempt(job, staged.attempt, staged.token, kind, host, staged.workdir, staged.stem, now))
        self.writes.append(StateChange(job, JobState.SUBMITTED, now, attempt=staged.attempt))
        self.durable = self.durable or remote

    def reattach(self, attempt: Attempt, number: int) -> None:
        """An open attempt found in the store at start-up."""
        run = self.jobs[attempt.staged.job]
        run.active = self.active[attempt.staged.job] = attempt
        run.attempt = number
        run.state = attempt.state

    def used(self, attempt: Attempt, usage: Usage) -> None:
        """The host reported what the finished attempt used."""
        self.writes.append(AttemptChange(attempt.staged.token, usage=usage))

    def confirmed(self, attempt: Attempt) -> None:
        """The host told the attempt's native id."""
        assert attempt.sub is not None
        self.writes.append(AttemptChange(attempt.staged.token, native_id=attempt.sub.native_id))

    def set_progress(self, job: str, value: int, message: str | None) -> None:
        self.jobs[job].progress = value
        self.writes.append(ProgressChange(job, value, message, time.time()))

    def log_read(self, attempt: Attempt) -> None:
        self.writes.append(AttemptChange(attempt.staged.token, log_offset=attempt.miner.line_offset))

    def succeeded_with(self, job: str, fingerprint: str) -> None:
        self.writes.append(FingerprintChange(job, fingerprint))

    def ready(self, job: str) -> None:
        """A job reset for this run, added to it, or whose retry delay is over (the store
        already holds what this means: ``start_run``, ``add_jobs``, RETRYING)."""
        run = self.jobs.setdefault(job, JobRun(JobState.READY))
        run.state = JobState.READY
        run.progress = 0

    def forget(self, job: str) -> None:
        """A job removed from the workflow while it did not run."""
        self.jobs.pop(job, None)

    def end(self, state: WorkflowState) -> None:
        self.writes.append(RunEnd(state))

    def take_round(self) -> tuple[list[Write], list[Notice], bool]:
        """The writes and notices collected since the last call, and whether they must be
        durable; starts a new round."""
        round_ = (self.writes, self.notices, self.durable)
        self.writes, self.notices, self.durable = [], [], False
        return round_
