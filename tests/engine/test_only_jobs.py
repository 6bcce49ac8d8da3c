"""``RunRequest.only_jobs`` (``hflow workflow run --job``) through the coordinator's one
entry point: the named jobs run, nothing else starts, the exit code speaks for them."""

from __future__ import annotations

from pathlib import Path

import pytest

from hybridflow import JobState, Workflow, WorkflowState
from hybridflow.coordinator import ExitCode, RequestError, RunRequest, run

CHAIN = """
workflow:
  nodes:
    a: {exec: 'echo a >> runs.txt'}
    b: {exec: 'echo b >> runs.txt'}
    c: {exec: 'echo c >> runs.txt'}
    d: {exec: 'echo d >> runs.txt'}
  dependencies: ['a,b,c']
"""


def test_only_the_named_jobs_run_and_their_exit_code_counts(home: Path, write_workflow) -> None:
    path = write_workflow(CHAIN)
    wf = Workflow.load(path)
    result = run(RunRequest(wf.name, only_jobs=("a", "b")), store=wf.store)
    assert result.exit_code is ExitCode.OK and result.state is WorkflowState.FAILED  # c, d never ran
    assert (path.parent / "runs.txt").read_text().split() == ["a", "b"]
    jobs = wf.status().jobs
    assert (jobs["c"].state, jobs["d"].state) == (JobState.READY, JobState.READY)
    assert run(RunRequest(wf.name), store=wf.store).exit_code is ExitCode.OK  # the rest, later
    assert sorted((path.parent / "runs.txt").read_text().split()) == ["a", "b", "c", "d"]


def test_only_jobs_refusals_are_one_line(home: Path, write_workflow) -> None:
    wf = Workflow.load(write_workflow(CHAIN))
    for request, words in [(RunRequest(wf.name, only_jobs=("c",)), "its parent 'b' is ready, not done"),
                           (RunRequest(wf.name, only_jobs=("ghost",)), "--job names unknown job 'ghost'")]:
        with pytest.raises(RequestError, match=words):
            run(request, store=wf.store)
    with pytest.raises(RequestError, match="use only one of --job"):
        RunRequest(wf.name, only_jobs=("a",), from_jobs=("b",))
    assert RunRequest.from_json(RunRequest(wf.name, only_jobs=("a",)).to_json()).only_jobs == ("a",)
    assert not (Path(wf.spec.base_dir) / "runs.txt").exists(), "a refused request starts nothing"
