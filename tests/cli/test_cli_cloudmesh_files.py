"""cloudmesh-cc's file behaviours through the real CLI: a missing script is stored with a
warning and refused by the run before any job starts; a saved run loads back with state."""

from __future__ import annotations

import json
from pathlib import Path

from support import hflow


def test_missing_script_is_stored_with_a_warning_and_refused_by_the_run(home: Path, tmp_path: Path) -> None:
    path = tmp_path / "wf.yaml"
    path.write_text("workflow:\n  nodes:\n    a: {exec: 'echo a > a.txt'}\n    b: {script: train.sh}\n"
                    "  dependencies: ['a,b']\n")
    added = hflow("workflow", "add", "--filename", str(path))
    assert added.returncode == 0, added.stderr
    assert added.stderr.strip().count("\n") == 0
    assert "warning:" in added.stderr and "job 'b'" in added.stderr and "'train.sh' does not exist" in added.stderr
    run = hflow("workflow", "run", "wf", "-q")
    assert run.returncode == 2
    assert run.stderr.strip().count("\n") == 0 and "Traceback" not in run.stderr
    assert "job 'b'" in run.stderr and "'train.sh' does not exist" in run.stderr
    status = json.loads(hflow("workflow", "status", "wf", "--output", "json").stdout)
    assert {job["state"] for job in status["jobs"]} == {"ready"}, "no job may start"
    assert not (tmp_path / "a.txt").exists() and not (home / "runs" / "wf" / "a.log").exists()
    (tmp_path / "train.sh").write_text("echo trained\n")
    assert hflow("workflow", "run", "wf", "-q").returncode == 0
    direct = tmp_path / "direct.yaml"  # run FILE: refused when loading, nothing stored
    direct.write_text("workflow:\n  nodes:\n    x: {script: nothere.sh}\n")
    result = hflow("workflow", "run", str(direct))
    assert result.returncode == 2 and "'nothere.sh' does not exist" in result.stderr
    assert "direct" not in hflow("workflow", "list").stdout


def test_add_with_state_restores_a_saved_run(home: Path, tmp_path: Path) -> None:
    path = tmp_path / "wf.yaml"
    path.write_text("workflow:\n  nodes:\n    a: {exec: 'true'}\n    b: {exec: 'exit 4'}\n  dependencies: ['a,b']\n")
    assert hflow("workflow", "run", str(path), "-q").returncode == 1
    saved = tmp_path / "saved.yaml"
    assert hflow("workflow", "save", "wf", str(saved)).returncode == 0
    added = hflow("workflow", "add", "--name", "viewed", "--filename", str(saved), "--with-state")
    assert added.returncode == 0, added.stderr
    status = json.loads(hflow("workflow", "status", "viewed", "--output", "json").stdout)
    assert {job["name"]: job["state"] for job in status["jobs"]} == {"a": "done", "b": "failed"}
    assert hflow("workflow", "graph", "viewed", "--format", "dot", cwd=tmp_path).returncode == 0
    assert "#FFCCCC" in (tmp_path / "viewed.dot").read_text()  # b drawn in the failed colour


def test_add_with_a_bad_saved_state_is_one_line_and_stores_nothing(home: Path, tmp_path: Path) -> None:
    for node, phrase in (("{exec: 'true', status: finished}", "unknown status 'finished'"),
                         ("{exec: 'true', status: done, progress: 250}", "progress 250 must be a number")):
        path = tmp_path / "saved.yaml"
        path.write_text(f"workflow:\n  nodes:\n    a: {node}\n")
        result = hflow("workflow", "add", "--filename", str(path), "--with-state")
        assert result.returncode == 2, result
        assert result.stderr.strip().count("\n") == 0 and "Traceback" not in result.stderr
        assert phrase in result.stderr and "job 'a'" in result.stderr
        assert "saved" not in hflow("workflow", "list").stdout
