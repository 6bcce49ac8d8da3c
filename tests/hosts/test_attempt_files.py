"""Attempt files are bound to their attempt: a file of another attempt is never evidence.

The scenario of issue 10.1, for every kind: a run leaves ``NAME.exit`` files (status 0);
the workflow is deleted and added again (attempt numbers, hence file names, start over)
with jobs that exit 3; the coordinator is killed (SIGKILL) after the first round of
attempts is recorded and before any of them starts; the re-run must run every job and
report them failed — never ``done`` from the old exit files.
"""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest

from hostsupport import KINDS
from support import hflow

#: jobs per kind (the testbed's Slurm runs two at a time)
SIZES = {"local": 60, "ssh": 12, "slurm": 4, "slurm-ssh": 4, "wsl": 12, "lsf": 12, "slurm-fake": 12}


def _write(make_workflow, kind: str, status: int) -> Path:
    nodes = {f"j{i}": {**KINDS[kind], "exec": f"echo run-{status}; exit {status}"} for i in range(SIZES[kind])}
    return make_workflow(nodes)


def test_stale_exit_files_never_pass_for_a_new_attempt(kind: str, make_workflow, home: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    first = hflow("workflow", "run", str(_write(make_workflow, kind, 0)), "-q", timeout=300)
    assert first.returncode == 0, first.stderr
    assert hflow("workflow", "delete", "wf").returncode == 0
    path = _write(make_workflow, kind, 3)
    monkeypatch.setenv("HYBRIDFLOW_CRASH_AT", "after-record")
    crashed = hflow("workflow", "run", str(path), "-q", timeout=300)
    monkeypatch.delenv("HYBRIDFLOW_CRASH_AT")
    assert crashed.returncode == -signal.SIGKILL, (crashed.returncode, crashed.stderr)
    status = json.loads(hflow("workflow", "status", "wf", "--output", "json").stdout)
    recorded = [job for job in status["jobs"] if job["state"] == "submitted"]
    assert recorded, "the crash point must come after the round was recorded"
    rerun = hflow("workflow", "run", "wf", "-q", timeout=300)
    assert rerun.returncode == 1, rerun.stderr
    status = json.loads(hflow("workflow", "status", "wf", "--output", "json").stdout)
    states = {job["name"]: (job["state"], job["exit_code"]) for job in status["jobs"]}
    assert set(states.values()) == {("failed", 3)}, states


@pytest.mark.testbed
def test_a_name_ending_in_a_newline_never_reaches_sbatch(home: Path, hosts_file: Path, tmp_path: Path,
                                                       slurm_names) -> None:
    before = slurm_names()
    path = tmp_path / "nl.yaml"
    path.write_text('workflow:\n  nodes:\n    "a\\n": {kind: slurm, exec: "true"}\n')
    for command in (("workflow", "run", str(path), "-q"), ("workflow", "add", "--filename", str(path))):
        result = hflow(*command)
        assert result.returncode == 2, result
        assert result.stderr.strip().count("\n") == 0 and "Traceback" not in result.stderr
    assert slurm_names() == before


def test_a_directive_that_would_split_is_refused(tmp_path: Path) -> None:
    import asyncio

    from hybridflow.errors import HostError
    from hybridflow.hosts.base import HostConfig, StagedJob
    from hybridflow.hosts.slurm import SlurmHost
    from hybridflow.spec import JobSpec

    host = SlurmHost(HostConfig(name="localhost", kind="slurm"))
    job = StagedJob("wf", "a", 1, "hf-1-a-1-0000", JobSpec(name="a", kind="slurm", exec="true"),
                    str(tmp_path / "run\n#SBATCH --x"), "a", tmp_path)
    with pytest.raises(HostError, match="must be one line"):
        host.header(job, job.workdir)
    asyncio.run(host.close())
