"""Job arrays and hand-off, the pure parts: limits, grouping, driver script, dependency line."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from hybridflow.errors import SpecError
from hybridflow.handoff import wanted
from hybridflow.hostconfig import HostConfig
from hybridflow.hosts import arrays, wrapper
from hybridflow.hosts.base import StagedJob
from hybridflow.hosts.slurm import SlurmHost
from hybridflow.spec import JobSpec, WorkflowSpec


def _job(name: str, sweep: str | None = "train", attempt: int = 1, after: tuple[str, ...] = ()) -> StagedJob:
    spec = JobSpec(name=name, exec="true", kind="slurm", sweep=sweep)
    return StagedJob(workflow="wf", job=name, attempt=attempt, token=f"hf-1-{name}-{attempt}-abcd", spec=spec,
                     workdir="/runs/wf", stem=name, base_dir=Path("/wf"), after_ids=after)


def test_limits_from_scontrol_show_config() -> None:
    text = "Configuration data as of 2026-12-02T10:00:00\nMaxArraySize            = 5\nMaxJobCount = 10000\n"
    assert arrays.parse_limits(text) == arrays.Limits(5, None)
    assert arrays.Limits(5, None).size == 5
    assert arrays.Limits(1001, 300).size == 300
    assert arrays.parse_limits("nothing here").size == 1001


def test_groups_split_by_family_parents_resources_and_size() -> None:
    jobs = [_job(f"t{i}") for i in range(12)] + [_job("other", sweep=None), _job("retry", attempt=2)]
    jobs += [_job("late", after=("41",))]
    keys = {job.job: ("#SBATCH --partition=debug",) for job in jobs}
    keys["t11"] = ("#SBATCH --partition=gpu",)
    found = arrays.groups(jobs, keys, arrays.Limits(5))
    sizes = sorted(len(group) for group in found)
    assert sizes == [1, 1, 1, 1, 1, 5, 5]  # t0-t10 in 5+5+1, t11 (other partition), other, retry, late
    assert [job.job for job in found[0]] == ["t0", "t1", "t2", "t3", "t4"]


def test_resources_leave_out_per_attempt_lines() -> None:
    lines = ["#SBATCH --partition=debug", "#SBATCH --job-name=hf-x", "#SBATCH --output=/a.out",
             "#SBATCH --chdir=/r", "#SBATCH --dependency=afterok:3", "#SBATCH --time=2", "# hflow-stage: {}"]
    assert arrays.resources(lines) == ("#SBATCH --partition=debug", "#SBATCH --time=2")


def test_driver_runs_each_task_wrapper(tmp_path: Path) -> None:
    wrappers = []
    for index in range(3):
        path = tmp_path / f"w {index}.sh"  # a space: the path is quoted
        path.write_text(f"echo task {index}\n")
        wrappers.append(str(path))
    driver = tmp_path / "d.sh"
    driver.write_text(wrapper.render_array(["#SBATCH --array=0-2"], wrappers))
    for index in range(3):
        out = subprocess.run(["bash", str(driver)], env={"SLURM_ARRAY_TASK_ID": str(index)}, capture_output=True,
                             text=True, timeout=10)
        assert out.stdout == f"task {index}\n"
    wrong = subprocess.run(["bash", str(driver)], env={"SLURM_ARRAY_TASK_ID": "7"}, capture_output=True, text=True,
                           timeout=10)
    assert wrong.returncode == 97 and "no task 7" in wrong.stderr


def test_array_mark_and_ids() -> None:
    assert arrays.marked("#!/bin/bash\n# hflow-array: hf-1-t0-1-abcd 4\necho\n") == ("hf-1-t0-1-abcd", 4)
    assert arrays.marked("#!/bin/bash\necho\n") is None
    assert arrays.task_id("12", 3) == "12_3" and arrays.base_id("12_3") == "12" and arrays.base_id("12") == "12"


def test_a_handed_off_job_names_its_parents_in_one_dependency_line() -> None:
    host = SlurmHost(HostConfig(name="localhost", kind="slurm"))
    lines = host.directives(_job("b", after=("11", "12_0")), "/runs/wf")
    assert "#SBATCH --dependency=afterok:11:12_0" in lines
    assert not any("--dependency" in line for line in host.directives(_job("a"), "/runs/wf"))


def test_handoff_key_must_be_true_or_false() -> None:
    assert wanted(WorkflowSpec(name="wf", options={"handoff": True}))
    assert not wanted(WorkflowSpec(name="wf"))
    with pytest.raises(SpecError, match="handoff.*'yes' is not true or false"):
        wanted(WorkflowSpec(name="wf", options={"handoff": "yes"}))
