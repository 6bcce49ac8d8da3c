"""Published functions on the testbed's hosts, and a call that outlives its service.

Real hosts: the SSH one is OpenSSH as hfuser (its own home, no shared filesystem), the
cluster is Slurm reached over that SSH connection. The service that is killed is a real
``hflow service start`` process; its call's coordinator is detached and goes on.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from hybridflow.service import daemon
from hybridflow.store.sqlite import Store

from servicesupport import LiveService, live_service, wait_for

HERE = Path(__file__).resolve().parent
API = "/api/v1/services"

_spec = importlib.util.spec_from_file_location("functions_conftest", HERE.parent / "functions" / "conftest.py")
assert _spec is not None and _spec.loader is not None
_functions = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_functions)
testbed, slurm_names, fn_python, fn_hosts = (_functions.testbed, _functions.slurm_names, _functions.fn_python,
                                             _functions.fn_hosts)


@pytest.fixture
def hosted(home: Path, fn_hosts: Path) -> Iterator[LiveService]:
    with live_service(home) as live:
        yield live


def publish_and_call(live: LiveService, name: str, options: dict[str, object], body: dict[str, object]) -> dict:
    with live.client() as http:
        published = http.post(API, json={"name": name, "function": "svcfuncs:where", "path": str(HERE),
                                         "options": options})
        assert published.status_code == 201, published.text
        answer = http.post(f"{API}/{name}/calls", json=body, params={"wait": 60})
        data = answer.json()
        while not data["done"]:
            data = http.get(f"{API}/{name}/calls/{data['id']}", params={"wait": 30}).json()
        return data


@pytest.mark.testbed
def test_a_function_published_on_the_ssh_host_runs_there(hosted: LiveService, testbed) -> None:  # type: ignore[no-untyped-def]
    data = publish_and_call(hosted, "where-ssh", {"host": "testbed"}, {"x": 21})
    assert data["state"] == "done", data
    value = data["result"]
    assert value["x"] == 42 and value["user"] == testbed.ssh_user
    assert str(value["cwd"]).startswith(f"/home/{testbed.ssh_user}/.hybridflow-tests/")
    assert Path(value["cwd"]).name == data["id"] and testbed.ssh(f"test -d {value['cwd']}").returncode == 0
    calls = hosted.app.state.hf_services.calls
    expired = calls.expire(hosted.app.state.hf.stores.get(), now=time.time() + calls.retention + 1, force=True)
    assert data["id"] in expired
    assert testbed.ssh(f"test -e {value['cwd']}").returncode == 1  # its run directory on the host is gone too


@pytest.mark.testbed
def test_a_function_published_on_slurm_over_ssh_runs_in_a_slurm_job(hosted: LiveService, testbed) -> None:  # type: ignore[no-untyped-def]
    data = publish_and_call(hosted, "where-slurm", {"host": "cluster", "time": "1m"}, {"x": 5})
    assert data["state"] == "done", data
    assert data["result"]["x"] == 10 and data["result"]["user"] == testbed.ssh_user
    assert data["result"]["slurm"], "the call did not run inside a Slurm job"


def _hflow(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HYBRIDFLOW_HOME": str(home)}
    env.pop("HYBRIDFLOW_SERVICE_TOKEN", None)
    return subprocess.run([sys.executable, "-c", "from hybridflow.cli import main; main()", *args],
                          capture_output=True, text=True, timeout=120, env=env, check=False)


def _kill_service_mid_call(home: Path, tmp_path: Path, service: dict[str, object],
                           seen_running: Callable[[Store, str], bool], seconds: float) -> tuple[dict, Store]:
    (tmp_path / "services.yaml").write_text(json.dumps({"retention": "1d", "services": {"slowc": service}}))
    started = _hflow(home, "service", "start", "--port", "0", "--services", str(tmp_path / "services.yaml"))
    assert started.returncode == 0, started.stderr
    assert "published 1 services" in started.stdout
    record = daemon.read_record(home)
    assert record is not None
    token = (home / "service-token").read_text().strip()
    headers = {"Authorization": f"Bearer {token}"}
    answer = httpx.post(f"{record.url}{API}/slowc/calls", json={"seconds": seconds, "x": 41}, headers=headers, timeout=60)
    assert answer.status_code == 202, answer.text
    call_id = answer.json()["id"]
    store = Store(home / "hybridflow.db")
    wait_for(lambda: seen_running(store, call_id), 60, 0.1, "the call to be submitted")
    os.kill(record.pid, signal.SIGKILL)
    wait_for(lambda: not record.alive(), 10, 0.05, "the service to die")
    again = _hflow(home, "service", "start", "--port", "0")
    assert again.returncode == 0, again.stderr
    fresh = daemon.read_record(home)
    assert fresh is not None and fresh.pid != record.pid
    try:
        deadline = time.monotonic() + 180
        data = {"done": False}
        while not data["done"] and time.monotonic() < deadline:
            data = httpx.get(f"{fresh.url}{API}/slowc/calls/{call_id}", params={"wait": 30}, headers=headers,
                             timeout=60).json()
    finally:
        daemon.stop(home)
    return data, store


def test_killing_the_service_mid_call_still_delivers_the_result(home: Path, tmp_path: Path) -> None:
    def running(store: Store, call_id: str) -> bool:
        return bool(store.attempts(call_id))

    data, store = _kill_service_mid_call(home, tmp_path, {"function": "svcfuncs:slow", "path": str(HERE)}, running, 3)
    assert data["state"] == "done" and data["result"] == 42, data
    assert len(store.attempts(data["id"])) == 1


@pytest.mark.testbed
def test_killing_the_service_mid_slurm_call_runs_the_job_once(home: Path, tmp_path: Path, fn_hosts: Path,
                                                             slurm_names) -> None:  # type: ignore[no-untyped-def]
    def submitted(store: Store, call_id: str) -> bool:
        attempts = store.attempts(call_id)
        return bool(attempts and attempts[0].native_id)

    service = {"function": "svcfuncs:slow", "path": str(HERE), "host": "cluster", "time": "2m"}
    data, store = _kill_service_mid_call(home, tmp_path, service, submitted, 6)
    assert data["state"] == "done" and data["result"] == 42, data
    attempts = store.attempts(data["id"])
    assert len(attempts) == 1 and slurm_names().count(attempts[0].token) == 1
