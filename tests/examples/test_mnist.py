"""The digits model-comparison example (examples/mnist) runs end to end in quick mode.

Runs the workflow file unchanged through the real coordinator; quick mode reaches the
jobs through the environment (``HF_QUICK=1``). Skipped when the example's own
requirements (examples/mnist/requirements.txt) are not installed.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from hybridflow import JobState, Workflow, WorkflowState

pytest.importorskip("torch", reason="pip install -r examples/mnist/requirements.txt")
pytest.importorskip("sklearn", reason="pip install -r examples/mnist/requirements.txt")
pytest.importorskip("matplotlib", reason="pip install -r examples/mnist/requirements.txt")

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "mnist" / "workflow.yaml"
MODELS = ("mlp", "cnn", "logreg")
JOBS = ("prepare", *(f"train-{m}" for m in MODELS), "report")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def log_tails(run_dir: Path) -> str:
    """The end of every job log, to explain a failure."""
    return "\n".join(f"--- {log.name}\n{log.read_text()[-2000:]}" for log in sorted(run_dir.glob("*.log")))


@pytest.mark.timeout(180)
def test_mnist_quick(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HYBRIDFLOW_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("HF_QUICK", "1")

    folder = shutil.copytree(EXAMPLE.parent, tmp_path / "mnist")  # the jobs write beside the workflow
    wf = Workflow.load(folder / EXAMPLE.name)
    final = wf.run()
    view = wf.status()
    run_dir = Path(view.run_dir)

    states = {name: job.state for name, job in view.jobs.items()}
    assert states == dict.fromkeys(JOBS, JobState.DONE), log_tails(run_dir)
    assert final == WorkflowState.DONE
    assert all(view.jobs[f"train-{m}"].progress == 100 for m in MODELS)

    for model in MODELS:
        metrics = json.loads((folder / f"metrics-{model}.json").read_text())
        assert metrics["quick"] is True
        assert 0.8 < metrics["accuracy"] <= 1.0, metrics
        assert metrics["train_seconds"] > 0 and metrics["epochs"] >= 1

    report = json.loads((folder / "report.json").read_text())
    assert sorted(m["model"] for m in report["models"]) == sorted(MODELS)
    assert report["best"] == max(report["models"], key=lambda m: m["accuracy"])["model"]
    markdown = (folder / "report.md").read_text()
    assert all(f"| {model} |" in markdown for model in MODELS)
    png = (folder / "report.png").read_bytes()
    assert png.startswith(PNG_SIGNATURE) and len(png) > 1000
