"""Watching and fixing a run from the CLI: `logs`, `runs`, the closing summary, output that
is not a terminal, and true states (interrupted runs, no stale attempts or messages)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from support import hflow, wait_for as _wait_for

HFLOW = [sys.executable, "-c", "from hybridflow.cli import main; main()"]
LONG = "the error: " + "something broke badly " * 8  # 180 characters on one line


def _bare(*args: str, columns: str | None = None) -> subprocess.CompletedProcess[str]:
    """``hflow`` with stdout a pipe and COLUMNS as given (unset by default)."""
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    if columns is not None:
        env["COLUMNS"] = columns
    return subprocess.run([*HFLOW, *args], capture_output=True, text=True, timeout=120, env=env)


def _flaky(tmp_path: Path) -> str:
    """A job that fails twice, then succeeds, printing its attempt number."""
    counter = tmp_path / "count"
    return (f"n=$(cat {counter} 2>/dev/null || echo 0); n=$((n+1)); echo $n > {counter}; "
            f"echo attempt $n; test $n -ge 3")


def test_logs_of_each_attempt_and_the_message_of_a_retry_cleared_by_success(
        home: Path, tmp_path: Path, write_workflow) -> None:
    path = write_workflow("workflow:\n  nodes:\n"
                          f"    flaky: {{exec: '{_flaky(tmp_path)}', retries: 2, retry_delay: 0s, retry_on: [exit]}}\n")
    assert hflow("workflow", "run", str(path), "-q").returncode == 0
    latest = hflow("workflow", "logs", "wf", "flaky")
    assert latest.returncode == 0 and latest.stdout == "attempt 3\n"  # stdout is the log, exactly
    assert "attempt 3 on localhost" in latest.stderr and "flaky.attempt3.log" in latest.stderr
    first = hflow("workflow", "logs", "wf", "flaky", "--attempt", "1")
    assert first.stdout == "attempt 1\n"
    job = json.loads(hflow("workflow", "status", "wf", "-o", "json").stdout)["jobs"][0]
    assert job["state"] == "done" and job["message"] is None  # not "attempt 2 failed; retry..."
    table = hflow("workflow", "status", "wf").stdout
    assert "retry" not in table and "failed" not in table
    missing = hflow("workflow", "logs", "wf", "flaky", "--attempt", "7")
    assert missing.returncode == 1 and missing.stderr.strip() == "error: job 'flaky' of workflow 'wf' has no attempt 7"
    nojob = hflow("workflow", "logs", "wf", "ghost")
    assert nojob.returncode == 1 and "no job 'ghost'" in nojob.stderr and "Traceback" not in nojob.stderr


def test_logs_follow_prints_until_the_job_ends(home: Path, write_workflow) -> None:
    path = write_workflow("workflow:\n  nodes:\n    slow: {exec: 'echo one; sleep 1.5; echo two'}\n")
    coordinator = subprocess.Popen([*HFLOW, "workflow", "run", str(path), "-q"], stdout=subprocess.DEVNULL)
    try:
        _wait_for(lambda: hflow("workflow", "logs", "wf", "slow").returncode == 0, what="slow to start")
        started = time.monotonic()
        followed = hflow("workflow", "logs", "wf", "slow", "-f", timeout=30)
        assert followed.returncode == 0 and followed.stdout == "one\ntwo\n"
        assert time.monotonic() - started > 0.5  # it waited for "two"
    finally:
        coordinator.wait(30)


def test_closing_summary_names_the_failure_with_its_log_and_folds_big_runs(
        home: Path, write_workflow) -> None:
    parts = "\n".join(f"    - start,part{i},end" for i in range(1, 61))
    path = write_workflow("workflow:\n  nodes:\n    start: {exec: 'true'}\n    part[1-60]: {exec: 'true'}\n"
                          f"    bad: {{exec: \"echo first line; echo '{LONG}'; exit 3\"}}\n"
                          "    end: {exec: 'true'}\n"
                          f"  dependencies:\n    - start,bad,end\n{parts}\n")
    result = _bare("workflow", "run", str(path))  # stdout is a pipe: not a terminal, no COLUMNS
    assert result.returncode == 1
    out = result.stdout
    assert f"run directory: {home / 'runs' / 'wf'}" in out
    assert "bad failed, exit code 3, attempt 1 on localhost" in out
    assert "| first line" in out and LONG.strip() in out  # the log's last lines, unwrapped
    assert f"log: {home / 'runs' / 'wf' / 'bad.log'}" in out
    assert "part[1-60]" in out and "done 60" in out  # 63 jobs: by family, not 63 rows
    assert "part37" not in out and len(out.splitlines()) < 30
    every = hflow("workflow", "run", "wf", "--rerun-failed", "--output", "table")
    assert "part37" in every.stdout or "bad" in every.stdout
    full = _bare("workflow", "status", "wf")
    assert all(f"part{i} " in full.stdout for i in (1, 37, 60))
    bad = [line for line in full.stdout.splitlines() if line.strip().startswith("bad ")]
    assert len(bad) == 1 and " 3 " in bad[0] and "see: hflow workflow logs wf bad" in bad[0]  # exit 3, unwrapped
    assert len(full.stdout.splitlines()) < 63 + 8  # one line per row
    narrow = _bare("workflow", "status", "wf", columns="70")
    assert max(len(line) for line in narrow.stdout.splitlines()) <= 70


def test_a_killed_coordinator_shows_interrupted_with_its_pid_and_runs_are_listed(
        home: Path, write_workflow) -> None:
    path = write_workflow("workflow:\n  nodes:\n    a: {exec: 'true'}\n    b: {exec: 'sleep 6'}\n"
                          "  dependencies: ['a,b']\n")
    assert hflow("workflow", "run", str(path), "-q").returncode == 0
    coordinator = subprocess.Popen([*HFLOW, "workflow", "run", "wf", "--force", "-q"], stdout=subprocess.DEVNULL)
    _wait_for(lambda: json.loads(hflow("workflow", "status", "wf", "-o", "json").stdout)["state"] == "running",
              what="the run to start")
    coordinator.send_signal(signal.SIGKILL)
    coordinator.wait()
    status = hflow("workflow", "status", "wf")
    assert f"interrupted (coordinator pid {coordinator.pid} died" in status.stdout
    assert json.loads(hflow("workflow", "status", "wf", "-o", "json").stdout)["state"] == "interrupted"
    listed = hflow("workflow", "runs", "wf")
    assert f"interrupted (pid {coordinator.pid} died)" in listed.stdout and "failed" not in listed.stdout
    assert "(cli)" in listed.stdout and "rerun=force" in listed.stdout
    resumed = hflow("workflow", "run", "wf", "-q")  # the same run, resumed: it ends done
    assert resumed.returncode == 0, resumed.stderr
    runs = hflow("workflow", "runs", "wf").stdout
    assert "interrupted" not in runs and runs.count("done") >= 2


def test_jobs_not_started_in_a_canceled_run_show_no_attempt_or_host_of_the_last(
        home: Path, write_workflow) -> None:
    path = write_workflow("workflow:\n  nodes:\n    a: {exec: 'sleep 0.2'}\n    b: {exec: 'true'}\n"
                          "  dependencies: ['a,b']\n")
    assert hflow("workflow", "run", str(path), "-q").returncode == 0
    before = hflow("workflow", "status", "wf").stdout
    assert [line.split()[4] for line in before.splitlines() if line.strip().startswith("b ")] == ["localhost"]
    path.write_text("workflow:\n  nodes:\n    a: {exec: 'sleep 30'}\n    b: {exec: 'true'}\n"
                    "  dependencies: ['a,b']\n")
    coordinator = subprocess.Popen([*HFLOW, "workflow", "run", str(path), "-q"], stdout=subprocess.DEVNULL)
    _wait_for(lambda: "running" in hflow("workflow", "status", "wf").stdout, what="a to run")
    coordinator.send_signal(signal.SIGINT)
    assert coordinator.wait(30) == 130
    rows = {line.split()[0]: line.split() for line in hflow("workflow", "status", "wf").stdout.splitlines()
            if line.strip().startswith(("a ", "b "))}
    assert rows["a"][1] == "canceled" and rows["b"][1] in ("canceled", "ready", "skipped")
    assert "localhost" not in rows["b"] and "1" not in rows["b"][2:]  # b never started in this run
