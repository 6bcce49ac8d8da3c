"""examples/hybrid runs unchanged in quick mode: local -> Slurm -> SSH, files staged between."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from hybridflow import JobState, Workflow, WorkflowState

from hostsupport import Testbed

pytest.importorskip("torch", reason="pip install -r examples/mnist/requirements.txt")
pytest.importorskip("sklearn", reason="pip install -r examples/mnist/requirements.txt")

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "hybrid" / "workflow.yaml"


@pytest.mark.testbed
@pytest.mark.timeout(420)
def test_hybrid_example_quick(testbed: Testbed, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HYBRIDFLOW_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("HF_QUICK", "1")
    examples = shutil.copytree(EXAMPLE.parents[1], tmp_path / "examples")  # its scripts are in ../mnist
    folder = examples / EXAMPLE.parent.name
    wf = Workflow.load(folder / EXAMPLE.name)
    final = wf.run()
    view = wf.status()
    run_dir = Path(view.run_dir)
    logs = "\n".join(f"--- {p.name}\n{p.read_text()[-1500:]}" for p in sorted(run_dir.glob("*.log")))
    assert final is WorkflowState.DONE, logs
    kinds = {name: (job.spec.kind, view.attempts[name].host) for name, job in view.jobs.items()}
    assert kinds["prepare"] == ("local", "localhost")
    assert kinds["train-cnn"] == ("slurm", "localhost")
    assert kinds["report"] == ("ssh", "testbed")
    assert all(job.state is JobState.DONE for job in view.jobs.values())
    # staged back from the SSH host into the workflow's folder
    report = json.loads((folder / "report.json").read_text())
    accuracies = {m["model"]: m["accuracy"] for m in report["models"]}
    metrics = {p.stem.removeprefix("metrics-"): json.loads(p.read_text()) for p in folder.glob("metrics-*.json")}
    assert set(metrics) == {"mlp", "cnn", "logreg"}
    for name, data in metrics.items():
        assert data["quick"] is True and 0.8 < data["accuracy"] <= 1.0, (name, data)
    assert accuracies == {name: data["accuracy"] for name, data in metrics.items()}
    assert (folder / "report.png").read_bytes().startswith(b"\x89PNG")
    assert native_ids_are_slurm_jobs(wf)


def native_ids_are_slurm_jobs(wf: Workflow) -> bool:
    """Every Slurm attempt has a numeric Slurm job id as its native id."""
    return all(a.native_id and a.native_id.isdigit() for a in wf.store.attempts(wf.name) if a.kind == "slurm")
