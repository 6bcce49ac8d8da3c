"""Infrastructure outages mid-run: the run completes and no job is marked failed.

* sshd stopped for 20 s (established connections dropped too), then started again;
* slurmctld stopped and started again while jobs run and wait.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from hybridflow import JobState, Workflow, WorkflowState
from hybridflow.store.sqlite import Store

from hostsupport import Testbed, stop_daemon, wait_for

pytestmark = pytest.mark.testbed


def _outage(home: Path, name: str, job: str, action, errors: list[BaseException]) -> threading.Thread:
    """In the background: once ``job`` runs, do ``action`` (which must restore the testbed)."""
    def body() -> None:
        try:
            store = Store(home / "hybridflow.db")
            wait_for(lambda: store.view(name).jobs[job].state is JobState.RUNNING, 60, f"{job} to run")
            action()
        except BaseException as exc:  # reported by the test; the run must not hang on it
            errors.append(exc)

    thread = threading.Thread(target=body, daemon=True)
    thread.start()
    return thread


def _states_seen(wf: Workflow) -> set[str]:
    return {e["state"] for e in wf.store.events(wf.name) if e["kind"] == "state" and e["job"]}


def test_sshd_down_for_20s_mid_run(hosts_file: Path, make_workflow, home: Path, testbed: Testbed) -> None:
    ssh = {"kind": "ssh", "host": "testbed"}
    path = make_workflow(
        {
            "s1": {**ssh, "exec": "sleep 3; echo 1 > s1.txt"},
            "s2": {**ssh, "exec": "sleep 3; cat s1.txt > s2.txt"},
            "s3": {**ssh, "exec": "cat s2.txt"},
            "long": {**ssh, "exec": "sleep 15"},
        },
        ["s1,s2,s3"],
    )
    wf = Workflow.load(path)

    def outage() -> None:
        stop_daemon(testbed, "sshd", with_children=True)
        try:
            time.sleep(20)
        finally:
            testbed.start()

    errors: list[BaseException] = []
    thread = _outage(home, wf.name, "s1", outage, errors)
    started = time.monotonic()
    try:
        assert wf.run() is WorkflowState.DONE
    finally:
        thread.join(60)
    assert not errors, errors
    assert time.monotonic() - started >= 20
    seen = _states_seen(wf)
    assert "unknown" in seen, f"the outage went unnoticed: {seen}"
    assert not seen & {"failed", "lost"}, seen
    assert [a.number for a in wf.store.attempts(wf.name)] == [1, 1, 1, 1]


def test_slurmctld_restart_mid_run(hosts_file: Path, make_workflow, home: Path, testbed: Testbed) -> None:
    slurm = {"kind": "slurm"}
    path = make_workflow(
        {
            "t1": {**slurm, "exec": "sleep 4; echo 1 > t1.txt"},
            "t2": {**slurm, "exec": "sleep 2; cat t1.txt > t2.txt"},
            "w[1-3]": {**slurm, "exec": "sleep 3"},
        },
        ["t1,t2"],
    )
    wf = Workflow.load(path)

    def restart() -> None:
        stop_daemon(testbed, "slurmctld")
        try:
            time.sleep(12)  # longer than squeue's own 9 s of retries
        finally:
            testbed.start()

    errors: list[BaseException] = []
    thread = _outage(home, wf.name, "t1", restart, errors)
    try:
        assert wf.run() is WorkflowState.DONE
    finally:
        thread.join(60)
    assert not errors, errors
    seen = _states_seen(wf)
    assert "unknown" in seen, f"the restart went unnoticed: {seen}"
    assert not seen & {"failed", "lost"}, seen
    assert (path.parent / "t2.txt").read_text() == "1\n"  # Slurm on this machine runs in the folder
    assert all(a.number == 1 for a in wf.store.attempts(wf.name))
