"""The writes of one round of a run: typed values, applied in order in one transaction.

Produced by :class:`hybridflow.runstate.RunState`, applied by
:meth:`hybridflow.store.sqlite.Store.apply`; nothing else writes a run's jobs and attempts.
"""

from __future__ import annotations

from dataclasses import dataclass

from .states import JobState, WorkflowState
from .usage import Usage


@dataclass(frozen=True, slots=True)
class StateChange:
    """A job moved to ``state`` (the store checks the move against the transition table)."""

    job: str
    state: JobState
    ts: float
    message: str | None = None
    attempt: int | None = None


@dataclass(frozen=True, slots=True)
class NewAttempt:
    """An attempt recorded before its host is asked to start it."""

    job: str
    number: int
    token: str
    kind: str
    host: str
    workdir: str
    stem: str
    ts: float


@dataclass(frozen=True, slots=True)
class AttemptChange:
    """What became known about an attempt. ``None`` fields are left as they are, except
    ``message``, which goes with ``state`` (a new state without a message clears it);
    ``started`` is kept once set."""

    token: str
    state: JobState | None = None
    exit_code: int | None = None
    message: str | None = None
    native_id: str | None = None
    log_offset: int | None = None
    started: float | None = None
    ended: float | None = None
    usage: Usage | None = None


@dataclass(frozen=True, slots=True)
class ProgressChange:
    job: str
    progress: int
    message: str | None
    ts: float


@dataclass(frozen=True, slots=True)
class FingerprintChange:
    """The fingerprint a job had when it succeeded (see :mod:`hybridflow.rerun`)."""

    job: str
    fingerprint: str


@dataclass(frozen=True, slots=True)
class RunEnd:
    state: WorkflowState


Write = StateChange | NewAttempt | AttemptChange | ProgressChange | FingerprintChange | RunEnd
