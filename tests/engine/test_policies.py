"""Job policies on the real local host: retries, timeouts, deadline, reruns, notifications."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import psutil
import pytest

from hybridflow import JobState, Workflow, WorkflowState
from hybridflow.errors import SpecError

from support import hflow


def test_flaky_job_succeeds_on_second_attempt_with_own_records(home: Path, write_workflow) -> None:
    wf = Workflow.load(
        write_workflow(
            """
            workflow:
              nodes:
                flaky:
                  exec: 'echo try $HF_ATTEMPT; if [ -e flag ]; then exit 0; fi; touch flag; exit 3'
                  retries: 2
                  retry_on: [exit]
                  retry_delay: 0.2s
                after: {exec: 'true'}
              dependencies: ['flaky,after']
            """
        )
    )
    assert wf.run() is WorkflowState.DONE
    job = wf.status().jobs["flaky"]
    assert (job.state, job.attempt) == (JobState.DONE, 2)
    attempts = wf.store.attempts(wf.name, "flaky")
    assert [(a.number, a.state, a.exit_code) for a in attempts] == [(1, JobState.FAILED, 3), (2, JobState.DONE, 0)]
    run_dir = Path(wf.status().run_dir)
    assert (run_dir / "flaky.log").read_text() == "try 1\n"
    assert (run_dir / "flaky.attempt2.log").read_text() == "try 2\n"
    states = [e["state"] for e in wf.store.events(wf.name) if e["job"] == "flaky" and e["kind"] == "state"]
    assert "retrying" in states


def test_nonzero_exit_is_not_retried_unless_asked(home: Path, write_workflow) -> None:
    wf = Workflow.load(write_workflow("workflow:\n  nodes:\n    a: {exec: 'exit 1', retries: 3, retry_delay: 0}\n"))
    assert wf.run() is WorkflowState.FAILED
    assert len(wf.store.attempts(wf.name, "a")) == 1


def test_retry_backoff_is_exponential_with_cap() -> None:
    from hybridflow.retry import JobPolicy

    policy = JobPolicy(retries=5, retry_delay=10, retry_max_delay=35, retry_on=frozenset({"exit"}))
    assert [policy.delay(n) for n in range(4)] == [10, 20, 35, 35]
    assert policy.allows_retry("exit", 4) and not policy.allows_retry("exit", 5)
    assert not policy.allows_retry("lost", 0)
    assert JobPolicy().allows_retry("lost", 1) and not JobPolicy().allows_retry("exit", 0)


def test_hanging_job_hit_by_timeout_kills_process_group(home: Path, write_workflow) -> None:
    path = write_workflow(
        """
        workflow:
          nodes:
            hang: {exec: 'sleep 60 & echo $! > child.pid; wait', timeout: 1s}
            after: {exec: 'true'}
          dependencies: ['hang,after']
        """
    )
    started = time.monotonic()
    result = hflow("workflow", "run", str(path), "--quiet")
    assert result.returncode == 1
    assert time.monotonic() - started < 20
    status = {j["name"]: j for j in json.loads(hflow("workflow", "status", "wf", "-o", "json").stdout)["jobs"]}
    assert status["hang"]["state"] == "timeout"
    assert status["after"]["state"] == "skipped"
    child = int((path.parent / "child.pid").read_text())
    deadline = time.monotonic() + 10
    while psutil.pid_exists(child) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not psutil.pid_exists(child)


def test_workflow_deadline_stops_the_run(home: Path, write_workflow) -> None:
    wf = Workflow.load(
        write_workflow("deadline: 1s\nworkflow:\n  nodes:\n    slow: {exec: 'sleep 30'}\n    next: {exec: 'true'}\n"
                       "  dependencies: ['slow,next']\n")
    )
    started = time.monotonic()
    assert wf.run() is WorkflowState.FAILED
    assert time.monotonic() - started < 15
    jobs = wf.status().jobs
    assert jobs["slow"].state is JobState.TIMEOUT and "deadline" in jobs["slow"].message
    assert jobs["next"].state is JobState.SKIPPED


def test_bad_policy_values_are_spec_errors(home: Path, write_workflow) -> None:
    with pytest.raises(SpecError, match=r"job 'a': field 'timeout': 'soon' is not a duration"):
        Workflow.load(write_workflow("workflow:\n  nodes:\n    a: {exec: 'true', timeout: soon}\n"))
    with pytest.raises(SpecError, match=r"field 'retry_on': unknown failure kind 'oops'"):
        Workflow.load(write_workflow("retry_on: [oops]\nworkflow:\n  nodes:\n    a: {exec: 'true'}\n"))


CHAIN = """
workflow:
  nodes:
    a: {script: a.sh}
    b: {script: b.sh}
    c: {exec: 'echo c >> runs.txt'}
  dependencies: ['a,b,c']
"""


def _runs(folder: Path) -> list[str]:
    """What the jobs appended to runs.txt in the workflow's folder (where local jobs run)."""
    return (folder / "runs.txt").read_text().split()


def test_rerun_reuses_unchanged_jobs_and_reruns_changed_ones(home: Path, write_workflow) -> None:
    path = write_workflow(CHAIN, a__sh="echo a >> runs.txt\n", b__sh="echo b >> runs.txt\n")
    assert hflow("workflow", "run", str(path), "-q").returncode == 0
    assert _runs(path.parent) == ["a", "b", "c"]
    (path.parent / "b.sh").write_text("echo b >> runs.txt  # changed\n")
    again = hflow("workflow", "run", "wf", "-q")
    assert again.returncode == 0
    assert "reused (succeeded before, unchanged): a" in again.stdout
    assert _runs(path.parent) == ["a", "b", "c", "b", "c"]
    unchanged = hflow("workflow", "run", "wf", "-q")
    assert "reused (succeeded before, unchanged): a, b, c" in unchanged.stdout
    assert _runs(path.parent) == ["a", "b", "c", "b", "c"]
    assert hflow("workflow", "run", "wf", "-q", "--from", "b").returncode == 0
    assert _runs(path.parent)[5:] == ["b", "c"]
    assert hflow("workflow", "run", "wf", "-q", "--force").returncode == 0
    assert _runs(path.parent)[7:] == ["a", "b", "c"]


def test_rerun_failed_runs_only_failed_and_dependents(home: Path, write_workflow) -> None:
    path = write_workflow(CHAIN.replace("{script: b.sh}", "{script: b.sh}\n    d: {exec: 'echo d >> runs.txt'}"),
                          a__sh="echo a >> runs.txt\n", b__sh="echo b >> runs.txt; test -e ok\n")
    assert hflow("workflow", "run", str(path), "-q").returncode == 1
    assert sorted(_runs(path.parent)) == ["a", "b", "d"]
    (path.parent / "ok").touch()
    (path.parent / "a.sh").write_text("echo a >> runs.txt  # changed, but --rerun-failed ignores it\n")
    assert hflow("workflow", "run", "wf", "-q", "--rerun-failed").returncode == 0
    assert sorted(_runs(path.parent)[3:]) == ["b", "c"]


class _Hook(BaseHTTPRequestHandler):
    received: list[dict] = []

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        body = self.rfile.read(int(self.headers["content-length"]))
        _Hook.received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_notifications_webhook_and_command_failures_not_fatal(home: Path, write_workflow, tmp_path: Path) -> None:
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    events = tmp_path / "events.txt"
    try:
        wf = Workflow.load(
            write_workflow(
                f"""
                notify:
                  webhook: http://127.0.0.1:{server.server_port}/hook
                  command: 'echo "$HF_EVENT $HF_JOB $HF_STATE" >> {events}; exit 5'
                workflow:
                  nodes:
                    ok: {{exec: 'true'}}
                    bad: {{exec: 'exit 2'}}
                """
            )
        )
        assert wf.run() is WorkflowState.FAILED
    finally:
        server.shutdown()
    seen = {(e["event"], e["job"], e["state"]) for e in _Hook.received}
    assert {("job", "ok", "done"), ("job", "bad", "failed"), ("workflow", None, "failed")} <= seen
    assert next(e for e in _Hook.received if e["job"] == "bad")["exit_code"] == 2
    lines = set(events.read_text().splitlines())
    assert {"job ok done", "job bad failed", "workflow  failed"} <= lines


def test_unreachable_webhook_is_logged_not_fatal(home: Path, write_workflow, caplog) -> None:
    wf = Workflow.load(
        write_workflow("notify: {webhook: 'http://127.0.0.1:9/none'}\nworkflow:\n  nodes:\n    a: {exec: 'true'}\n")
    )
    assert wf.run() is WorkflowState.DONE
    assert any("webhook" in r.message and "failed" in r.message for r in caplog.records)
