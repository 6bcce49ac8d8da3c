"""The real ``hflow`` entry point: exit codes, live status from another process, cancel,
signals, and kill -9 of the coordinator followed by a resume."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path

import psutil
import pytest
import yaml

from support import COMPAT, hflow, wait_for as _wait_for

HFLOW = [sys.executable, "-c", "from hybridflow.cli import main; main()"]


def _start(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([*HFLOW, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_run_compat_file_prints_table_and_exits_zero(home: Path) -> None:
    result = hflow("workflow", "run", str(COMPAT / "workflow-example.yaml"))
    assert result.returncode == 0, result.stderr
    assert "fetch-data" in result.stdout and "done" in result.stdout
    listed = hflow("workflow", "list")
    assert "workflow-example" in listed.stdout and "done 5" in listed.stdout


def test_invalid_file_exit_2_one_line_nothing_stored(home: Path, write_workflow) -> None:
    path = write_workflow("workflow:\n  nodes:\n    a: {exec: 'x'}\n  dependencies: ['a,ghost']\n")
    result = hflow("workflow", "run", str(path))
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "unknown job 'ghost'" in result.stderr and "Traceback" not in result.stderr
    assert "wf" not in hflow("workflow", "list").stdout.split("workflow")[-1]


def test_failed_job_exit_code_1(home: Path, write_workflow) -> None:
    path = write_workflow("workflow:\n  nodes:\n    a: {exec: 'exit 4'}\n")
    result = hflow("workflow", "run", str(path))
    assert result.returncode == 1
    status = json.loads(hflow("workflow", "status", "wf", "--output", "json").stdout)
    assert status["jobs"][0]["state"] == "failed" and status["jobs"][0]["exit_code"] == 4


def test_add_jobs_with_expansion_status_graph_delete(home: Path, tmp_path: Path) -> None:
    assert hflow("workflow", "add", "--name", "w", "--job", "s[1-3]", "exec=echo hi").returncode == 0
    assert hflow("workflow", "dependencies", "w", "s1,s2,s3").returncode == 0
    assert hflow("workflow", "run", "w").returncode == 0
    data = yaml.safe_load(hflow("workflow", "status", "w", "--output", "yaml").stdout)
    assert [job["state"] for job in data["jobs"]] == ["done"] * 3
    for fmt, marker in (("svg", "<svg"), ("dot", "digraph"), ("mermaid", "flowchart")):
        out = tmp_path / f"g.{fmt}"
        assert hflow("workflow", "graph", "w", "--format", fmt, "--output", str(out)).returncode == 0
        assert marker in out.read_text()
    assert hflow("workflow", "delete", "w", "--job", "s3").returncode == 0
    assert [j["name"] for j in json.loads(hflow("workflow", "status", "w", "-o", "json").stdout)["jobs"]] == ["s1", "s2"]
    assert hflow("workflow", "delete", "w").returncode == 0
    assert hflow("workflow", "status", "w").returncode == 1


LONG = """
workflow:
  nodes:
    quick: {exec: 'true'}
    long: {exec: 'echo $$ > long.pid; sleep 60 & echo $! > child.pid; wait'}
    after: {exec: 'true'}
  dependencies: ['quick,long,after']
"""


def _pids_alive(run_dir: Path) -> list[bool]:
    return [psutil.pid_exists(int((run_dir / f).read_text())) for f in ("long.pid", "child.pid")]


@pytest.mark.parametrize("how", ["cancel-command", "sigterm", "sigint"])
def test_cancel_kills_process_group_and_exits_130(home: Path, write_workflow, how: str) -> None:
    path = write_workflow(LONG)
    run_dir = path.parent  # local jobs run in the workflow's folder
    proc = _start("workflow", "run", str(path), "--quiet")
    _wait_for(lambda: (run_dir / "child.pid").exists(), what="long job to start")

    def long_state() -> str:
        status = json.loads(hflow("workflow", "status", "wf", "-o", "json").stdout)
        return {j["name"]: j["state"] for j in status["jobs"]}["long"]

    _wait_for(lambda: long_state() == "running", timeout=5, what="status 'running' seen from another process")
    if how == "cancel-command":
        assert "cancel requested" in hflow("workflow", "cancel", "wf").stdout
    else:
        proc.send_signal(signal.SIGTERM if how == "sigterm" else signal.SIGINT)
    assert proc.wait(timeout=30) == 130
    _wait_for(lambda: not any(_pids_alive(run_dir)), timeout=10, what="job processes to die")
    states = {j["name"]: j["state"] for j in json.loads(hflow("workflow", "status", "wf", "-o", "json").stdout)["jobs"]}
    assert states["quick"] == "done" and states["long"] == "canceled"
    assert states["after"] != "done"


def test_kill_9_coordinator_then_resume_reattaches(home: Path, write_workflow) -> None:
    path = write_workflow(
        """
        workflow:
          nodes:
            a: {exec: 'echo a >> starts.txt'}
            b: {exec: 'echo b >> starts.txt; sleep 2'}
            c: {exec: 'echo c >> starts.txt'}
            d: {exec: 'echo d >> starts.txt; sleep 6'}
          dependencies: ['a,b,c']
        """
    )
    run_dir = home / "runs" / "wf"
    starts = path.parent / "starts.txt"
    coordinator = _start("workflow", "run", str(path), "--quiet")
    _wait_for(lambda: starts.exists() and {"b", "d"} <= set(starts.read_text().split()), what="b and d to start")
    coordinator.send_signal(signal.SIGKILL)
    coordinator.wait()
    # b finishes while no coordinator runs; d is still running when we resume
    _wait_for(lambda: (run_dir / "b.exit").exists(), what="b to finish alone")
    assert not (run_dir / "d.exit").exists()
    live = json.loads(hflow("workflow", "status", "wf", "-o", "json").stdout)
    assert {j["name"]: j["state"] for j in live["jobs"]}["d"] == "running"
    resumed = hflow("workflow", "run", "wf", "--quiet")
    assert resumed.returncode == 0, resumed.stderr
    assert Counter(starts.read_text().split()) == {"a": 1, "b": 1, "c": 1, "d": 1}
    db = sqlite3.connect(home / "hybridflow.db")
    attempts = Counter(row[0] for row in db.execute("SELECT job FROM attempts"))
    assert attempts == {"a": 1, "b": 1, "c": 1, "d": 1}
    states = dict(db.execute("SELECT name, state FROM jobs"))
    assert states == {"a": "done", "b": "done", "c": "done", "d": "done"}


def test_pid_reuse_is_not_taken_for_the_job(home: Path, write_workflow) -> None:
    """An attempt whose recorded PID now belongs to another process is not 'running'."""
    path = write_workflow("workflow:\n  nodes:\n    a: {exec: 'sleep 30', retries: 0}\n")
    coordinator = _start("workflow", "run", str(path), "--quiet")
    _wait_for(lambda: (home / "hybridflow.db").exists(), what="the state database")
    db = sqlite3.connect(home / "hybridflow.db")

    def native_id() -> str | None:
        try:
            row = db.execute("SELECT native_id FROM attempts WHERE job='a'").fetchone()
        except sqlite3.OperationalError:  # the schema is not created yet
            return None
        return row[0] if row else None

    _wait_for(native_id, what="a to start")
    coordinator.send_signal(signal.SIGKILL)
    coordinator.wait()
    pid = int(native_id().split(":")[0])
    os.killpg(pid, signal.SIGKILL)  # the job dies without an exit file...
    impostor = subprocess.Popen(["sleep", "30"])  # ...and some other process is alive
    with db:
        db.execute("UPDATE attempts SET native_id=? WHERE job='a'", (str(impostor.pid),))
    try:
        result = hflow("workflow", "run", "wf", "--quiet", timeout=60)
    finally:
        impostor.kill()
    assert result.returncode == 1
    state, message = db.execute("SELECT state, message FROM jobs WHERE name='a'").fetchone()
    assert state == "lost" and "without writing an exit code" in message


def test_run_takes_a_bracket_list_of_workflows(home: Path) -> None:
    for name, command in (("w1", "true"), ("w2", "exit 3")):
        assert hflow("workflow", "add", "--name", name, "--job", "a", f"exec={command}").returncode == 0
    result = hflow("workflow", "run", "w[1-2]", "--quiet")
    assert result.returncode == 1  # w2 failed
    states = {n: json.loads(hflow("workflow", "status", n, "-o", "json").stdout)["state"] for n in ("w1", "w2")}
    assert states == {"w1": "done", "w2": "failed"}
