"""Schema v4: every run recorded; true states (interrupted runs, no stale attempts, no stale messages)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from hybridflow.rounds import AttemptChange, NewAttempt, StateChange
from hybridflow.spec import JobSpec, WorkflowSpec
from hybridflow.states import JobState, WorkflowState
from hybridflow.store.sqlite import SCHEMA_VERSION, Store


def _store(tmp_path: Path, jobs: str = "ab") -> tuple[Store, int]:
    store = Store(tmp_path / "db")
    store.save(WorkflowSpec(name="w", jobs={j: JobSpec(j, exec="true") for j in jobs}))
    return store, store.workflow_id("w")


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_version_3_database_gets_the_runs_table(tmp_path: Path) -> None:
    path = tmp_path / "db"
    Store(path).save(WorkflowSpec(name="w", jobs={"a": JobSpec("a", exec="true")}))
    db = sqlite3.connect(path)  # as version 3 left it: no runs table, nor what later versions added
    db.execute("DROP TABLE runs")
    if "usage" in {row[1] for row in db.execute("PRAGMA table_info(attempts)")}:  # version 5
        db.execute("ALTER TABLE attempts DROP COLUMN usage")
    db.execute("ALTER TABLE jobs DROP COLUMN cancel_requested")  # version 6
    db.execute("PRAGMA user_version=3")
    db.commit()
    db.close()
    store = Store(path)
    assert store.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION >= 4
    wid = store.workflow_id("w")
    with store.transaction():
        store.start_run(wid, "/run", [], fresh=True)
    assert [run.number for run in store.runs("w")] == [1]


def test_every_run_is_recorded_with_who_counts_and_options(tmp_path: Path, monkeypatch: object) -> None:
    store, wid = _store(tmp_path)
    for number in (1, 2):
        with store.transaction():
            store.start_run(wid, "/run", ["a", "b"], fresh=True, options={"rerun": "failed", "from": []})
        store.apply(wid, [NewAttempt("a", number, f"t{number}", "local", "localhost", "/run", "a", 1.0),
                          StateChange("a", JobState.SUBMITTED, 1.0, attempt=number),
                          StateChange("a", JobState.FAILED, 2.0, "exit 1"),
                          StateChange("b", JobState.SKIPPED, 2.0)])
        with store.transaction():
            store.end_run(wid, WorkflowState.FAILED)
    runs = store.runs("w")
    assert [r.number for r in runs] == [2, 1]  # newest first
    assert runs[0].state is WorkflowState.FAILED and runs[0].ended is not None
    assert runs[0].counts == {"failed": 1, "skipped": 1}
    assert runs[0].options == {"rerun": "failed", "from": []}
    assert runs[0].started_by.endswith("(cli)") and "@" in runs[0].started_by


def test_a_run_whose_coordinator_died_reads_interrupted_with_its_pid(tmp_path: Path) -> None:
    store, wid = _store(tmp_path)
    with store.transaction():
        store.start_run(wid, "/run", [], fresh=True)
    dead = _dead_pid()
    store.db.execute("UPDATE workflows SET lock_pid=?, lock_ctime=1.0 WHERE id=?", (dead, wid))
    store.db.execute("UPDATE runs SET pid=? WHERE workflow_id=?", (dead, wid))
    view = store.view("w")
    assert view.state is WorkflowState.INTERRUPTED and view.dead_pid == dead and view.running_pid is None
    assert store.runs("w")[0].state is WorkflowState.INTERRUPTED
    # the coordinator that takes over resumes it: running again, not interrupted
    store.acquire("w")
    assert store.view("w").state is WorkflowState.RUNNING


def test_jobs_not_started_in_this_run_show_no_attempt_of_an_earlier_one(tmp_path: Path) -> None:
    store, wid = _store(tmp_path)
    with store.transaction():
        store.start_run(wid, "/run", [], fresh=True)
    now = time.time()
    store.apply(wid, [NewAttempt("a", 1, "old", "ssh", "far", "/run", "a", now),
                      StateChange("a", JobState.SUBMITTED, now, attempt=1),
                      StateChange("a", JobState.FAILED, now, "exit 1")])
    assert store.view("w").attempts["a"].host == "far"
    with store.transaction():  # a new run: a is reset, then canceled before it starts
        store.start_run(wid, "/run", ["a"], fresh=True)
    store.apply(wid, [StateChange("a", JobState.CANCELED, 3.0, "canceled")])
    view = store.view("w")
    assert view.jobs["a"].state is JobState.CANCELED
    assert "a" not in view.attempts and view.jobs["a"].exit_code is None


def test_a_later_success_clears_the_message_of_an_earlier_attempt(tmp_path: Path) -> None:
    store, wid = _store(tmp_path, "a")
    store.apply(wid, [NewAttempt("a", 2, "t2", "local", "localhost", "/run", "a", 1.0),
                      StateChange("a", JobState.SUBMITTED, 1.0, attempt=2),
                      AttemptChange("t2", state=JobState.FAILED, exit_code=1, ended=2.0),
                      StateChange("a", JobState.RETRYING, 2.0, "attempt 2 failed; retry 2 in 2s"),
                      NewAttempt("a", 3, "t3", "local", "localhost", "/run", "a", 4.0),
                      StateChange("a", JobState.SUBMITTED, 4.0, attempt=3)])
    assert store.view("w").jobs["a"].message == "attempt 2 failed; retry 2 in 2s"
    store.apply(wid, [AttemptChange("t3", state=JobState.DONE, exit_code=0, started=4.5, ended=5.0),
                      StateChange("a", JobState.DONE, 5.0)])
    job = store.view("w").jobs["a"]
    assert job.state is JobState.DONE and job.message is None
