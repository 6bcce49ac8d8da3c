"""A published workflow with parameters: the JSON body's values replace its top-level
variables, ``constants`` and ``experiments``; the call is a run of it; its result the
named outputs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from servicesupport import LiveService, env_home, live_service

API = "/api/v1/services"

WORKFLOW = """
greeting: hello
workflow:
  nodes:
    make:
      experiments: {n: [1, 2]}
      constants: {word: x}
      exec: echo "{greeting} {word} {n}" > "$HF_OUTPUT_DIR/out.txt"
    total:
      call: wfmod:total
      constants: {scale: 2}
      kwargs: {greeting: "{greeting}", scale: "{scale}"}
  dependencies: [make,total]
"""

MODULE = '''
def total(greeting, scale):
    return f"{greeting}*{int(scale)}"
'''


@pytest.fixture(scope="module")
def svc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveService, Path]]:
    root = tmp_path_factory.mktemp("wfsvc")
    folder = root / "project"
    folder.mkdir()
    (folder / "sweep.yaml").write_text(textwrap.dedent(WORKFLOW).lstrip())
    (folder / "wfmod.py").write_text(textwrap.dedent(MODULE))
    with env_home(root / "home"), live_service(root / "home") as live:
        yield live, folder


@pytest.fixture
def admin(svc: tuple[LiveService, Path]) -> Iterator[httpx.Client]:
    with svc[0].client() as http:
        yield http


def test_publish_describes_the_parameters(admin: httpx.Client, svc: tuple[LiveService, Path]) -> None:
    published = admin.post(API, json={"workflow": str(svc[1] / "sweep.yaml"), "name": "compare"})
    assert published.status_code == 201, published.text
    params = {p["name"]: p for p in published.json()["parameters"]}
    assert set(params) == {"greeting", "n", "word", "scale"}
    assert params["greeting"]["default"] == "hello" and params["n"]["default"] == [1, 2]
    assert not any(p["required"] for p in params.values())
    assert f"{API}/compare/calls" in admin.get("/openapi.json").json()["paths"]


def test_a_call_runs_the_workflow_with_the_given_values(admin: httpx.Client, svc: tuple[LiveService, Path]) -> None:
    answer = admin.post(f"{API}/compare/calls", json={"greeting": "hi", "n": [1, 2, 3], "scale": 3},
                        params={"wait": 60})
    assert answer.status_code == 200, answer.text
    data = answer.json()
    assert data["state"] == "done", data
    assert data["result"]["values"] == {"total": "hi*3"}
    run = admin.get(f"/api/v1/workflows/{data['id']}", params={"fresh": True}).json()
    jobs = sorted(job["name"] for job in run["jobs"])
    assert jobs == ["make-n_1", "make-n_2", "make-n_3", "total"]
    written = (svc[1] / "make" / "n=3" / "out.txt").read_text()
    assert written.strip() == "hi x 3"
    again = admin.post(f"{API}/compare/calls", json={}, params={"wait": 60}).json()
    assert again["state"] == "done", _diagnose(admin, svc[0], again)
    assert again["result"]["values"] == {"total": "hello*2"} and again["id"] != data["id"]


def _diagnose(admin: httpx.Client, live: LiveService, answer: dict[str, object]) -> str:
    """What a call that did not finish left behind: its answer with the jobs' log, and its
    coordinators' output."""
    read = admin.get(f"{API}/compare/calls/{answer['id']}", params={"log": True}).json()
    outputs = "\n".join(f"{path.name}: {path.read_text()}" for path in (live.home / "service" / "runs").glob("*.log"))
    return f"{read}\n{outputs}"


def test_wrong_parameters_are_refused_naming_them(admin: httpx.Client) -> None:
    typo = admin.post(f"{API}/compare/calls", json={"greting": "x"})
    assert typo.status_code == 422 and "greting" in typo.json()["detail"]
    assert "did you mean 'greeting'" in typo.json()["detail"]
    wrong = admin.post(f"{API}/compare/calls", json={"scale": "big"})
    assert wrong.status_code == 422 and wrong.json()["detail"].startswith("scale: ")


def test_publish_and_call_a_workflow_from_the_cli(svc: tuple[LiveService, Path]) -> None:
    live, folder = svc
    env = {**os.environ, "HYBRIDFLOW_HOME": str(live.home)}

    def hflow(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-c", "from hybridflow.cli import main; main()", *args], cwd=folder,
                              capture_output=True, text=True, timeout=120, env=env, check=False)

    published = hflow("service", "publish", "sweep.yaml", "--name", "compare-cli")
    assert published.returncode == 0 and "compare-cli" in published.stdout, published.stderr
    called = hflow("service", "call", "compare-cli", "greeting=yo", "n=[5]", "--url", live.url, "--token", live.token)
    assert called.returncode == 0, called.stderr
    assert json.loads(called.stdout)["values"] == {"total": "yo*2"}
    missing = hflow("service", "publish", "nothere.yaml")
    assert missing.returncode == 2 and "no workflow file 'nothere.yaml'" in missing.stderr


def test_a_call_is_not_done_before_its_coordinator_is(admin: httpx.Client, svc: tuple[LiveService, Path]) -> None:
    """A run's end is written before its coordinator lets go (here a notification hook
    keeps it 2 s); until then the call is running, so a waiting client gets the outcome,
    not an answer that says done without a result."""
    folder = svc[1]
    (folder / "slow-end.yaml").write_text(
        "notify: {command: 'sleep 2', on: [workflow]}\n"
        "workflow:\n  nodes:\n    total: {call: 'wfmod:total', kwargs: {greeting: hey, scale: 4}}\n")
    published = admin.post(API, json={"workflow": str(folder / "slow-end.yaml"), "name": "slow-end"})
    assert published.status_code in (200, 201), published.text
    answer = admin.post(f"{API}/slow-end/calls", json={}, params={"wait": 60}).json()
    assert answer["state"] == "done" and answer["result"] == {"values": {"total": "hey*4"}, "files": []}, answer
