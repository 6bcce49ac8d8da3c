"""Helpers for the testbed tests (importable as ``hostsupport``)."""

from __future__ import annotations

import os
import shlex
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[3] / "shared"
TESTBED_DIR = Path(os.environ.get("TESTBED_DIR", "/tmp/testbed"))
VENV = Path(os.environ.get("HYBRIDFLOW_TESTBED_VENV", "/opt/hybridflow-testbed/venv"))

#: node keys that put a job on each kind of the conformance suite
KINDS: dict[str, dict[str, str]] = {
    "local": {"kind": "local"},
    "ssh": {"kind": "ssh", "host": "testbed"},
    "slurm": {"kind": "slurm"},
    "slurm-ssh": {"kind": "slurm", "host": "cluster"},
    # without the testbed: stand-ins for wsl.exe and for Slurm's and LSF's commands
    "wsl": {"kind": "wsl", "host": "wslbox"},
    "lsf": {"kind": "lsf"},
    "slurm-fake": {"kind": "slurm"},
}
#: the kinds that need the real SSH server and Slurm cluster
TESTBED_KINDS = frozenset({"ssh", "slurm", "slurm-ssh"})

#: stand-in for wsl.exe: ``wsl.exe [-d DISTRO] [-u USER] --exec PROGRAM ARGS...``
FAKE_WSL = """#!/bin/bash
echo "$1 $2 $3" >> "$(dirname "$0")/calls.txt"
while [ "$1" != "--exec" ]; do shift; done
shift
exec "$@"
"""


@dataclass(frozen=True)
class Testbed:
    __test__ = False  # not a test class

    dir: Path
    ssh_host: str
    ssh_port: int
    ssh_user: str
    ssh_key: str
    known_hosts: str
    ssh_config: str
    partition: str
    accounting: bool

    def ssh(self, command: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
        """Run a command line as the SSH user with OpenSSH (independent of hybridflow)."""
        return subprocess.run(["ssh", "-F", self.ssh_config, "testbed", command], capture_output=True,
                              text=True, timeout=timeout)

    def start(self) -> None:
        """(Re)start whatever daemon of the testbed is not running (idempotent)."""
        subprocess.run([str(SHARED / "testbed" / "start-testbed")], check=True, capture_output=True, timeout=300)

    def pid(self, daemon: str) -> int:
        return int((self.dir / "run" / f"{daemon}.pid").read_text().strip())


def read_env(path: Path) -> dict[str, str]:
    """``export KEY=VALUE`` lines of a shell file (comments allowed)."""
    env: dict[str, str] = {}
    for line in path.read_text().splitlines():
        words = shlex.split(line, comments=True)
        if len(words) >= 2 and words[0] == "export" and "=" in words[1]:
            key, _, value = words[1].partition("=")
            env[key] = value
    return env


def wait_for(predicate: Callable[[], object], timeout: float, what: str, interval: float = 0.2) -> object:
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")


def stop_daemon(testbed: Testbed, daemon: str, *, with_children: bool = False) -> None:
    """Stop one daemon of the testbed by its recorded PID (and, for sshd, its connections,
    so that established sessions drop too); wait until it is gone."""
    import psutil

    proc = psutil.Process(testbed.pid(daemon))
    victims = (proc.children() if with_children else []) + [proc]
    for victim in victims:
        try:
            victim.terminate()
        except psutil.NoSuchProcess:
            continue
    _, alive = psutil.wait_procs(victims, timeout=15)
    for victim in alive:
        victim.kill()
