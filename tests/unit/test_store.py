"""The store enforces the state transition table on every job state write."""

from __future__ import annotations

from pathlib import Path

import pytest

from hybridflow.errors import StateError
from hybridflow.spec import JobSpec, WorkflowSpec
from hybridflow.states import TRANSITIONS, JobState, predecessors
from hybridflow.store.sqlite import SCHEMA_VERSION, Store


def test_predecessors_mirror_the_table() -> None:
    for new in JobState:
        for old in JobState:
            assert (old in predecessors(new)) is (old is new or new in TRANSITIONS[old])


def test_forbidden_moves_are_refused_and_nothing_is_written(tmp_path: Path) -> None:
    store = Store(tmp_path / "db")
    store.save(WorkflowSpec(name="w", jobs={"a": JobSpec("a", exec="true")}))
    wid = store.workflow_id("w")
    with store.transaction():
        store.set_job_state(wid, "a", JobState.SUBMITTED)
        store.set_job_state(wid, "a", JobState.DONE)
    events = len(store.events("w"))
    with pytest.raises(StateError, match="job 'a': cannot go from done to running"):
        with store.transaction():
            store.set_job_state(wid, "a", JobState.RUNNING)
    assert store.view("w").jobs["a"].state is JobState.DONE
    assert len(store.events("w")) == events


def _done(store: Store, wid: int, job: str, token: str) -> None:
    from hybridflow.rounds import AttemptChange, NewAttempt, StateChange

    store.apply(wid, [NewAttempt(job, 1, token, "local", "localhost", "/run", job, 1.0),
                      StateChange(job, JobState.SUBMITTED, 1.0, attempt=1),
                      AttemptChange(token, state=JobState.DONE, exit_code=0, started=2.0, ended=3.0),
                      StateChange(job, JobState.DONE, 3.0)])


def test_saving_a_changed_job_resets_only_it(tmp_path: Path) -> None:
    store = Store(tmp_path / "db")
    store.save(WorkflowSpec(name="w", jobs={"a": JobSpec("a", exec="true"), "b": JobSpec("b", exec="true")}))
    wid = store.workflow_id("w")
    for job in "ab":
        _done(store, wid, job, f"hf-{job}")
    store.save(WorkflowSpec(name="w", jobs={"a": JobSpec("a", exec="true"), "b": JobSpec("b", exec="false")}))
    jobs = store.view("w").jobs
    assert (jobs["a"].state, jobs["b"].state) == (JobState.DONE, JobState.READY)


def test_exit_code_and_times_come_from_the_latest_attempt_of_this_run(tmp_path: Path) -> None:
    store = Store(tmp_path / "db")
    store.save(WorkflowSpec(name="w", jobs={"a": JobSpec("a", exec="true")}))
    wid = store.workflow_id("w")
    with store.transaction():
        store.start_run(wid, "/run", [], fresh=True)
    store.db.execute("UPDATE workflows SET t0=0.5 WHERE id=?", (wid,))
    _done(store, wid, "a", "hf-a")
    job = store.view("w").jobs["a"]
    assert (job.exit_code, job.tstart, job.tend) == (0, 2.0, 3.0)
    with store.transaction():  # a new run resets the job: the old attempt no longer shows
        store.start_run(wid, "/run", ["a"], fresh=True)
    job = store.view("w").jobs["a"]
    assert (job.state, job.exit_code, job.tstart, job.tend) == (JobState.READY, None, None, None)


def test_a_version_2_database_is_migrated(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "db"
    Store(path).save(WorkflowSpec(name="w", jobs={"a": JobSpec("a", exec="true")}))
    db = sqlite3.connect(path)  # make it look like schema 2: the job columns now derived
    for column in ("exit_code INTEGER", "tstart REAL", "tend REAL"):
        db.execute(f"ALTER TABLE jobs ADD COLUMN {column}")
    db.execute("ALTER TABLE attempts DROP COLUMN usage")  # added by version 5
    db.execute("ALTER TABLE jobs DROP COLUMN cancel_requested")  # added by version 6
    db.execute("PRAGMA user_version=2")
    db.commit()
    db.close()
    store = Store(path)
    assert store.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    columns = {row[1] for row in store.db.execute("PRAGMA table_info(jobs)")}
    assert not columns & {"exit_code", "tstart", "tend"}
    assert "usage" in {row[1] for row in store.db.execute("PRAGMA table_info(attempts)")}
    assert "cancel_requested" in columns
    assert store.view("w").jobs["a"].state is JobState.READY


def test_cancelling_single_jobs_is_asked_taken_once_and_survives_a_new_coordinator(tmp_path: Path) -> None:
    store = Store(tmp_path / "db")
    store.save(WorkflowSpec(name="w", jobs={n: JobSpec(n, exec="true") for n in ("a", "b", "c")}))
    wid = store.workflow_id("w")
    assert store.request_cancel_jobs("w", ["c", "a"]) is False  # no coordinator runs it
    assert store.control(wid)[1] == 2 and store.generation(wid) == (store.control(wid)[0], False)
    assert store.acquire("w") == wid  # a coordinator starting now still sees the request...
    assert store.take_job_cancels(wid) == ["a", "c"]  # ...in the jobs' order, and takes it once
    assert store.take_job_cancels(wid) == [] and store.control(wid)[1] == 0
    assert store.request_cancel("w") is True  # the whole run: not turned into a per-job request
    store.request_cancel_jobs("w", ["b"])
    assert store.control(wid)[1] == 1 and store.generation(wid)[1] is True
    store.release(wid)
    assert store.acquire("w") == wid and store.control(wid)[1] == 0  # an old whole-run cancel is void...
    assert store.take_job_cancels(wid) == []  # ...and so are the jobs marked under it
