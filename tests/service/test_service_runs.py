"""``POST .../run`` and ``hflow workflow run`` go through one entry point with one set of
exit codes (issue 11): options the coordinator cannot honour are refused up front on
both sides, never answered 202 while the coordinator exits with a usage error."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from hybridflow.api import Workflow, open_store
from hybridflow.coordinator import ExitCode, RequestError, RunRequest
from hybridflow.rerun import RerunMode

from servicesupport import LiveService, wait_for, wait_idle

COORDINATOR = [sys.executable, "-c", "from hybridflow.coordinator import main; main()"]
CHAIN = b"workflow:\n  nodes:\n    a: {exec: 'echo a >> runs.txt'}\n    b: {exec: 'echo b >> runs.txt'}\n" \
        b"  dependencies: ['a,b']\n"


def _add(client: httpx.Client, name: str, text: bytes = CHAIN) -> None:
    created = client.post("/api/v1/workflows", content=text, params={"name": name},
                          headers={"Content-Type": "application/yaml"})
    assert created.status_code == 201, created.text


def _runs(service: LiveService, name: str) -> list[str]:
    folder = Path(Workflow(name, store=open_store(service.home)).spec.base_dir)  # the upload's folder: jobs run in it
    return (folder / "runs.txt").read_text().split()


def _coordinator(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*COORDINATOR, *args], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "HYBRIDFLOW_HOME": str(home)})


def test_resume_false_is_refused_422_and_starts_nothing(client: httpx.Client) -> None:
    _add(client, "noresume")
    answer = client.post("/api/v1/workflows/noresume/run", json={"resume": False})
    assert answer.status_code == 422, answer.text
    assert "resume cannot be turned off" in answer.json()["detail"] and "\n" not in answer.json()["detail"]
    detail = client.get("/api/v1/workflows/noresume", params={"fresh": "true"}).json()
    assert detail["state"] == "defined" and not detail["running"]


def test_run_options_are_the_cli_options(client: httpx.Client, service: LiveService) -> None:
    _add(client, "opts")
    assert client.post("/api/v1/workflows/opts/run", json={"resume": True}).status_code == 202
    assert wait_idle(client, "opts")["state"] == "done"
    assert _runs(service, "opts") == ["a", "b"]
    assert client.post("/api/v1/workflows/opts/run", json={}).status_code == 202  # all reused
    wait_idle(client, "opts")
    assert _runs(service, "opts") == ["a", "b"]
    assert client.post("/api/v1/workflows/opts/run", json={"from_jobs": ["b"]}).status_code == 202
    wait_for(lambda: _runs(service, "opts") == ["a", "b", "b"], 60, what="b to run again")
    wait_idle(client, "opts")
    assert client.post("/api/v1/workflows/opts/run", json={"rerun": "force", "sequential": True}).status_code == 202
    wait_for(lambda: _runs(service, "opts") == ["a", "b", "b", "a", "b"], 60, what="a forced run")
    wait_idle(client, "opts")
    for body, words in [({"from_jobs": ["ghost"]}, "unknown job 'ghost'"),
                        ({"rerun": "force", "from_jobs": ["a"]}, "only one of"),
                        ({"rerun": "sometimes"}, "rerun"),
                        ({"from_jobs": ["../x"]}, "from_jobs")]:
        answer = client.post("/api/v1/workflows/opts/run", json=body)
        assert answer.status_code == 422 and words in answer.json()["detail"], (body, answer.text)
    assert _runs(service, "opts") == ["a", "b", "b", "a", "b"]
    assert client.post("/api/v1/workflows/ghost/run", json={}).status_code == 404


def test_request_round_trips_and_refuses_what_cannot_run(tmp_path: Path) -> None:
    request = RunRequest("wf", rerun=RerunMode.FAILED, workdir=tmp_path, sequential=True)
    assert RunRequest.from_json(request.to_json()) == request
    assert RunRequest.from_json('{"workflow": "wf", "from_jobs": ["a", "b"]}').from_jobs == ("a", "b")
    for text in ['{"workflow": "wf", "no_resume": true}', '{"workflow": "wf", "resume": false}',
                 '{"workflow": "wf", "sequential": "yes"}', '{"workflow": ""}', "[1]", "not json",
                 '{"workflow": "wf", "from_jobs": "a"}', '{"workflow": "wf", "rerun": "force", "from_jobs": ["a"]}']:
        with pytest.raises(RequestError):
            RunRequest.from_json(text)
    assert [int(code) for code in (ExitCode.OK, ExitCode.FAILED, ExitCode.USAGE, ExitCode.CANCELED)] == [0, 1, 2, 130]
    assert ExitCode.INVALID is ExitCode.USAGE and ExitCode.ERROR is ExitCode.FAILED


def test_coordinator_process_exit_codes(client: httpx.Client, service: LiveService) -> None:
    """The child the service starts: one line on stderr and an ExitCode, never a traceback."""
    _add(client, "child", b"workflow:\n  nodes:\n    a: {exec: 'exit 3'}\n")
    cases = [
        ((), ExitCode.USAGE, "usage"),
        (("{bad json",), ExitCode.USAGE, "not JSON"),
        (('{"workflow": "child", "resume": false}',), ExitCode.USAGE, "resume cannot be turned off"),
        (('{"workflow": "nowhere"}',), ExitCode.ERROR, "no workflow named 'nowhere'"),
        ((json.dumps({"workflow": "child"}),), ExitCode.FAILED, None),
    ]
    for args, code, words in cases:
        result = _coordinator(service.home, *args)
        assert result.returncode == code, (args, result.stderr)
        assert "Traceback" not in result.stderr
        if words:
            assert result.stderr.count("\n") == 1 and result.stderr.startswith("error:") and words in result.stderr
        else:
            assert result.stdout.strip() == "child: failed"


def test_cli_run_has_no_resume_option_and_reports_busy(client: httpx.Client, service: LiveService) -> None:
    env = {**os.environ, "HYBRIDFLOW_HOME": str(service.home)}
    hflow = [sys.executable, "-c", "from hybridflow.cli import main; main()"]
    _add(client, "busy", b"workflow:\n  nodes:\n    a: {exec: 'sleep 30'}\n")
    no_option = subprocess.run([*hflow, "workflow", "run", "busy", "--resume"], capture_output=True, text=True,
                               env=env, timeout=60)
    assert no_option.returncode == ExitCode.USAGE and "--resume" in no_option.stderr
    assert client.post("/api/v1/workflows/busy/run", json={}).status_code == 202
    second = subprocess.run([*hflow, "workflow", "run", "busy", "-q"], capture_output=True, text=True, env=env,
                            timeout=60)
    assert second.returncode == ExitCode.BUSY, second.stderr
    assert "already being run" in second.stderr and second.stderr.count("\n") == 1
    assert client.post("/api/v1/workflows/busy/run", json={}).status_code == 409
    assert client.post("/api/v1/workflows/busy/cancel").json()["running"] is True
    assert wait_idle(client, "busy", 30)["state"] == "canceled"
