"""cloudmesh-cc's files load and run unchanged (issue 12, "Files that must load and run
unchanged"): ``exec:`` naming a file, jobs named after their file, dependencies as the
mapping cloudmesh-cc saves, ``kind: local`` with a ``host:``."""

from __future__ import annotations

import logging
from pathlib import Path

import nbformat
import pytest

from hybridflow import JobState, Workflow, WorkflowState
from hybridflow.errors import SpecError
from hybridflow.load import loads


def _folder(tmp_path: Path) -> Path:
    (tmp_path / "b.py").write_text("print('python', 6 * 7)\n")
    (tmp_path / "c.sh").write_text("echo shell $HF_JOB\n")
    (tmp_path / "d.sh").write_text("echo named\n")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("print('notebook', 6 * 7)")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, str(tmp_path / "a.ipynb"))
    return tmp_path


def test_exec_naming_a_file_and_jobs_named_after_files_run_them(home: Path, tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    (folder / "wf.yaml").write_text(
        "workflow:\n"
        "  nodes:\n"
        "    start: {kind: local, host: local, exec: 'echo start'}\n"
        "    a: {kind: local, exec: a.ipynb}\n"
        "    b: {kind: local, exec: b.py}\n"
        "    c: {kind: local, exec: c.sh}\n"
        "    d.sh: {kind: local}\n"
        "  dependencies: ['start,a,b,c,d.sh']\n"
    )
    wf = Workflow.load(folder / "wf.yaml")
    jobs = wf.spec.jobs
    assert [(jobs[n].script, jobs[n].exec) for n in ("a", "b", "c", "d.sh")] == [
        ("a.ipynb", None), ("b.py", None), ("c.sh", None), ("d.sh", None)]
    assert jobs["start"].exec == "echo start"
    assert wf.run() is WorkflowState.DONE
    run_dir = Path(wf.status().run_dir)
    assert "notebook 42" in (run_dir / "a.log").read_text()
    assert (run_dir / "b.log").read_text() == "python 42\n"
    assert (run_dir / "c.log").read_text() == "shell c\n"
    assert (run_dir / "d.sh.log").read_text() == "named\n"


def test_exec_that_is_a_command_stays_a_command(tmp_path: Path) -> None:
    (tmp_path / "b.py").write_text("print(1)\n")
    spec = loads("workflow:\n  nodes:\n    x: {exec: 'python b.py'}\n    y: {exec: missing.py}\n",
                 name="wf", base_dir=str(tmp_path))
    assert (spec.jobs["x"].exec, spec.jobs["x"].script) == ("python b.py", None)
    assert (spec.jobs["y"].exec, spec.jobs["y"].script) == ("missing.py", None)  # no such file: a command


def test_a_job_named_with_a_suffix_but_no_file_says_what_it_looked_for(tmp_path: Path) -> None:
    with pytest.raises(SpecError) as info:
        loads("workflow:\n  nodes:\n    e.py: {}\n", name="wf", base_dir=str(tmp_path), file="wf.yaml")
    assert str(info.value) == ("wf.yaml: job 'e.py': neither 'script' nor 'exec' given and no default "
                               "script 'e.py' or 'e.py.sh'")


def test_dependencies_as_the_mapping_cloudmesh_saves(tmp_path: Path) -> None:
    text = (
        "workflow:\n"
        "  nodes:\n"
        "    start: {exec: 'true'}\n"
        "    mid: {exec: 'true'}\n"
        "    end: {exec: 'true'}\n"
        "  dependencies:\n"
        "    start-mid: {source: start, destination: mid, name: start-mid}\n"
        "    mid-end: {source: mid, destination: end, name: mid-end}\n"
    )
    spec = loads(text, name="wf", base_dir=str(tmp_path))
    assert list(spec.edges) == [("start", "mid"), ("mid", "end")]


@pytest.mark.parametrize(("deps", "message"), [
    ("    a-x: {source: a, destination: mnist-autoencoder}\n",
     "dependency 'a,mnist-autoencoder' names unknown job 'mnist-autoencoder' (did you mean 'mnist_autoencoder'?)"),
    ("    a-b: {source: a}\n", "edge 'a-b' must be a mapping with 'source' and 'destination'"),
    ("    a-b: 'a,b'\n", "edge 'a-b' must be a mapping with 'source' and 'destination'"),
])
def test_bad_dependency_mappings_are_one_line(tmp_path: Path, deps: str, message: str) -> None:
    text = ("workflow:\n  nodes:\n    a: {exec: 'true'}\n    mnist_autoencoder: {exec: 'true'}\n"
            "  dependencies:\n" + deps)
    with pytest.raises(SpecError) as info:
        loads(text, name="wf", base_dir=str(tmp_path), file="wf.yaml")
    assert str(info.value) == f"wf.yaml: field 'dependencies': {message}"


def test_a_local_job_naming_a_host_runs_here_with_one_warning(home: Path, tmp_path: Path,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "wf.yaml").write_text(
        "workflow:\n"
        "  nodes:\n"
        "    a: {kind: local, host: rivanna, user: gregor, exec: 'echo a > a.txt'}\n"
        "    b: {kind: local, host: rivanna, exec: 'cat a.txt'}\n"
        "  dependencies: ['a,b']\n"
    )
    with caplog.at_level(logging.WARNING, logger="hybridflow.api"):
        wf = Workflow.load(tmp_path / "wf.yaml")
        assert wf.run() is WorkflowState.DONE
    warnings = [r.getMessage() for r in caplog.records if "host ignored" in r.getMessage()]
    assert len(warnings) == 1 and "a (host 'rivanna'), b (host 'rivanna')" in warnings[0]
    assert {job.state for job in wf.status().jobs.values()} == {JobState.DONE}
    assert {a.host for a in wf.store.attempts("wf")} == {"localhost"}


def test_a_saved_run_loads_back_with_its_state(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "wf.yaml").write_text(
        "workflow:\n  nodes:\n    a: {exec: 'echo a'}\n    b: {exec: 'exit 3'}\n    c: {exec: 'true'}\n"
        "  dependencies: ['a,b,c']\n"
    )
    wf = Workflow.load(tmp_path / "wf.yaml")
    assert wf.run() is WorkflowState.FAILED
    saved = wf.save(tmp_path / "saved.yaml")
    monkeypatch.setenv("HYBRIDFLOW_HOME", str(tmp_path / "elsewhere"))
    plain = Workflow.load(saved, name="plain")
    assert {job.state for job in plain.status().jobs.values()} == {JobState.READY}
    again = Workflow.load(saved, name="again", with_state=True)
    view = again.status()
    assert {n: (j.state, j.progress) for n, j in view.jobs.items()} == {
        "a": (JobState.DONE, 100), "b": (JobState.FAILED, 0), "c": (JobState.SKIPPED, 0)}
    assert view.state is WorkflowState.FAILED
    svg = again.graph(tmp_path / "again.svg").read_text()
    assert 'data-job="a"' in svg and 'data-state="failed"' in svg


def test_a_bad_saved_status_is_one_line(home: Path, tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_text("workflow:\n  nodes:\n    a: {exec: 'true', status: finished}\n")
    with pytest.raises(SpecError) as info:
        Workflow.load(tmp_path / "s.yaml", with_state=True)
    assert "job 'a': field 'status': unknown status 'finished' (valid: ready," in str(info.value)
