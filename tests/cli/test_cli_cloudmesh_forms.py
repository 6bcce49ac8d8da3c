"""cloudmesh-cc's command forms (``cms cc workflow ...`` with ``hflow`` in place of ``cms cc``,
issue 12) through the real entry point, beside hybridflow's positional forms."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from support import hflow


def _ok(*args: str, **kwargs) -> subprocess.CompletedProcess[str]:
    result = hflow(*args, **kwargs)
    assert result.returncode == 0, (args, result.stdout, result.stderr)
    return result


def _misuse(*args: str, says: str) -> None:
    """One line on stderr, exit 2, no traceback."""
    result = hflow(*args)
    assert result.returncode == 2, (args, result.stdout, result.stderr)
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: "), result.stderr
    assert says in result.stderr, result.stderr


def _states(name: str) -> dict[str, str]:
    data = json.loads(_ok("workflow", "status", "--name", name, "--output", "json").stdout)
    return {job["name"]: job["state"] for job in data["jobs"]}


def test_add_jobs_dependencies_list_run_status_graph_delete(home: Path, tmp_path: Path) -> None:
    # cms cc workflow add [--name=NAME] [--job=JOB] ARGS...  (default workflow: 'workflow')
    _ok("workflow", "add", "--job=a", "exec=echo a")
    _ok("workflow", "add", "--name=workflow", "--job=b[1-2],c", "exec=echo b")
    # cms cc workflow [--name=NAME] --dependencies=DEPENDENCIES
    _ok("workflow", "--dependencies=a,b1,c")
    _ok("workflow", "--name=workflow", "--dependencies=a,b2,c")
    # cms cc workflow list [--name=NAME] [--job=JOB]
    listed = json.loads(_ok("workflow", "list", "--name=workflow", "--output=json").stdout)
    assert {row["name"]: row["parents"] for row in listed} == {"a": [], "b1": ["a"], "b2": ["a"], "c": ["b1", "b2"]}
    one = json.loads(_ok("workflow", "list", "--name=workflow", "--job=b[1-2]", "-o", "json").stdout)
    assert [row["name"] for row in one] == ["b1", "b2"] and one[0]["spec"]["exec"] == "echo b"
    everywhere = yaml.safe_load(_ok("workflow", "list", "--job=c", "--output=yaml").stdout)
    assert [(row["workflow"], row["name"]) for row in everywhere] == [("workflow", "c")]
    assert "workflow" in _ok("workflow", "list").stdout
    # cms cc workflow run [--name=NAME]
    _ok("workflow", "run", "--name=workflow", "-q")
    # cms cc workflow status --name=NAME [--output=OUTPUT]
    assert set(_states("workflow").values()) == {"done"}
    assert yaml.safe_load(_ok("workflow", "status", "--name=workflow", "--output=yaml").stdout)["state"] == "done"
    assert "b1" in _ok("workflow", "status", "--name=workflow").stdout
    # cms cc workflow graph --name=NAME
    graph = _ok("workflow", "graph", "--name=workflow", cwd=tmp_path)
    assert "<svg" in (tmp_path / "workflow.svg").read_text() and "workflow.svg" in graph.stdout
    # cms cc workflow delete [--name=NAME] [--job=JOB]
    _ok("workflow", "delete", "--name=workflow", "--job=c")
    assert sorted(_states("workflow")) == ["a", "b1", "b2"]
    _ok("workflow", "delete", "--name=workflow")
    assert hflow("workflow", "status", "--name=workflow").returncode == 1


def test_positional_forms_still_work(home: Path, write_workflow, tmp_path: Path) -> None:
    path = write_workflow("workflow:\n  nodes:\n    a: {exec: 'true'}\n    b: {exec: 'true'}\n  dependencies: ['a,b']\n")
    _ok("workflow", "run", str(path), "-q")
    _ok("workflow", "run", "wf", "-q")
    assert "done" in _ok("workflow", "status", "wf").stdout
    _ok("workflow", "dependencies", "wf", "a,b")
    _ok("workflow", "graph", "wf", "--format", "dot", "--output", str(tmp_path / "g.dot"))
    _ok("workflow", "add", str(path))
    _ok("workflow", "delete", "wf", "--job", "b")
    _ok("workflow", "delete", "wf")


def test_add_filename_name_wins_over_the_files_name(home: Path, write_workflow) -> None:
    path = write_workflow("name: inside\nworkflow:\n  nodes:\n    a: {exec: 'true'}\n")
    _ok("workflow", "add", "--name=outside", f"--filename={path}")
    names = _ok("workflow", "list").stdout
    assert "outside" in names and "inside" not in names
    _ok("workflow", "add", f"--filename={path}")  # without --name: the file's name
    assert "inside" in _ok("workflow", "list").stdout
    # cms cc workflow run [--name=NAME] --filename=FILENAME
    _ok("workflow", "run", "--name=third", f"--filename={path}", "-q")
    assert _states("third") == {"a": "done"}


def test_run_job_runs_just_those_jobs(home: Path, tmp_path: Path) -> None:
    marks = tmp_path / "marks"
    marks.mkdir()
    for job in ("a", "b", "c", "d"):
        _ok("workflow", "add", "--name=w", f"--job={job}", f"exec=echo {job} >> {marks}/{job}")
    _ok("workflow", "--name=w", "--dependencies=a,b,c", "--dependencies=a,d")
    _misuse("workflow", "run", "--name=w", "--job=b", says="--job b: its parent 'a' is ready, not done")
    _misuse("workflow", "run", "--name=w", "--job=ghost", says="unknown job 'ghost'")
    ran = _ok("workflow", "run", "--name=w", "--job=a", "-q")
    assert ran.stdout.startswith("w: ran a (done);")
    assert _states("w") == {"a": "done", "b": "ready", "c": "ready", "d": "ready"}
    _ok("workflow", "run", "--name=w", "--job=b,d", "-q")
    assert _states("w") == {"a": "done", "b": "done", "c": "ready", "d": "done"}
    assert sorted(p.name for p in marks.iterdir()) == ["a", "b", "d"]
    # a named job that ran before runs again; its finished descendants go back to ready
    _misuse("workflow", "run", "--name=w", "--job=a,c", says="its parent 'b' runs again after another named job")
    _ok("workflow", "run", "--name=w", "--job=a", "-q")
    assert (marks / "a").read_text() == "a\na\n"
    assert _states("w") == {"a": "done", "b": "ready", "c": "ready", "d": "ready"}
    _ok("workflow", "run", "--name=w", "-q")  # the whole workflow brings the rest up to date
    assert set(_states("w").values()) == {"done"}
    _ok("workflow", "add", "--name=w", "--job=e", "exec=exit 3")
    _ok("workflow", "--name=w", "--dependencies=c,e")
    failed = hflow("workflow", "run", "--name=w", "--job=e", "-q")
    assert failed.returncode == 1 and "e (failed)" in failed.stdout


@pytest.mark.parametrize(("args", "says"), [
    (("workflow", "run", "--bogus"), "No such option: --bogus"),
    (("workflow", "status"), "name the workflow with --name NAME"),
    (("workflow", "graph"), "name the workflow with --name NAME"),
    (("workflow", "status", "x", "--name=y"), "the workflow is given twice"),
    (("workflow", "status", "--name=x", "--output=xml"), "'xml' is not one of"),
    (("workflow", "run", "--name=w", "--job=a", "--force"), "use only one of --job, --rerun-failed, --from and --force"),
    (("workflow", "--name=w"), "give a command"),
    (("workflow", "--name=w", "list"), "--name and --dependencies go after the command"),
    (("workflow", "add", "--name=w", "--filename=x.yaml", "--job=a"), "--filename adds a whole workflow"),
    (("workflow", "add", "--job=a", "novalue"), "is not KEY=VALUE"),
    (("workflow", "dependencies", "a,b"), "give the workflow and its chains"),
    (("workflow", "nope"), "No such command 'nope'"),
    (("workflow", "service", "run"), "name the workflow with --name NAME"),
    (("workflow", "service", "add"), "give one workflow file"),
    (("start", "--port=x"), "Invalid value for '--port'"),
])
def test_misuse_is_one_line_exit_2(home: Path, args: tuple[str, ...], says: str) -> None:
    _misuse(*args, says=says)


def test_help_shows_the_name_form(home: Path) -> None:
    for command in ("run", "status", "graph", "delete", "list"):
        usage = _ok("workflow", command, "--help").stdout
        line = next(line.strip() for line in usage.splitlines() if "Usage:" in line)
        assert line == f"Usage: hflow workflow {command} [OPTIONS]" and "--name" in usage


def test_top_level_start_stop_status_doc(home: Path) -> None:
    env = {**os.environ, "HYBRIDFLOW_HOME": str(home), "COLUMNS": "200"}
    env.pop("HYBRIDFLOW_SERVICE_TOKEN", None)
    env.pop("HYBRIDFLOW_SERVICE_URL", None)

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-c", "from hybridflow.cli import main; main()", *args],
                              capture_output=True, text=True, timeout=120, env=env, check=False)

    assert cli("status").stdout.strip() == "not running" and cli("status").returncode == 1
    assert cli("stop").stdout.strip() == "no service is running"
    started = cli("start", "--port", "0")
    try:
        assert started.returncode == 0, started.stderr
        assert "running at" in cli("status").stdout
        assert "/docs" in cli("doc").stdout
        _service_forms(cli, home)
    finally:
        stopped = cli("stop")
    assert stopped.returncode == 0 and "stopped" in stopped.stdout


def _service_forms(cli, home: Path) -> None:
    """``cms cc workflow service add|list|run|delete [--name=NAME] ...`` against the service."""
    folder = home.parent / "proj"
    folder.mkdir()
    (folder / "proj.yaml").write_text("workflow:\n  nodes:\n    a: {exec: 'echo a'}\n")

    def ok(*args: str) -> subprocess.CompletedProcess[str]:
        result = cli("workflow", "service", *args)
        assert result.returncode == 0, (args, result.stdout, result.stderr)
        return result

    ok("add", "--name=remote", str(folder / "proj.yaml"))
    ok("add", "--name=remote", "--job=b", "exec=echo b", "label=bee")
    ok("add", "--job=solo", "exec=echo solo")  # creates the workflow 'workflow'
    listed = ok("list").stdout
    assert "remote" in listed and "workflow" in listed
    assert "b" in ok("list", "--name=remote").stdout
    detail = json.loads(ok("list", "--name=remote", "--job=b").stdout)
    assert detail["name"] == "b"
    ok("run", "--name=remote", "--wait")
    assert json.loads(ok("status", "--name=remote", "-o", "json").stdout)["state"] == "done"
    ok("delete", "--name=remote", "--job=b")
    assert [j["name"] for j in json.loads(ok("status", "remote", "-o", "json").stdout)["jobs"]] == ["a"]
    ok("delete", "--name=remote,workflow")
    assert "remote" not in ok("list").stdout
