"""Fixtures for tests against the real SSH/Slurm testbed (../shared/testbed).

``testbed`` reads ``/tmp/testbed/env.sh`` (``$TESTBED_DIR``) and checks that sshd and
slurmctld answer. When they do not, tests *fail* under CI (``$CI`` set) and are skipped
elsewhere, so that a missing testbed never passes silently in CI.

``remote_python`` is a world-readable virtual environment with nbclient + ipykernel
(``/opt/hybridflow-testbed/venv``, built once with the system Python, reused after), since
the SSH user cannot read root's Python.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

import fakebatch
from hostsupport import FAKE_WSL, KINDS, TESTBED_DIR, TESTBED_KINDS, VENV, Testbed, read_env


def _problem() -> str | None:
    env_file = TESTBED_DIR / "env.sh"
    if not env_file.is_file():
        return f"no {env_file}: start the testbed with ../shared/testbed/start-testbed"
    env = read_env(env_file)
    try:
        with socket.create_connection((env["TESTBED_SSH_HOST"], int(env["TESTBED_SSH_PORT"])), timeout=3):
            pass
    except (OSError, KeyError) as exc:
        return f"testbed sshd not reachable ({exc}): run ../shared/testbed/start-testbed"
    ping = subprocess.run(["scontrol", "ping"], capture_output=True, text=True, timeout=20)
    if "UP" not in ping.stdout:
        return f"testbed slurmctld not answering: {ping.stdout.strip()} {ping.stderr.strip()}"
    return None


@pytest.fixture(scope="session")
def testbed() -> Testbed:
    problem = _problem()
    if problem:
        if os.environ.get("CI"):
            pytest.fail(f"testbed missing in CI: {problem}")
        pytest.skip(problem)
    env = read_env(TESTBED_DIR / "env.sh")
    return Testbed(
        dir=TESTBED_DIR,
        ssh_host=env["TESTBED_SSH_HOST"],
        ssh_port=int(env["TESTBED_SSH_PORT"]),
        ssh_user=env["TESTBED_SSH_USER"],
        ssh_key=env["TESTBED_SSH_KEY"],
        known_hosts=env["TESTBED_SSH_KNOWN_HOSTS"],
        ssh_config=env["TESTBED_SSH_CONFIG"],
        partition=env.get("TESTBED_SLURM_PARTITION", "debug"),
        accounting=bool(env.get("TESTBED_SLURM_ACCOUNTING")),
    )


@pytest.fixture(scope="session")
def remote_python(testbed: Testbed) -> str:
    """A Python with nbclient + ipykernel that the SSH user can run (built once)."""
    python = VENV / "bin" / "python"
    check = [str(python), "-c", "import nbclient, nbformat, ipykernel"]
    if python.exists() and subprocess.run(check, capture_output=True).returncode == 0:
        return str(python)
    base = "/usr/bin/python3" if Path("/usr/bin/python3").exists() else sys.executable
    subprocess.run([base, "-m", "venv", "--clear", str(VENV)], check=True, capture_output=True, timeout=300)
    subprocess.run([str(python), "-m", "pip", "install", "-q", "nbclient", "nbformat", "ipykernel"],
                   check=True, capture_output=True, timeout=600)
    subprocess.run(["chmod", "-R", "a+rX", str(VENV.parent)], check=True)
    for parent in VENV.parents:  # the SSH user must be able to walk to it
        if parent == Path("/"):
            break
        parent.chmod(parent.stat().st_mode | 0o005)
    return str(python)


@pytest.fixture
def hosts_file(home: Path, testbed: Testbed, remote_python: str) -> Path:
    """``$HYBRIDFLOW_HOME/hosts.yaml`` describing the testbed: ``testbed`` (ssh),
    ``cluster`` (Slurm on the same machine reached over SSH) and ``localhost`` (Slurm here)."""
    ssh = {
        "address": testbed.ssh_host,
        "port": testbed.ssh_port,
        "user": testbed.ssh_user,
        "identity": testbed.ssh_key,
        "known_hosts": testbed.known_hosts,
        "python": remote_python,
        "workdir": f"~/.hybridflow-tests/{uuid.uuid4().hex[:12]}",  # fresh run dirs per test
    }
    hosts = {
        "testbed": {**ssh, "kind": "ssh", "poll_interval": 0.5},
        "cluster": {**ssh, "kind": "slurm", "partition": testbed.partition, "poll_interval": 1,
                    "min_poll_gap": 0.5},
        "localhost": {"partition": testbed.partition, "poll_interval": 1, "min_poll_gap": 0.5,
                      "python": sys.executable},
    }
    home.mkdir(parents=True, exist_ok=True)
    path = home / "hosts.yaml"
    path.write_text(yaml.safe_dump({"hosts": hosts}))
    return path


@pytest.fixture(params=[pytest.param(k, marks=pytest.mark.testbed) if k in TESTBED_KINDS else k for k in KINDS])
def kind(request: pytest.FixtureRequest, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each kind of the conformance suite, set up: the testbed's hosts file for the real
    ones; for the others a hosts file naming the stand-ins, and ``PATH`` leading to them."""
    name = str(request.param)
    if name in TESTBED_KINDS:
        request.getfixturevalue("hosts_file")
    elif name != "local":
        tools = tmp_path / "fake-tools"
        for key, value in fakebatch.install(tools / "bin", tools / "jobs").items():
            monkeypatch.setenv(key, value)
        wsl = tools / "bin" / "wsl.exe"
        wsl.write_text(FAKE_WSL)
        wsl.chmod(0o755)
        quick = {"poll_interval": 0.5, "min_poll_gap": 0.3, "python": sys.executable}
        hosts = {
            "wslbox": {"kind": "wsl", "wsl_exe": str(wsl), "workdir": str(tmp_path / "wsl-home"), **quick},
            "localhost": quick,
        }
        home.mkdir(parents=True, exist_ok=True)
        (home / "hosts.yaml").write_text(yaml.safe_dump({"hosts": hosts}))
    return name


@pytest.fixture
def make_workflow(tmp_path: Path) -> Callable[..., Path]:
    """Write ``wf.yaml`` from a nodes mapping (+ dependencies) and script files."""

    def make(nodes: dict, dependencies: list[str] | None = None, name: str = "wf", **files: str) -> Path:
        folder = tmp_path / name
        folder.mkdir(exist_ok=True)
        for filename, content in files.items():
            (folder / filename.replace("__", ".")).write_text(textwrap.dedent(content))
        doc = {"name": name, "workflow": {"nodes": nodes, "dependencies": dependencies or []}}
        path = folder / f"{name}.yaml"
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
        return path

    return make


@pytest.fixture
def slurm_names() -> Iterator[Callable[[], list[str]]]:
    """Job names of every Slurm job the queue still shows (MinJobAge keeps finished ones)."""

    def names() -> list[str]:
        out = subprocess.run(["squeue", "-h", "-t", "all", "-a", "-u", "root,hfuser", "-o", "%j"],
                             capture_output=True, text=True, timeout=30)
        return out.stdout.split()

    yield names
