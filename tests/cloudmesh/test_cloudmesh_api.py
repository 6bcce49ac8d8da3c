"""``hybridflow.cloudmesh.Workflow``: cloudmesh-cc's Python API, with scenarios modelled on
cloudmesh-cc's own tests (test_130_workflow-a-b, test_131_workflow_local,
test_199_workflow_clean) on its fixtures in ``tests/data/cloudmesh`` (local jobs only)."""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from hybridflow import Workflow as CoreWorkflow
from hybridflow.cloudmesh import Workflow, cloudmesh_document
from hybridflow.errors import SpecError

DATA = Path(__file__).resolve().parents[1] / "data" / "cloudmesh"
LABEL = "debug={cm.debug}\\nhome={os.HOME}\\n{name}\\n{now.%m/%d/%Y, %H--%M--%S}\\nprogress={progress}"


@pytest.fixture
def here(tmp_path: Path, home: Path) -> Iterator[Path]:
    """A fresh folder as the current directory (cloudmesh's tests chdir around), own home."""
    folder = tmp_path / "work"
    folder.mkdir()
    old = Path.cwd()
    os.chdir(folder)
    try:
        yield folder
    finally:
        os.chdir(old)


def copy(names: list[str], source: str, target: Path) -> None:
    for name in names:
        shutil.copy(DATA / source / name, target / name)


def create_workflow(hosts: list[tuple[str, str]]) -> Workflow:
    """cloudmesh-cc's test_131 ``create_workflow``: start, 3 jobs per host, end."""
    w = Workflow(name="workflow-local", load=False)
    w.add_job(name="start", kind="local", user="me", host="local")
    w.add_job(name="end", kind="local", user="me", host="local")
    n = 0
    for host, kind in hosts:
        for _ in range(3):
            w.add_job(name=f"job-{host}-{n}", label=LABEL, kind=kind, user="me", host=host)
            n += 1
        first, second, third = n - 3, n - 2, n - 1
        w.add_dependencies(f"job-{host}-{first},job-{host}-{second}")
        w.add_dependencies(f"job-{host}-{second},job-{host}-{third}")
        w.add_dependencies(f"job-{host}-{third},end")
        w.add_dependencies(f"start,job-{host}-{first}")
    return w


def test_workflow_local_scenario(here: Path, caplog: pytest.LogCaptureFixture) -> None:
    copy(["start.sh", "end.sh", "job-local-0.sh", "job-local-1.sh", "job-local-2.sh"], "workflow-sh", here)
    for n in (3, 4, 5):  # cloudmesh's "rivanna" jobs, run here as kind local
        shutil.copy(DATA / "workflow-sh" / "job-local-0.sh", here / f"job-rivanna.hpc.virginia.edu-{n}.sh")
    with caplog.at_level(logging.WARNING, logger="hybridflow.cloudmesh"):
        w = create_workflow([("local", "local"), ("rivanna.hpc.virginia.edu", "local")])
    assert "host 'rivanna.hpc.virginia.edu' is ignored" in caplog.text
    g = str(w.graph)
    assert "name: start" in g and "start-job-rivanna.hpc.virginia.edu-3:" in g and "host: local" in g
    assert len(w.jobs) == 8

    assert w["start"] == w.job("start") and w["start"]["name"] == "start"
    table = str(w.table)
    assert "| progress |" in table and "job-rivanna.hpc.virginia.edu-3" in table
    order = w.sequential_order()
    assert len(order) == len(w.jobs) and order[0] == "start" and order[-1] == "end"
    for i in range(1, len(order)):
        assert order[i] not in w[order[i - 1]]["parent"]
    assert w["end"]["parent"] == ["job-local-2", "job-rivanna.hpc.virginia.edu-5"]

    w.graph.save(filename="test-dot.svg", colors="status", engine="dot")
    assert Path("test-dot.svg").read_text().lstrip().startswith(("<?xml", "<svg"))
    assert Path("test-dot.dot").is_file()

    w.run_topo(show=True)
    for node in w.jobs.values():
        assert node["progress"] == 100
        assert node["parent"] == []
        assert node["status"] == "done"
    assert Path("runtime/workflow-local.svg").is_file()
    assert "progress=100" in str(w.table)

    # the same workflow through hybridflow's own API: one store, no second engine
    assert CoreWorkflow("workflow-local").status().counts() == {"done": 8}


def test_workflow_a_b_load_save_and_state(here: Path) -> None:
    """test_130: load the fixture, table, order, save, save/load with state."""
    shutil.copytree(DATA / "workflows", here / "workflows")
    copy(["test-a.sh", "test-b.sh"], "workflow-sh", here / "workflows")
    shutil.copy(DATA / "workflow-sh" / "test-b.sh", here / "workflows" / "test-c.sh")
    w = Workflow()
    w.load("workflows/workflow-a-b.yaml")
    assert w.name == "workflow" and list(w.jobs) == ["a", "b", "c"]
    assert w["c"]["label"].startswith("debug={cm.debug}")
    assert "test-a.sh" in str(w.table) and "['a']" in str(w.table)
    assert w.sequential_order() == ["a", "b", "c"]
    w.graph.save(filename="workflow-a-b.svg", colors="status", layout=None, engine="dot")

    w.save(filename="workflow-a-b.yaml")
    saved = yaml.safe_load(Path("workflow-a-b.yaml").read_text())
    assert saved["workflow"]["dependencies"] == ["a,b", "b,c"]
    assert all("status" not in node for node in saved["workflow"]["nodes"].values())

    w.run_parallel(show=False, period=0.1)
    assert {n["status"] for n in w.jobs.values()} == {"done"}
    d = w.save_with_state(filename="workflow-a-b-state.yaml", stdout=True)
    assert d is not None
    w.load_with_state(filename="workflow-a-b-state.yaml")
    assert d.strip() == Path("workflow-a-b-state.yaml").read_text().strip()

    # a clear workflow elsewhere shows the saved states, table and graph included
    fresh = Workflow(name="viewer")
    fresh.load_with_state(filename="workflow-a-b-state.yaml")
    assert {n["status"] for n in fresh.jobs.values()} == {"done"}
    assert {n["progress"] for n in fresh.jobs.values()} == {100}
    assert fresh.status()["jobs"]["c"] == {"status": "done", "progress": 100}
    fresh.graph.save(filename="viewer.svg")
    assert 'data-state="done"' in Path("viewer.svg").read_text()
    # restored through the store's own API where it has one, else only shown by the adapter
    restored = {"done": 3} if hasattr(fresh.store, "restore_states") else {"ready": 3}
    assert CoreWorkflow("viewer").status().counts() == restored


def test_clean_workflow_named_scripts(here: Path) -> None:
    """test_199: jobs named b.sh, c.py with no script run those files; Workflow(filename=)."""
    runtime = here / "workflow-clean" / "runtime"
    runtime.mkdir(parents=True)
    w = Workflow(filename="workflow-clean.yaml", load=False)
    assert w.name == "workflow-clean"
    os.chdir(runtime)
    copy(["start.sh", "end.sh"], "workflow-clean", runtime)
    (runtime / "b.sh").write_text('echo "# cloudmesh status=running progress=50"\necho b > b.out\n')
    (runtime / "c.py").write_text("import pathlib\npathlib.Path('c.out').write_text('c')\nprint('# cloudmesh status=done progress=100')\n")
    w.add_job(name="start", kind="local", user="me", host="local")
    w.add_job(name="end", kind="local", user="me", host="local")
    label = "{name}\\nnow={now.%m/%d/%Y, %H--%M--%S}\\nprogress={progress}\\n{dt0.%H--%M--%S} sec elapsed"
    w.add_job(name="b.sh", label=label, kind="local", user="me", host="local")
    w.add_job(name="c.py", label=label, kind="local", user="me", host="local")
    w.add_dependencies("b.sh,c.py")
    w.add_dependencies("c.py,end")
    w.add_dependencies("start,b.sh")
    g = str(w.graph)
    assert "name: start" in g and "start-b.sh:" in g
    assert w["c.py"]["script"].endswith("c.py")
    os.chdir(here)
    w.graph.save(filename="workflow-clean.svg", colors="status", engine="dot")
    w.run_topo(show=True, filename="topo-clean.svg")
    assert w.status()["workflow"] == "done"
    assert Path("topo-clean.svg").is_file()


def test_add_dependencies_creates_missing_job(here: Path) -> None:
    (here / "a.sh").write_text("echo a\n")
    (here / "b.sh").write_text("echo b\n")
    w = Workflow(name="deps")
    w.add_job(name="a", kind="local")
    w.add_dependencies("a,b")  # b did not exist: cloudmesh creates it (default b.sh)
    assert list(w.jobs) == ["a", "b"] and w["b"]["script"] == "b.sh"
    assert w.dependencies == {"a-b": {"source": "a", "destination": "b", "name": "a-b"}}
    with pytest.raises(SpecError, match=r"job 'zz'.*no default script 'zz.sh'"):
        w.add_dependencies("b,zz")
    w.remove_job("b")
    assert list(w.jobs) == ["a"] and w.dependencies == {}


def test_exec_jobs_and_replace(here: Path) -> None:
    w = Workflow(name="execs")
    w.add_job(name="one", kind="local", exec="echo one")
    w.add_job(name="two", kind="local", exec="echo two", label="{name}: {progress}")
    w.add_job(name="two", kind="local", exec="echo 2", label="{name}!")  # cloudmesh updates the node
    w.add_dependencies("one,two")
    assert w["two"]["exec"] == "echo 2" and w["two"]["label"] == "{name}!"
    w.run_parallel(show=False)
    assert w.status() == {"workflow": "done", "jobs": {"one": {"status": "done", "progress": 100},
                                                       "two": {"status": "done", "progress": 100}}}
    assert "two!" in w.table


def test_bad_input_is_one_line(here: Path) -> None:
    w = Workflow(name="bad")
    with pytest.raises(SpecError, match=r"job 'x': field 'kind': unknown kind 'nope'"):
        w.add_job(name="x", kind="nope", exec="echo")
    with pytest.raises(SpecError, match=r"cannot write graph 'g.png': use .svg, .dot or .mmd"):
        w.graph.save(filename="g.png")
    with pytest.raises(KeyError):
        w.job("missing")
    (here / "broken.yaml").write_text("workflow:\n  nodes:\n    a: {exec: 'echo'}\n  dependencies:\n    a-b: 3\n")
    with pytest.raises(SpecError) as info:
        w.load("broken.yaml")
    assert "dependency 'a-b' needs 'source' and 'destination'" in str(info.value) and "\n" not in str(info.value)


def test_saved_cloudmesh_document_loads(here: Path) -> None:
    """What cloudmesh-cc's own save writes: dependencies as a mapping, runtime keys."""
    (here / "s.sh").write_text("echo s\n")
    doc = {"workflow": {
        "nodes": {
            "s": {"name": "s", "label": "s", "label_format": "s", "kind": "local", "user": "me", "host": "rivanna",
                  "status": "done", "progress": 100, "created": "2022-08-05", "modified": "2022-08-05",
                  "script": "s.sh", "exec": None, "venv": None, "instance": None, "number": 0, "parent": []},
            "t": {"name": "t", "kind": "local", "exec": "echo t", "status": "failed", "progress": 40, "parent": ["s"]},
        },
        "dependencies": {"s-t": {"source": "s", "destination": "t", "name": "s-t"}},
    }, "colors": {"status": {"done": "#CCFFCC"}}}
    cleaned, states = cloudmesh_document(doc)
    assert cleaned["workflow"]["dependencies"] == ["s,t"]
    assert states == {"s": ("done", 100), "t": ("failed", 40)}
    assert "number" not in cleaned["workflow"]["nodes"]["s"] and "host" not in cleaned["workflow"]["nodes"]["s"]
    (here / "saved.yaml").write_text(yaml.safe_dump(doc))
    w = Workflow(name="saved")
    w.load_with_state("saved.yaml")
    assert w["t"]["status"] == "failed" and w["t"]["progress"] == 40 and w["t"]["parent"] == []
    w.run_parallel(show=False)  # a run replaces the restored view with real states
    assert w["t"]["status"] == "done"


def test_add_job_checks_keys_as_a_file_does(here: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A typo given to ``add_job`` is refused with "did you mean" (cloudmesh adapter and
    core API alike); another unknown key is kept as a job argument with one warning."""
    w = Workflow(name="keys")
    with pytest.raises(SpecError, match=r"job 'b': field 'retires': unknown key; did you mean 'retries'\?"):
        w.add_job(name="b", kind="local", exec="true", retires=2)
    core = CoreWorkflow("keys")
    with pytest.raises(SpecError, match=r"field 'timout': unknown key; did you mean 'timeout'\?"):
        core.add_job("c", exec="true", timout="5s")
    assert "b" not in core.spec.jobs and "c" not in core.spec.jobs, "nothing stored"
    with caplog.at_level(logging.WARNING):
        w.add_job(name="d", kind="local", exec="true", flavour="vanilla")
    assert core.spec.jobs["d"].args == {"flavour": "vanilla"}
    assert [r.getMessage() for r in caplog.records if "flavour" in r.getMessage()], "one warning names the key"
