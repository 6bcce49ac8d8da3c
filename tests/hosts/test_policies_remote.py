"""Job policies against the testbed: a hanging job hit by its timeout on SSH and Slurm (the
remote work really stops), and a flaky Slurm job retried with every attempt its own record."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from hybridflow import JobState, Workflow, WorkflowState

from hostsupport import KINDS, Testbed, wait_for

pytestmark = pytest.mark.testbed


def _remote_sleepers(testbed: Testbed, marker: str) -> bool:
    """Whether a process with ``marker`` in its command line still runs on the SSH host.

    The pattern ``[h]f-...`` does not match the shell that runs pgrep itself.
    """
    return testbed.ssh(f"pgrep -f '[{marker[0]}]{marker[1:]}'").returncode == 0


@pytest.mark.parametrize("kind", ["ssh", "slurm"])
def test_timeout_stops_remote_job(kind: str, hosts_file: Path, make_workflow, testbed: Testbed) -> None:
    marker = f"hf-timeout-{kind}-{time.time_ns()}"
    wf = Workflow.load(
        make_workflow(
            {
                "hang": {**KINDS[kind], "exec": f"bash -c 'sleep 300; : {marker}'", "timeout": "3s"},
                "after": {"exec": "true"},
            },
            ["hang,after"],
        )
    )
    started = time.monotonic()
    assert wf.run() is WorkflowState.FAILED
    assert time.monotonic() - started < 60
    jobs = wf.status().jobs
    assert jobs["hang"].state is JobState.TIMEOUT and "time limit" in jobs["hang"].message
    assert jobs["after"].state is JobState.SKIPPED
    if kind == "ssh":
        assert testbed.ssh("true").returncode == 0
        wait_for(lambda: not _remote_sleepers(testbed, marker), 20, "the remote process group to end")
    else:
        native = wf.store.attempts(wf.name, "hang")[-1].native_id

        def cancelled() -> bool:
            out = subprocess.run(["squeue", "-h", "-t", "all", "-j", native, "-o", "%T"],
                                 capture_output=True, text=True).stdout.strip()
            return out == "CANCELLED"

        wait_for(cancelled, 30, f"Slurm job {native} to be cancelled")


def test_flaky_slurm_job_retried_as_new_attempt(hosts_file: Path, make_workflow, testbed: Testbed) -> None:
    wf = Workflow.load(
        make_workflow(
            {
                "flaky": {
                    **KINDS["slurm"],
                    "exec": "if [ -e flaky.flag ]; then echo second; else touch flaky.flag; exit 7; fi",
                    "retries": 1,
                    "retry_on": ["exit"],
                    "retry_delay": "1s",
                }
            }
        )
    )
    assert wf.run() is WorkflowState.DONE
    attempts = wf.store.attempts(wf.name, "flaky")
    assert [(a.number, a.state, a.exit_code) for a in attempts] == [(1, JobState.FAILED, 7), (2, JobState.DONE, 0)]
    assert attempts[0].native_id != attempts[1].native_id  # two Slurm jobs, one per attempt
    assert {a.stem for a in attempts} == {"flaky", "flaky.attempt2"}
    assert wf.status().jobs["flaky"].attempt == 2
