"""The public surface: a sorted ``__all__`` whose names exist, and the API example runs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import hybridflow

from support import EXAMPLES


def test_all_is_sorted_and_importable() -> None:
    assert hybridflow.__all__ == sorted(hybridflow.__all__)
    for name in hybridflow.__all__:
        assert hasattr(hybridflow, name), name


def test_api_example_runs(home: Path) -> None:
    result = subprocess.run([sys.executable, str(EXAMPLES / "api.py")], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "total: 5050" in result.stdout
    folder = Path(hybridflow.Workflow("api-demo").spec.base_dir)  # the example's own temporary folder
    assert (folder / "total.txt").read_text().strip() == "5050"
    assert (home / "runs" / "api-demo" / "total.log").exists(), "attempt files stay in the run directory"


def test_readme_sample_workflow_runs(home: Path, tmp_path: Path) -> None:
    folder = shutil.copytree(EXAMPLES / "fanout", tmp_path / "fanout")  # its outputs land beside it
    result = subprocess.run(
        [sys.executable, "-c", "from hybridflow.cli import main; main()", "workflow", "run",
         str(folder / "workflow.yaml"), "--quiet", "--table"],
        capture_output=True, text=True, timeout=120, env={**os.environ, "HF_DELAY": "0.05"},
    )
    assert result.returncode == 0, result.stderr
    assert (folder / "result.txt").read_text().strip() == str(sum(range(1, 3001)))
    for job in ("fetch", "part1", "part2", "part3", "merge"):
        assert job in result.stdout
