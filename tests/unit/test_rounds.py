"""A round written as one statement per row leaves what its writes, one at a time, leave."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hybridflow.errors import StateError
from hybridflow.rounds import AttemptChange, FingerprintChange, JobRow, NewAttempt, ProgressChange, RunEnd, StateChange, Write, coalesce
from hybridflow.spec import JobSpec, WorkflowSpec
from hybridflow.states import JobState, WorkflowState
from hybridflow.store.sqlite import Store

SEED: list[Write] = [
    NewAttempt("a", 1, "ta", "local", "localhost", "/run", "a", 1.0),
    StateChange("a", JobState.SUBMITTED, 1.0, attempt=1),
    NewAttempt("c", 1, "tc1", "local", "localhost", "/run", "c", 1.0),
    StateChange("c", JobState.SUBMITTED, 1.0, "queued", attempt=1),
]

#: a short job's round (native id, running, progress, done, fingerprint), the next job's
#: attempt, and a failed job retried within the same round
ROUND: list[Write] = [
    AttemptChange("ta", native_id="4242"),
    AttemptChange("ta", state=JobState.RUNNING, started=2.0),
    StateChange("a", JobState.RUNNING, 2.0),
    ProgressChange("a", 40, "half way", 2.5),
    AttemptChange("tc1", state=JobState.FAILED, exit_code=3, message="exit 3", ended=2.6),
    StateChange("c", JobState.RETRYING, 2.6, "attempt 1 failed; retry 1 in 0s"),
    AttemptChange("ta", state=JobState.DONE, exit_code=0, ended=3.0, log_offset=12, started=2.9),
    StateChange("a", JobState.DONE, 3.0),
    FingerprintChange("a", "fp-a"),
    FingerprintChange("d", "fp-d"),  # a job without a move in the round
    NewAttempt("b", 1, "tb", "local", "localhost", "/run", "b", 3.1),
    StateChange("b", JobState.SUBMITTED, 3.1, attempt=1),
    NewAttempt("c", 2, "tc2", "local", "localhost", "/run", "c.attempt2", 3.2),
    StateChange("c", JobState.SUBMITTED, 3.2, attempt=2),
    RunEnd(WorkflowState.RUNNING),
]


def _store(path: Path) -> tuple[Store, int]:
    store = Store(path)
    store.save(WorkflowSpec(name="w", jobs={j: JobSpec(j, exec="true") for j in "abcd"}))
    wid = store.workflow_id("w")
    with store.transaction():
        store.start_run(wid, "/run", [], fresh=True)
    store.apply(wid, SEED)
    return store, wid


def _rows(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    def rows(sql: str) -> list[tuple[Any, ...]]:
        return [tuple(row) for row in store.db.execute(sql)]
    return {
        "jobs": rows("SELECT name, state, message, progress, attempt, fingerprint, "
                     "CASE WHEN name='d' THEN NULL ELSE modified END FROM jobs ORDER BY name"),  # d: saved
        "attempts": rows("SELECT token, state, message, exit_code, native_id, log_offset, started, ended "
                         "FROM attempts ORDER BY token"),
        "events": rows("SELECT job, kind, state, progress, message, ts FROM events WHERE kind != 'workflow' "
                       "ORDER BY id"),
        "runs": rows("SELECT number, state, counts FROM runs"),
    }


def test_a_coalesced_round_leaves_what_its_writes_one_by_one_leave(tmp_path: Path) -> None:
    together, wid = _store(tmp_path / "together.db")
    together.apply(wid, ROUND)
    apart, wid2 = _store(tmp_path / "apart.db")
    for write in ROUND:
        apart.apply(wid2, [write])
    assert _rows(together) == _rows(apart)
    jobs = {row[0]: row for row in _rows(together)["jobs"]}
    assert jobs["a"][1:] == ("done", None, 100, 1, "fp-a", 3.0)  # done clears the message and sets 100
    assert jobs["c"][1:5] == ("submitted", "attempt 1 failed; retry 1 in 0s", 0, 2)
    assert jobs["d"][5] == "fp-d"
    attempts = {row[0]: row for row in _rows(together)["attempts"]}
    assert attempts["ta"][1:] == ("done", None, 0, "4242", 12, 2.0, 3.0)  # the first start is kept


def test_one_statement_per_row() -> None:
    rows = coalesce(ROUND[:-1])
    kinds = [(type(row).__name__, getattr(row, "job", getattr(row, "token", None))) for row in rows]
    assert kinds == [("AttemptChange", "ta"), ("JobRow", "a"), ("AttemptChange", "tc1"), ("JobRow", "c"),
                     ("FingerprintChange", "d"), ("NewAttempt", "b"), ("JobRow", "b"), ("NewAttempt", "c")]
    row_a = rows[1]
    assert isinstance(row_a, JobRow) and row_a.fingerprint == "fp-a"
    assert [type(move).__name__ for move in row_a.moves] == ["StateChange", "ProgressChange", "StateChange"]
    with pytest.raises(ValueError, match="RunEnd"):
        coalesce(ROUND)


def test_a_forbidden_move_inside_a_round_writes_nothing(tmp_path: Path) -> None:
    store, wid = _store(tmp_path / "db")
    before = _rows(store)
    with pytest.raises(StateError, match="job 'a': cannot go from done to running"):
        store.apply(wid, [StateChange("a", JobState.RUNNING, 2.0), StateChange("a", JobState.DONE, 3.0),
                          StateChange("a", JobState.RUNNING, 4.0)])
    with pytest.raises(StateError, match="job 'a': cannot go from submitted to ready"):  # checked in SQL
        store.apply(wid, [StateChange("a", JobState.READY, 2.0), StateChange("a", JobState.SUBMITTED, 3.0)])
    assert _rows(store) == before
