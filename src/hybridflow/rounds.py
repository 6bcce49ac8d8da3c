"""The writes of one round of a run: typed values, applied in order in one transaction.

Produced by :class:`hybridflow.runstate.RunState`, applied by
:meth:`hybridflow.store.sqlite.Store.apply`; nothing else writes a run's jobs and attempts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

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


@dataclass(frozen=True, slots=True)
class JobRow:
    """A job's moves and progress of one round, in order, and its fingerprint: one update
    of its row (:func:`coalesce`)."""

    job: str
    moves: tuple[StateChange | ProgressChange, ...] = ()
    fingerprint: str | None = None


RowWrite = JobRow | NewAttempt | AttemptChange | FingerprintChange


def coalesce(writes: Sequence[Write]) -> list[RowWrite]:
    """The row writes of a round without a :class:`RunEnd`: one per job row and one per
    attempt row, each at the place of that row's first write.

    Applying them leaves the rows that applying ``writes`` in order leaves: no write of a
    round reads a row another one wrote, except the check of a job's move against the
    transition table, which the store makes for the whole chain of a :class:`JobRow`.
    A short job's round (running, done, the fingerprint, the next job's attempt) takes five
    statements instead of eleven. Events are not rows here: the store writes one per
    move, in the order of ``writes``.
    """
    out: list[RowWrite] = []
    at: dict[str, int] = {}  # job name or attempt token -> its place in out
    moved = {w.job for w in writes if isinstance(w, StateChange | ProgressChange)}

    def row_of(job: str) -> int:
        """The place of ``job``'s JobRow in out, made where its first write is."""
        if job not in at:
            at[job] = len(out)
            out.append(JobRow(job))
        return at[job]

    for write in writes:
        match write:
            case StateChange() | ProgressChange():
                row = out[place := row_of(write.job)]
                assert isinstance(row, JobRow)
                out[place] = replace(row, moves=(*row.moves, write))
            case FingerprintChange() if write.job in moved:
                row = out[place := row_of(write.job)]
                assert isinstance(row, JobRow)
                out[place] = replace(row, fingerprint=write.fingerprint)
            case AttemptChange() if write.token in at:
                earlier = out[at[write.token]]
                assert isinstance(earlier, AttemptChange)
                out[at[write.token]] = _merged(earlier, write)
            case AttemptChange():
                at[write.token] = len(out)
                out.append(write)
            case RunEnd():
                raise ValueError("coalesce: a round's RunEnd is applied on its own")
            case _:
                out.append(write)
    return out


def _merged(first: AttemptChange, then: AttemptChange) -> AttemptChange:
    """Two changes of one attempt as one: later values win, ``message`` goes with the last
    ``state``, the first ``started`` is kept (as the store keeps it)."""
    stated = then if then.state is not None else first
    return AttemptChange(
        first.token,
        state=stated.state,
        message=stated.message,
        exit_code=then.exit_code if then.exit_code is not None else first.exit_code,
        native_id=then.native_id if then.native_id is not None else first.native_id,
        log_offset=then.log_offset if then.log_offset is not None else first.log_offset,
        started=first.started if first.started is not None else then.started,
        ended=then.ended if then.ended is not None else first.ended,
        usage=then.usage if then.usage is not None else first.usage,
    )
