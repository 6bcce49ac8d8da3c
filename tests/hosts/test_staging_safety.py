"""Staging moves only what it should: no symbolic links out of the run directory (issue
10.8), and a missing ``stage_out`` file fails a job on every kind, local included."""

from __future__ import annotations

from pathlib import Path

import pytest

from hybridflow import JobState, Workflow, WorkflowState

from hostsupport import Testbed


def test_local_stage_out_of_a_missing_file_fails_the_job(home: Path, make_workflow) -> None:
    wf = Workflow.load(make_workflow({
        "a": {"exec": "echo hi > made.txt", "stage_out": ["made.txt", "never*.txt"]},
        "b": {"exec": "true"},
    }, ["a,b"]))
    assert wf.run() is WorkflowState.FAILED
    jobs = wf.status().jobs
    assert jobs["a"].state is JobState.FAILED and "never*.txt" in (jobs["a"].message or "")
    assert jobs["b"].state is JobState.SKIPPED


@pytest.mark.testbed
def test_stage_in_refuses_a_symbolic_link_out_of_the_run_directory(
        home: Path, hosts_file: Path, make_workflow, testbed: Testbed, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret\n")
    wf = Workflow.load(make_workflow({
        "link": {"exec": f"ln -s {secret} data.txt; mkdir -p sub; ln -s {secret} sub/inner.txt; echo ok > plain.txt"},
        "copy": {"kind": "ssh", "host": "testbed", "exec": "cat data.txt", "stage_in": ["data.txt"]},
        "nested": {"kind": "ssh", "host": "testbed", "exec": "cat sub/inner.txt", "stage_in": ["sub"]},
        "fine": {"kind": "ssh", "host": "testbed", "exec": "cat plain.txt", "stage_in": ["plain.txt"]},
    }, ["link,copy", "link,nested", "link,fine"]))
    assert wf.run() is WorkflowState.FAILED
    jobs = wf.status().jobs
    for name, link in (("copy", "data.txt"), ("nested", "sub/inner.txt")):
        assert jobs[name].state is JobState.FAILED, name
        assert f"'{link}' is a symbolic link" in (jobs[name].message or ""), jobs[name].message
    assert jobs["fine"].state is JobState.DONE
    found = testbed.ssh("grep -rl 'top secret' ~/.hybridflow-tests 2>/dev/null; true")
    assert found.stdout.strip() == "", found.stdout
