"""A 2x3 parameter sweep as real Slurm jobs on the testbed (``source /tmp/testbed/env.sh``)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from hybridflow import JobState, Workflow, WorkflowState

pytestmark = pytest.mark.testbed

PARTITION = os.environ.get("TESTBED_SLURM_PARTITION", "debug")

SWEEP = f"""
workflow:
  nodes:
    train:
      kind: slurm
      host: localhost
      partition: {PARTITION}
      experiments:
        epochs: "1,2"
        gpu: [a100, v100, h100]
      max_parallel: 4
      script: "train.in.sh --tag {{name}}"
      sbatch: ["--comment=hf-{{gpu}}-{{epochs}}"]
    gather:
      exec: "cat train/*/*/result.txt | sort > all.txt"
  dependencies: ['train,gather']
"""

TEMPLATE = """\
#!/usr/bin/env bash
#SBATCH --time=00:0{epochs}:00
set -eu
echo "{gpu} epochs={epochs} slurm=${SLURM_JOB_ID:-none} dir=$HF_OUTPUT_DIR args=$*" > "$HF_OUTPUT_DIR/result.txt"
"""


def _slurm_up() -> bool:
    if not shutil.which("sbatch") or not shutil.which("sinfo"):
        return False
    try:
        result = subprocess.run(["sinfo", "-h", "-p", PARTITION], capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0 and bool(result.stdout.strip())


@pytest.fixture
def slurm() -> None:
    if not _slurm_up():
        pytest.skip("no Slurm testbed here (start ../shared/testbed/start-testbed)")
    pytest.importorskip("hybridflow.hosts.slurm", reason="the slurm host kind is not there yet")


def test_two_by_three_sweep_on_slurm(home: Path, write_workflow, slurm) -> None:
    path = write_workflow(SWEEP, train__in__sh=TEMPLATE)
    wf = Workflow.load(path)
    assert wf.run() is WorkflowState.DONE
    view = wf.status()
    assert {job.state for job in view.jobs.values()} == {JobState.DONE}
    names = [f"train-epochs_{e}-gpu_{g}" for e in (1, 2) for g in ("a100", "v100", "h100")]
    lines = (path.parent / "all.txt").read_text().splitlines()  # Slurm on this machine: the folder
    assert len(lines) == 6
    for name in names:
        attempt = view.attempts[name]
        assert attempt.kind == "slurm" and attempt.native_id
        params = view.jobs[name].spec.sweep_params
        line = next(text for text in lines if text.startswith(f"{params['gpu']} epochs={params['epochs']} "))
        assert f"slurm={attempt.native_id} " in line  # ran as that Slurm job
        assert line.endswith(f"dir=train/epochs={params['epochs']}/gpu={params['gpu']} args=--tag {name}")
    # the substituted Slurm options reached sbatch: the template's #SBATCH line and the node's
    ids = ",".join(view.attempts[n].native_id for n in names)
    seen = subprocess.run(["squeue", "-h", "-t", "all", "-j", ids, "-O", "JobID:|,Comment:|,TimeLimit:|"],
                          capture_output=True, text=True, timeout=30, check=False)
    assert seen.returncode == 0, seen.stderr  # finished jobs stay listed for MinJobAge
    rows = {p[0].strip(): p for p in (line.split("|") for line in seen.stdout.splitlines())}
    for name in names:
        params = view.jobs[name].spec.sweep_params
        row = rows[view.attempts[name].native_id]
        assert row[1].strip() == f"hf-{params['gpu']}-{params['epochs']}"
        assert row[2].strip() in (f"{params['epochs']}:00", f"0{params['epochs']}:00")
