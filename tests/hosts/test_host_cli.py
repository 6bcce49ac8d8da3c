"""``hflow host list`` and ``hflow host check`` through the real entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from support import hflow

pytestmark = pytest.mark.testbed


def test_host_list_shows_the_hosts_file(hosts_file: Path) -> None:
    result = hflow("host", "list", "--output", "json")
    assert result.returncode == 0, result.stderr
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert rows["cluster"]["kind"] == "slurm" and rows["cluster"]["options"]["partition"] == "debug"
    assert rows["testbed"]["port"] > 0
    table = hflow("host", "list")
    assert "testbed" in table.stdout and "cluster" in table.stdout


def test_host_check_reports_ssh_slurm_and_latency(hosts_file: Path) -> None:
    result = hflow("host", "check", "cluster")
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "ssh" in out and "ms per command" in out
    assert "sbatch" in out and "slurm" in out.lower() and "squeue" in out
    assert "writable" in out


def test_host_check_of_unreachable_or_unknown_host_fails(hosts_file: Path, home: Path) -> None:
    (home / "hosts.yaml").write_text(hosts_file.read_text() + "  dead: {address: 127.0.0.1, port: 1}\n")
    result = hflow("host", "check", "dead")
    assert result.returncode == 1
    assert "cannot connect" in result.stdout
    unknown = hflow("host", "check", "nowhere")
    assert unknown.returncode == 1 and "unknown host 'nowhere'" in unknown.stderr
