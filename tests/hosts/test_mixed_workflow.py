"""A workflow across hosts: prepare locally, compute over SSH, train on Slurm (here and
over SSH), report; each step reads the previous one's file through stage_in/stage_out."""

from __future__ import annotations

from pathlib import Path

import pytest

from hybridflow import JobState, Workflow, WorkflowState
from hybridflow.hosts.shell import SshShell

pytestmark = pytest.mark.testbed


def test_local_ssh_slurm_pipeline_passes_files(hosts_file: Path, make_workflow) -> None:
    path = make_workflow(
        {
            "prep": {"exec": "echo 20 > data.txt"},
            "double": {"kind": "ssh", "host": "testbed", "stage_in": ["data.txt"], "stage_out": ["doubled.txt"],
                       "exec": "echo $(( $(cat data.txt) * 2 )) > doubled.txt"},
            "train": {"kind": "slurm", "host": "cluster", "stage_in": ["doubled.txt"], "stage_out": ["model-*.txt"],
                      "exec": "echo $(( $(cat doubled.txt) + 1 )) > model-$SLURM_JOB_ID.txt", "time": 5, "cpus": 1},
            "report": {"kind": "slurm", "exec": "cat model-*.txt > report.txt; echo $SLURM_JOB_PARTITION >> report.txt"},
            "publish": {"kind": "ssh", "host": "testbed", "stage_in": ["report.txt"], "stage_out": ["published.txt"],
                        "exec": "(cat report.txt; hostname) > published.txt"},
        },
        ["prep,double,train,report,publish"],
    )
    opened = SshShell.connections_opened
    wf = Workflow.load(path)
    assert wf.run() is WorkflowState.DONE
    assert SshShell.connections_opened - opened == 1, "ssh and slurm-over-ssh share one connection"
    run_dir = path.parent  # local jobs' folder: stage_in comes from it, stage_out back into it
    assert (run_dir / "report.txt").read_text().split()[:2] == ["41", "debug"]
    assert (run_dir / "published.txt").read_text().startswith("41\ndebug\n")
    assert len(list(run_dir.glob("model-*.txt"))) == 1


def test_missing_stage_out_fails_naming_the_file(hosts_file: Path, make_workflow) -> None:
    path = make_workflow(
        {
            "make": {"kind": "ssh", "host": "testbed", "exec": "echo hi > one.txt", "stage_out": ["one.txt", "two.txt"]},
            "next": {"exec": "true"},
        },
        ["make,next"],
    )
    wf = Workflow.load(path)
    assert wf.run() is WorkflowState.FAILED
    job = wf.status().jobs["make"]
    assert job.state is JobState.FAILED
    assert "two.txt" in (job.message or "")
    assert wf.status().jobs["next"].state is JobState.SKIPPED


def test_missing_stage_in_file_fails_that_job_only(hosts_file: Path, make_workflow) -> None:
    path = make_workflow(
        {
            "needs": {"kind": "ssh", "host": "testbed", "exec": "cat nothere.txt", "stage_in": ["nothere.txt"]},
            "fine": {"kind": "ssh", "host": "testbed", "exec": "echo fine"},
        },
    )
    wf = Workflow.load(path)
    assert wf.run() is WorkflowState.FAILED
    jobs = wf.status().jobs
    assert jobs["fine"].state is JobState.DONE
    assert jobs["needs"].state is JobState.FAILED
    assert "nothere.txt" in (jobs["needs"].message or "")
