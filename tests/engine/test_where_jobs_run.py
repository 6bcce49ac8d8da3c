"""Where jobs run (README): local jobs run in the workflow file's folder, so a script
beside the workflow is usable by ``exec: python3 train.py``; outputs land in that folder,
attempt files (logs, exit codes) in the run directory; ``$HF_WORKFLOW_DIR`` and
``{workflow_dir}`` name the folder. The same from the CLI, the API and a folder created
by the API without a file."""

from __future__ import annotations

import json
from pathlib import Path

from hybridflow import Workflow, WorkflowState

from support import hflow

WORKFLOW = """
workflow:
  nodes:
    train: {exec: 'python3 train.py 3'}
    where: {exec: 'echo "$HF_WORKFLOW_DIR|{workflow_dir}|$PWD" > where.txt', env: {DATA: '{workflow_dir}/data'}}
    swept:
      experiments: {n: "1,2"}
      exec: 'echo {n} > "{workflow_dir}/swept-{n}.txt"'
  dependencies: ['train,where']
"""
TRAIN = "import sys\nopen('model.txt', 'w').write('epochs=' + sys.argv[1])\nprint('trained')\n"


def _check(folder: Path, run_dir: Path) -> None:
    assert (folder / "model.txt").read_text() == "epochs=3"
    named, templated, cwd = (folder / "where.txt").read_text().strip().split("|")
    assert Path(named) == Path(templated) == Path(cwd) == folder.resolve()
    assert [(folder / f"swept-{n}.txt").read_text() for n in (1, 2)] == ["1\n", "2\n"]
    assert (run_dir / "train.log").read_text() == "trained\n", "the log stays in the run directory"
    assert not (run_dir / "model.txt").exists() and not (folder / "train.log").exists()


def test_cli_runs_jobs_in_the_workflow_folder(home: Path, write_workflow) -> None:
    path = write_workflow(WORKFLOW, train__py=TRAIN)
    result = hflow("workflow", "run", str(path), "-q")
    assert result.returncode == 0, result.stdout + result.stderr
    status = json.loads(hflow("workflow", "status", "wf", "-o", "json").stdout)
    _check(path.parent, home / "runs" / "wf")
    assert {job["state"] for job in status["jobs"]} == {"done"}


def test_api_load_runs_jobs_in_the_workflow_folder(home: Path, write_workflow) -> None:
    wf = Workflow.load(write_workflow(WORKFLOW, train__py=TRAIN))
    assert wf.spec.jobs["where"].env["DATA"] == f"{Path(wf.spec.base_dir).resolve()}/data"
    assert wf.run() is WorkflowState.DONE
    _check(Path(wf.spec.base_dir), Path(wf.status().run_dir))


def test_api_workflow_without_a_file_runs_in_its_folder(home: Path, tmp_path: Path) -> None:
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "train.py").write_text(TRAIN)
    wf = Workflow("built", folder=folder)
    wf.add_job("train", exec="python3 train.py 3")
    assert wf.run() is WorkflowState.DONE
    assert (folder / "model.txt").read_text() == "epochs=3"
    assert Workflow("built").spec.base_dir == str(folder.resolve()), "the folder is kept with the workflow"
