"""Parameter sweeps end to end on the local host: the API, the real ``hflow`` entry point."""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from hybridflow import JobState, Workflow, WorkflowState, load as loading

from support import hflow

SWEEP = """
project: {name: demo}
workflow:
  nodes:
    prepare: {exec: 'echo 7 > base.txt'}
    train:
      experiments:
        epochs: "1,2"
        gpu: [a100, v100, h100]
      constants: {lr: 0.5}
      max_parallel: 2
      script: "train.in.sh --tag {project.name}-{name}"
      label: '{name}\\n{gpu} {progress}'
      env: {EPOCHS: "{epochs}"}
    gather:
      exec: "cat train/*/*/result.txt | sort > all.txt; ls train/*/*/train.sh | wc -l > scripts.txt"
  dependencies: ['prepare,train,gather']
"""

TEMPLATE = """\
#!/usr/bin/env bash
set -eu
date +%s.%N > "$HF_OUTPUT_DIR/start"
base=$(cat base.txt)                       # the shared run directory is the working directory
echo "# hybridflow progress=50"
sleep 0.4
echo "{gpu} epochs={epochs} env=$EPOCHS lr={lr} base=$base dir={output_dir} args=$*" > "$HF_OUTPUT_DIR/result.txt"
awk '{{ n += 1 }} END {{ print n }}' base.txt > /dev/null
date +%s.%N > "$HF_OUTPUT_DIR/end"
"""

NAMES = [f"train-epochs_{e}-gpu_{g}" for e in (1, 2) for g in ("a100", "v100", "h100")]


def _max_concurrent(intervals: list[tuple[float, float]]) -> int:
    events = sorted([(a, 1) for a, _ in intervals] + [(b, -1) for _, b in intervals])
    best = now = 0
    for _, delta in events:
        now += delta
        best = max(best, now)
    return best


def test_two_by_three_sweep_runs_and_gather_reads_all_outputs(home: Path, write_workflow) -> None:
    path = write_workflow(SWEEP, train__in__sh=TEMPLATE)
    wf = Workflow.load(path)
    assert [job.name for job in wf][1:7] == NAMES
    assert wf.run() is WorkflowState.DONE
    view = wf.status()
    assert {job.state for job in view.jobs.values()} == {JobState.DONE}
    run_dir = path.parent  # local jobs run in the workflow's folder
    lines = (run_dir / "all.txt").read_text().splitlines()
    assert len(lines) == 6
    assert "v100 epochs=2 env=2 lr=0.5 base=7 dir=train/epochs=2/gpu=v100 args=--tag demo-train-epochs_2-gpu_v100" in lines
    assert (run_dir / "scripts.txt").read_text().strip() == "6"
    # each job's rendered script sits in its own output directory, placeholders filled in
    rendered = (run_dir / "train" / "epochs=1" / "gpu=h100" / "train.sh").read_text()
    assert 'echo "h100 epochs=1 env=$EPOCHS lr=0.5' in rendered and "{{" not in rendered
    # the gather job started after every sweep job ended
    assert view.jobs["gather"].tstart >= max(view.jobs[n].tend for n in NAMES) - 0.05
    # max_parallel: 2, seen from inside the jobs (their lifetimes lie within the scheduler's)
    intervals = []
    for name in NAMES:
        out = run_dir / view.jobs[name].spec.env["HF_OUTPUT_DIR"]
        intervals.append((float((out / "start").read_text()), float((out / "end").read_text())))
    assert _max_concurrent(intervals) <= 2
    if (os.cpu_count() or 1) >= 2:
        assert _max_concurrent(intervals) == 2


def test_failed_permutations_skip_the_gather_and_status_groups(home: Path, write_workflow) -> None:
    path = write_workflow(
        """
        workflow:
          nodes:
            sim:
              experiments: {size: "1,2", mode: [fast, slow, odd]}
              exec: 'test {mode} != odd && echo {size} > $HF_OUTPUT_DIR/out.txt'
            gather: {exec: 'cat sim/*/*/out.txt'}
          dependencies: ['sim,gather']
        """
    )
    result = hflow("workflow", "run", str(path), "--quiet")
    assert result.returncode == 1, result.stderr
    grouped = hflow("workflow", "status", "wf")
    assert grouped.returncode == 0, grouped.stderr
    rows = {line.split()[0]: line for line in grouped.stdout.splitlines() if line.strip().startswith(("sim", "gather"))}
    assert set(rows) == {"sim", "gather"}
    assert " 6 " in rows["sim"] and "failed 2, done 4" in rows["sim"]
    assert "failed: sim-size_1-mode_odd, sim-size_2-mode_odd" in grouped.stdout
    assert "skipped" in rows["gather"]
    flat = hflow("workflow", "status", "wf", "--no-group")
    assert all(f"sim-size_{s}-mode_{m}" in flat.stdout for s in (1, 2) for m in ("fast", "slow", "odd"))
    data = yaml.safe_load(hflow("workflow", "status", "wf", "--output", "yaml").stdout)
    assert len(data["jobs"]) == 7


def test_expand_dry_run_through_the_real_entry_point(home: Path, write_workflow) -> None:
    path = write_workflow(SWEEP, train__in__sh=TEMPLATE)
    table = hflow("workflow", "expand", str(path))
    assert table.returncode == 0, table.stderr
    for name in NAMES:
        assert name in table.stdout
    assert "train/epochs=2/gpu=h100" in table.stdout
    assert "epochs=1 gpu=a100" in table.stdout
    assert "wf: 8 jobs, 12 dependencies" in table.stdout
    # YAML: a plain, loadable workflow with the same jobs and edges
    dumped = hflow("workflow", "expand", str(path), "--output", "yaml")
    assert dumped.returncode == 0, dumped.stderr
    again = loading.loads(dumped.stdout, name="again", base_dir=str(path.parent))
    original = loading.load(path)
    assert list(again.jobs) == list(original.jobs) and again.edges == original.edges
    # a dry run: nothing stored, nothing run
    listed = hflow("workflow", "list")
    assert "wf" not in listed.stdout.split()
    assert not (home / "runs").exists()


def test_undefined_placeholder_is_exit_2_one_line(home: Path, write_workflow) -> None:
    path = write_workflow(
        """
        workflow:
          nodes:
            train:
              experiments: {epochs: "1,2"}
              exec: "python train.py --epochs {epochs} --lr {lrate}"
        """
    )
    for args in (("workflow", "expand", str(path)), ("workflow", "run", str(path))):
        result = hflow(*args)
        assert result.returncode == 2, result
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert "Traceback" not in result.stderr
        assert f"{path}: job 'train': field 'exec': undefined placeholder '{{lrate}}'" in lines[0]
    assert not (home / "runs").exists()
