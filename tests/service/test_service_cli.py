"""``hflow service ...`` and ``hflow workflow service ...`` through the real entry point."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx
import pytest

from hybridflow.service import daemon


def hflow(home: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HYBRIDFLOW_HOME": str(home), "COLUMNS": "200"}
    env.pop("HYBRIDFLOW_SERVICE_TOKEN", None)
    env.pop("HYBRIDFLOW_SERVICE_URL", None)
    return subprocess.run([sys.executable, "-c", "from hybridflow.cli import main; main()", *args],
                          capture_output=True, text=True, timeout=timeout, env=env, check=False)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    yield path
    daemon.stop(path)


def test_service_lifecycle_and_remote_workflow_verbs(home: Path, tmp_path: Path) -> None:
    assert hflow(home, "service", "status").returncode == 1
    started = hflow(home, "service", "start", "--port", "0")
    assert started.returncode == 0, started.stderr
    record = daemon.read_record(home)
    assert record and record.url in started.stdout
    token = hflow(home, "service", "token").stdout.strip()
    assert token == (home / "service-token").read_text().strip()
    status = hflow(home, "service", "status")
    assert status.returncode == 0 and "running at" in status.stdout and "0 workflows" in status.stdout
    assert f"{record.url}/docs" in hflow(home, "service", "doc").stdout
    for path in ("/api/v1/service", "/login", "/no-such-page"):  # the real server names no software
        answer = httpx.get(f"{record.url}{path}", headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert "server" not in answer.headers, (path, answer.headers)
    assert hflow(home, "service", "start", "--port", "0").returncode == 1  # already running

    folder = tmp_path / "proj"
    folder.mkdir()
    (folder / "hello.sh").write_text("echo hello from script\n")
    (folder / "proj.yaml").write_text(textwrap.dedent("""
        workflow:
          nodes:
            hello: {script: hello.sh}
            bye: {exec: "echo bye"}
          dependencies: ["hello,bye"]
    """))
    plain = hflow(home, "workflow", "service", "add", str(folder / "proj.yaml"))  # stored, its script missing
    assert plain.returncode == 0 and "warning:" in plain.stderr and "--bundle" in plain.stderr
    added = hflow(home, "workflow", "service", "add", str(folder / "proj.yaml"), "--bundle", "--replace")
    assert added.returncode == 0, added.stderr
    assert "added workflow proj (2 jobs)" in added.stdout
    listed = hflow(home, "workflow", "service", "list")
    assert "proj" in listed.stdout
    ran = hflow(home, "workflow", "service", "run", "proj", "--wait")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "done" in ran.stdout
    as_json = json.loads(hflow(home, "workflow", "service", "status", "proj", "-o", "json").stdout)
    assert {j["name"]: j["state"] for j in as_json["jobs"]} == {"hello": "done", "bye": "done"}
    local = hflow(home, "workflow", "status", "proj", "-o", "json")  # the CLI reads the same store
    assert json.loads(local.stdout)["state"] == "done"
    assert hflow(home, "workflow", "service", "delete", "proj").returncode == 0
    missing = hflow(home, "workflow", "service", "status", "proj")
    assert missing.returncode == 1 and "no workflow named 'proj'" in missing.stderr

    stopped = hflow(home, "service", "stop")
    assert stopped.returncode == 0 and "stopped" in stopped.stdout
    assert daemon.read_record(home) is None
    gone = hflow(home, "workflow", "service", "list", "--url", record.url)
    assert gone.returncode == 1 and "no service answers" in gone.stderr
