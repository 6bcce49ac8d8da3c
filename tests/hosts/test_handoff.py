"""Hand-off to the real Slurm testbed: ``hflow workflow run --detach`` submits ``afterok``
chains and exits; Slurm runs them while no coordinator does; ``status`` and ``run`` carry on.

Submissions are counted from Slurm itself: every Slurm job whose name is one of the run's
attempt tokens (``squeue -t all`` keeps finished jobs for ``MinJobAge``), so a job
resubmitted behind hybridflow's back would show up as a second Slurm job.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from hybridflow.store.sqlite import Store

from support import hflow, wait_for

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "service"))
from servicesupport import live_service  # noqa: E402

pytestmark = pytest.mark.testbed

QUICK = {"kind": "slurm", "host": "localhost", "cpus": 1, "time": 2}


def _attempts(home: Path) -> list[tuple[str, int, str, str | None, str]]:
    db = sqlite3.connect(home / "hybridflow.db")
    try:
        return db.execute("SELECT job, number, token, native_id, state FROM attempts ORDER BY id").fetchall()
    finally:
        db.close()


def _slurm_jobs(tokens: set[str]) -> dict[str, tuple[str, str, str]]:
    """Slurm jobs named by these tokens: id -> (name, state, reason)."""
    out = subprocess.run(["squeue", "-h", "-t", "all", "-a", "-O", "JobID:|,Name:|,State:|,Reason:|"],
                         capture_output=True, text=True, timeout=30).stdout
    found: dict[str, tuple[str, str, str]] = {}
    for line in out.splitlines():
        job_id, name, state, reason = (part.strip() for part in line.split("|")[:4])
        if name in tokens:
            found[job_id] = (name, state, reason)
    return found


def _states(name: str = "wf") -> dict[str, str]:
    result = hflow("workflow", "status", name, "-o", "json")
    assert result.returncode == 0, result.stderr
    return {job["name"]: job["state"] for job in json.loads(result.stdout)["jobs"]}


def _detach(path: Path) -> subprocess.CompletedProcess[str]:
    started = time.monotonic()
    result = hflow("workflow", "run", str(path), "--detach", "--quiet")
    assert time.monotonic() - started < 60
    return result


def test_three_level_dag_runs_in_slurm_while_the_coordinator_is_gone(home: Path, hosts_file: Path,
                                                                     make_workflow) -> None:
    path = make_workflow(
        {
            "a": {**QUICK, "exec": "sleep 2; echo a > a.txt"},
            "b1": {**QUICK, "exec": "cat a.txt > b1.txt"},
            "b2": {**QUICK, "exec": "cat a.txt > b2.txt"},
            "c": {**QUICK, "exec": "cat b1.txt b2.txt > c.txt"},
        },
        ["a,b1,c", "a,b2,c"],
    )
    result = _detach(path)
    assert result.returncode == 0, result.stderr
    assert "handed off: 4 jobs wait in Slurm" in result.stdout
    runs = hflow("workflow", "runs", "wf")
    assert "handed-off" in runs.stdout and "died" not in runs.stdout  # left on purpose, not interrupted
    attempts = _attempts(home)
    assert sorted(job for job, *_ in attempts) == ["a", "b1", "b2", "c"]
    assert all(native for *_, native, _ in attempts)
    tokens = {token for _, _, token, _, _ in attempts}
    ids = {job: native for job, _, _, native, _ in attempts}
    run_dir, folder = home / "runs" / "wf", path.parent  # Slurm here runs jobs in the folder
    # the chain is Slurm's own: c waits for both b's, each b for a
    wrapper = (run_dir / "c.hflow.sh").read_text()
    assert f"#SBATCH --dependency=afterok:{ids['b1']}:{ids['b2']}" in wrapper \
        or f"#SBATCH --dependency=afterok:{ids['b2']}:{ids['b1']}" in wrapper
    assert f"#SBATCH --dependency=afterok:{ids['a']}\n" in (run_dir / "b1.hflow.sh").read_text()
    assert "--dependency" not in (run_dir / "a.hflow.sh").read_text()
    wait_for(lambda: (run_dir / "c.exit").exists(), timeout=90, what="c to finish in Slurm with no coordinator")
    assert (folder / "c.txt").read_text() == "a\na\n"
    resumed = hflow("workflow", "run", "wf", "--quiet")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert _states() == {"a": "done", "b1": "done", "b2": "done", "c": "done"}
    (run,) = Store(home / "hybridflow.db").runs("wf")  # the run handed off, carried on and ended: one run
    assert run.state.value == "done" and run.ended is not None
    again = _attempts(home)
    assert Counter(job for job, *_ in again) == {"a": 1, "b1": 1, "b2": 1, "c": 1}, "nothing was resubmitted"
    slurm = _slurm_jobs(tokens | {token for _, _, token, _, _ in again})
    assert len(slurm) == 4, f"one Slurm job per hybridflow job: {slurm}"
    assert {state for _, state, _ in slurm.values()} == {"COMPLETED"}


def test_failed_middle_job_dependants_cancelled_and_skipped(home: Path, hosts_file: Path, make_workflow) -> None:
    path = make_workflow(
        {
            "a": {**QUICK, "exec": "true"},
            "b": {**QUICK, "exec": "exit 3"},
            "c": {**QUICK, "exec": "echo never > c.txt"},
            "d": {**QUICK, "exec": "echo never > d.txt"},
            "side": {**QUICK, "exec": "echo side > side.txt"},
        },
        ["a,b,c,d", "a,side"],
    )
    assert _detach(path).returncode == 0
    ids = {job: native for job, _, _, native, _ in _attempts(home)}
    tokens = {token for _, _, token, _, _ in _attempts(home)}

    def never() -> bool:
        jobs = _slurm_jobs(tokens)
        return jobs.get(ids["c"], ("", "", ""))[2] == "DependencyNeverSatisfied"

    wait_for(never, timeout=90, what="c to wait for a dependency that can never be satisfied")
    states = _states()  # status carries the detached run on: records b, withdraws c and d
    assert states == {"a": "done", "b": "failed", "c": "skipped", "d": "skipped", "side": "done"}
    slurm = _slurm_jobs(tokens)
    assert slurm[ids["c"]][1] == "CANCELLED" and slurm[ids["d"]][1] == "CANCELLED", "not left pending"
    view = json.loads(hflow("workflow", "status", "wf", "-o", "json").stdout)
    assert view["state"] == "failed"
    message = {job["name"]: job.get("message") for job in view["jobs"]}
    assert "upstream job 'b' failed" in (message["c"] or "")


def test_retry_of_a_handed_off_job_repoints_its_children(home: Path, hosts_file: Path, make_workflow) -> None:
    path = make_workflow(
        {
            "flaky": {**QUICK, "retries": 1, "retry_delay": 0, "retry_on": ["exit"],
                      "exec": "if [ -e tried ]; then echo ok > flaky.txt; else touch tried; exit 1; fi"},
            "after": {**QUICK, "exec": "cat flaky.txt > after.txt"},
        },
        ["flaky,after"],
    )
    assert _detach(path).returncode == 0
    first = {job: native for job, _, _, native, _ in _attempts(home)}
    tokens = {token for _, _, token, _, _ in _attempts(home)}
    wait_for(lambda: _slurm_jobs(tokens).get(first["after"], ("", "", ""))[2] == "DependencyNeverSatisfied",
             timeout=90, what="the first attempt to fail in Slurm")
    resumed = hflow("workflow", "run", "wf", "--quiet")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert _states() == {"flaky": "done", "after": "done"}
    attempts = Counter(job for job, *_ in _attempts(home))
    assert attempts == {"flaky": 2, "after": 1}, "the child was re-pointed, not resubmitted"
    assert (path.parent / "after.txt").read_text() == "ok\n"


def test_killed_mid_hand_off_submits_each_job_once(home: Path, hosts_file: Path, make_workflow,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    path = make_workflow({"a": {**QUICK, "exec": "sleep 3"}, "b": {**QUICK, "exec": "true"}}, ["a,b"])
    monkeypatch.setenv("HYBRIDFLOW_CRASH_AT", "after-handoff-record")
    crashed = _detach(path)
    monkeypatch.delenv("HYBRIDFLOW_CRASH_AT")
    assert crashed.returncode != 0  # killed with b recorded and not submitted
    recorded = {job: native for job, _, _, native, _ in _attempts(home)}
    assert set(recorded) == {"a", "b"} and recorded["b"] is None
    resumed = hflow("workflow", "run", "wf", "--quiet")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    attempts = _attempts(home)
    assert Counter(job for job, *_ in attempts) == {"a": 1, "b": 1}
    assert len(_slurm_jobs({token for _, _, token, _, _ in attempts})) == 2


def test_mixed_local_slurm_ssh_runs_the_slurm_part_while_away(home: Path, hosts_file: Path, make_workflow) -> None:
    path = make_workflow(
        {
            "prep": {"exec": "echo 20 > prep.txt"},
            "train": {**QUICK, "exec": "sleep 1; echo trained > train.txt"},
            "score": {**QUICK, "exec": "cat train.txt > score.txt"},
            "publish": {"kind": "ssh", "host": "testbed", "exec": "hostname > published.txt"},
        },
        ["prep,train,score,publish"],
    )
    result = _detach(path)
    assert result.returncode == 0, result.stderr
    states = _states()
    assert states["prep"] == "done" and states["publish"] == "ready"
    assert states["train"] in ("pending", "running", "submitted") and states["score"] in ("pending", "submitted")
    run_dir = home / "runs" / "wf"
    wait_for(lambda: (run_dir / "score.exit").exists(), timeout=90, what="the Slurm part to finish while away")
    assert _states()["publish"] == "ready", "status does not start jobs on other hosts"
    resumed = hflow("workflow", "run", "wf", "--quiet")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert set(_states().values()) == {"done"}
    assert Counter(job for job, *_ in _attempts(home)) == {"prep": 1, "train": 1, "score": 1, "publish": 1}


def test_cancel_scancels_everything_handed_off(home: Path, hosts_file: Path, make_workflow) -> None:
    path = make_workflow({"a": {**QUICK, "exec": "sleep 60"}, "b": {**QUICK, "exec": "true"}}, ["a,b"])
    assert _detach(path).returncode == 0
    tokens = {token for _, _, token, _, _ in _attempts(home)}
    result = hflow("workflow", "cancel", "wf")
    assert result.returncode == 0 and "scancelled" in result.stdout
    assert set(_states().values()) == {"canceled"}
    wait_for(lambda: {state for _, state, _ in _slurm_jobs(tokens).values()} == {"CANCELLED"}, timeout=30,
             what="both Slurm jobs to be cancelled")


def test_sweep_handed_off_is_one_array_and_gather_waits_for_every_task(home: Path, hosts_file: Path,
                                                                        make_workflow) -> None:
    path = make_workflow(
        {
            "prep": {**QUICK, "exec": "sleep 1; echo 7 > seed.txt"},
            "sim": {**QUICK, "experiments": {"i": "1,2,3,4"}, "max_parallel": 2,
                    "exec": "echo {i} $(cat seed.txt) > sim-{i}.txt"},
            "gather": {**QUICK, "exec": "cat sim-*.txt | sort > all.txt"},
        },
        ["prep,sim,gather"],
    )
    result = _detach(path)
    assert result.returncode == 0, result.stderr
    assert "handed off: 6 jobs wait in Slurm" in result.stdout
    ids = {job: native or "" for job, _, _, native, _ in _attempts(home)}
    tasks = sorted(native for job, native in ids.items() if job.startswith("sim-"))
    assert len({native.split("_")[0] for native in tasks}) == 1 and all("_" in n for n in tasks), ids
    run_dir = home / "runs" / "wf"
    driver = next(run_dir.glob("*.array.sh")).read_text()
    assert f"#SBATCH --dependency=afterok:{ids['prep']}" in driver and "#SBATCH --array=0-3%2" in driver
    dependency = next(line for line in (run_dir / "gather.hflow.sh").read_text().splitlines()
                      if line.startswith("#SBATCH --dependency=afterok:"))
    assert sorted(dependency.split(":")[1:]) == tasks, "gather waits for the whole array"
    wait_for(lambda: (run_dir / "gather.exit").exists(), timeout=90, what="the array and gather to finish")
    assert (path.parent / "all.txt").read_text().splitlines() == ["1 7", "2 7", "3 7", "4 7"]
    resumed = hflow("workflow", "run", "wf", "--quiet")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert set(_states().values()) == {"done"}
    assert Counter(job for job, *_ in _attempts(home)) == {"prep": 1, "gather": 1, **{f"sim-i_{i}": 1 for i in range(1, 5)}}


def test_rest_run_with_detach_hands_off_and_the_run_shows_handed_off(home: Path, hosts_file: Path) -> None:
    text = ("workflow:\n  nodes:\n"
            "    a: {kind: slurm, host: localhost, cpus: 1, time: 2, exec: 'sleep 1'}\n"
            "    b: {kind: slurm, host: localhost, cpus: 1, time: 2, exec: 'true'}\n"
            "  dependencies: ['a,b']\n")
    with live_service(home) as service, service.client() as client:
        assert client.post("/api/v1/workflows", params={"name": "rest"}, content=text.encode()).status_code == 201
        started = client.post("/api/v1/workflows/rest/run", json={"detach": True})
        assert started.status_code == 202, started.text
        wait_for(lambda: client.get("/api/v1/workflows/rest").json()["state"] == "handed-off", timeout=60,
                 what="the coordinator to hand off and exit")
        (run,) = client.get("/api/v1/workflows/rest/runs").json()
        assert run["state"] == "handed-off" and run["ended"] is None
        assert {j["state"] for j in client.get("/api/v1/workflows/rest").json()["jobs"]} <= {"submitted", "pending",
                                                                                           "running", "done"}
    finished = hflow("workflow", "run", "rest", "--quiet")  # the laptop is back: carry it to the end
    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert _states("rest") == {"a": "done", "b": "done"}
