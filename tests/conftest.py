"""Shared fixtures: an isolated $HYBRIDFLOW_HOME per test, workflow files."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh HYBRIDFLOW_HOME for this test (also seen by subprocesses)."""
    path = tmp_path / "hfhome"
    monkeypatch.setenv("HYBRIDFLOW_HOME", str(path))
    return path


@pytest.fixture
def write_workflow(tmp_path: Path) -> Callable[..., Path]:
    """Write a workflow YAML (dedented) plus optional script files; returns its path."""

    def write(text: str, name: str = "wf.yaml", **files: str) -> Path:
        folder = tmp_path / "wf"
        folder.mkdir(exist_ok=True)
        for filename, content in files.items():
            (folder / filename.replace("__", ".")).write_text(textwrap.dedent(content))
        path = folder / name
        path.write_text(textwrap.dedent(text))
        return path

    return write
