"""Sweeps as Slurm job arrays on the real testbed, with ``MaxArraySize=5``.

The module fixture restarts the testbed's Slurm with ``MaxArraySize=5`` (and accounting,
as CI runs it) and restores the default afterwards, even when a test fails: run these
last, as the restart disturbs Slurm tests running at the same moment.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from hybridflow import Workflow, WorkflowState
from hybridflow.hosts.slurm import SlurmHost

from support import hflow

pytestmark = pytest.mark.testbed

START = Path(__file__).resolve().parents[3] / "shared" / "testbed" / "start-testbed"


def _start(conf: str | None) -> None:
    env = {**os.environ, "TESTBED_ACCOUNTING": "1"}
    env.pop("TESTBED_SLURM_CONF", None)
    if conf:
        env["TESTBED_SLURM_CONF"] = conf
    subprocess.run([str(START)], env=env, check=True, capture_output=True, timeout=300)


@pytest.fixture(scope="module")
def small_arrays() -> Iterator[None]:
    if not START.exists():
        pytest.skip(f"no {START}")
    _start("MaxArraySize=5")
    try:
        config = subprocess.run(["scontrol", "show", "config"], capture_output=True, text=True, timeout=30).stdout
        assert any(line.split() == ["MaxArraySize", "=", "5"] for line in config.splitlines())
        yield
    finally:
        _start(None)


def _run(path: Path) -> tuple[WorkflowState, dict[str, int]]:
    wf = Workflow.load(path)
    engine = wf.engine()
    state = asyncio.run(engine.run())
    stats: Counter[str] = Counter()
    for slot in engine.hosts:
        if isinstance(slot.host, SlurmHost):
            stats.update(slot.host.stats)
    return state, dict(stats)


def test_twelve_job_sweep_is_three_arrays(small_arrays: None, hosts_file: Path, make_workflow) -> None:
    path = make_workflow(
        {
            "train": {"kind": "slurm", "host": "localhost", "cpus": 1, "time": 2, "max_parallel": 3,
                      "experiments": {"i": "p[1-12]"}, "exec": "echo {i} > $HF_OUTPUT_DIR/out.txt; echo task {i}"},
            "gather": {"kind": "slurm", "host": "localhost", "exec": "cat train/*/out.txt | sort > all.txt"},
        },
        ["train,gather"],
    )
    state, stats = _run(path)
    assert state is WorkflowState.DONE
    view = Workflow("wf").status()
    tasks = [name for name in view.jobs if name.startswith("train-")]
    assert len(tasks) == 12
    ids = {name: view.attempts[name].native_id or "" for name in tasks}
    arrays = Counter(native.split("_")[0] for native in ids.values())
    assert sorted(arrays.values()) == [2, 5, 5], ids
    assert all("_" in native for native in ids.values())
    assert stats["arrays"] == 3 and stats["submit"] == 4, stats  # 3 arrays + gather
    assert stats["query"] == stats["poll"], "one status query per poll of the host"
    run_dir = Path(view.run_dir or "")
    for name in tasks:
        value = view.jobs[name].spec.sweep_params["i"]
        assert view.jobs[name].state.value == "done"
        assert (run_dir / f"{name}.log").read_text().strip() == f"task {value}", "each task has its own log"
        assert (run_dir / f"{name}.exit").exists()
    assert (path.parent / "all.txt").read_text().split() == sorted(f"p{i}" for i in range(1, 13))
    driver = next(run_dir.glob("*.array.sh")).read_text()
    assert "#SBATCH --array=0-4%3" in driver or "#SBATCH --array=0-1%3" in driver


def test_a_failed_task_is_retried_alone(small_arrays: None, hosts_file: Path, make_workflow) -> None:
    path = make_workflow(
        {
            "sweep": {"kind": "slurm", "host": "localhost", "cpus": 1, "time": 2, "retries": 1, "retry_delay": 0,
                      "retry_on": ["exit"], "experiments": {"i": "1,2,3"},
                      "exec": "if [ {i} = 2 ] && [ ! -e tried ]; then touch tried; exit 4; fi; echo ok {i}"},
        },
    )
    state, stats = _run(path)
    assert state is WorkflowState.DONE
    view = Workflow("wf").status()
    attempts = {name: view.jobs[name].attempt for name in view.jobs}
    assert attempts == {"sweep-i_1": 1, "sweep-i_2": 2, "sweep-i_3": 1}
    assert "_" not in (view.attempts["sweep-i_2"].native_id or "_"), "the retry is a job of its own"
    assert "_" in (view.attempts["sweep-i_1"].native_id or "")
    assert stats["arrays"] == 1
    first = [a for a in Workflow("wf").store.attempts("wf", "sweep-i_2") if a.number == 1][0]
    assert first.state.value == "failed" and first.exit_code == 4


def _sweep_of_three(make_workflow) -> Path:
    return make_workflow(
        {"s": {"kind": "slurm", "host": "localhost", "cpus": 1, "time": 2, "experiments": {"i": "1,2,3"},
               "exec": "echo run {i} >> $HF_WORKFLOW_DIR/runs.txt"}},
    )


@pytest.mark.parametrize("point", ["after-record", "after-submit"])
def test_killed_around_an_array_submit_runs_each_task_once(small_arrays: None, home: Path, hosts_file: Path,
                                                           make_workflow, point: str,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Killed before its sbatch (tasks looked up, then submitted together) or after it
    (found by the array's name and each task's index): every task runs once."""
    path = _sweep_of_three(make_workflow)
    monkeypatch.setenv("HYBRIDFLOW_CRASH_AT", point)
    crashed = hflow("workflow", "run", str(path), "--quiet")
    monkeypatch.delenv("HYBRIDFLOW_CRASH_AT")
    assert crashed.returncode != 0
    assert all(a.native_id is None for a in Workflow("wf").store.attempts("wf"))
    resumed = hflow("workflow", "run", "wf", "--quiet")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    view = Workflow("wf").status()
    assert {name: job.attempt for name, job in view.jobs.items()} == {"s-i_1": 1, "s-i_2": 1, "s-i_3": 1}
    ids = {view.attempts[name].native_id or "" for name in view.jobs}
    if point == "after-submit":  # found in the array it was (a transient sbatch error may split a resubmission)
        assert len({native.split("_")[0] for native in ids}) == 1 and all("_" in n for n in ids), ids
    assert sorted((path.parent / "runs.txt").read_text().splitlines()) == ["run 1", "run 2", "run 3"]
