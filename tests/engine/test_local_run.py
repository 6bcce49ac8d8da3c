"""The engine on the local host, end to end with real processes and a real SQLite store."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import nbformat
import pytest

from hybridflow import JobState, SequentialPolicy, Workflow, WorkflowState
from hybridflow.errors import LockedError
from hybridflow.store.sqlite import Store

from support import COMPAT


@pytest.mark.parametrize("name", ["workflow-example.yaml", "workflow-style.yaml"])
def test_compat_samples_run_unchanged(home: Path, name: str) -> None:
    wf = Workflow.load(COMPAT / name)
    assert wf.run() is WorkflowState.DONE
    view = wf.status()
    assert {job.state for job in view.jobs.values()} == {JobState.DONE}
    assert (Path(view.run_dir) / "start.log").read_text() == "hello\n"
    assert (Path(view.run_dir) / "start.exit").read_text().split()[0] == "0"
    order = sorted(view.jobs.values(), key=lambda j: j.tstart)
    assert [j.name for j in order] == ["start", "fetch-data", "compute", "analyze", "end"]


FANOUT = """
workflow:
  nodes:
    start: {exec: 'echo 5 > n.txt'}
    w[1-3]: {exec: 'sleep 1; echo $(( $(cat n.txt) * ${HF_JOB#w} )) > $HF_JOB.out'}
    join: {exec: "cat w1.out w2.out w3.out | awk '{s+=$1} END {print s}' > total.txt"}
  dependencies: ['start,w1,join', 'start,w2,join', 'start,w3,join']
"""


def _overlap(a, b) -> bool:
    return a.tstart < b.tend and b.tstart < a.tend


def test_parallel_fanout_shares_run_dir(home: Path, write_workflow) -> None:
    wf = Workflow.load(write_workflow(FANOUT))
    assert wf.run() is WorkflowState.DONE
    view = wf.status()
    assert (Path(wf.spec.base_dir) / "total.txt").read_text().strip() == "30"  # jobs share the folder
    w1, w2 = view.jobs["w1"], view.jobs["w2"]
    assert _overlap(w1, w2), "independent jobs should run at the same time (2 cores)"
    assert view.jobs["join"].tstart >= max(view.jobs[f"w{i}"].tend for i in (1, 2, 3)) - 0.05


def test_sequential_runs_one_at_a_time_in_topological_order(home: Path, write_workflow) -> None:
    wf = Workflow.load(write_workflow(FANOUT.replace("sleep 1", "sleep 0.2")))
    assert wf.run(parallel=False) is WorkflowState.DONE
    jobs = sorted(wf.status().jobs.values(), key=lambda j: j.tstart)
    assert [j.name for j in jobs] == ["start", "w1", "w2", "w3", "join"]
    for a, b in zip(jobs, jobs[1:]):
        assert not _overlap(a, b)


def test_custom_policy_plugs_in(home: Path, write_workflow) -> None:
    class Reverse(SequentialPolicy):
        def select(self, ready, host_of, slots, running, order):
            return [] if running or not ready else [max(ready, key=order)]

    wf = Workflow.load(write_workflow(FANOUT.replace("sleep 1", "true")))
    assert wf.run(policy=Reverse()) is WorkflowState.DONE
    jobs = sorted(wf.status().jobs.values(), key=lambda j: j.tstart)
    assert [j.name for j in jobs][1:4] == ["w3", "w2", "w1"]


def test_failure_skips_descendants_and_independent_branch_finishes(home: Path, write_workflow) -> None:
    wf = Workflow.load(
        write_workflow(
            """
            workflow:
              nodes:
                a: {exec: 'exit 3'}
                b: {exec: 'true'}
                c: {exec: 'true'}
                x: {exec: 'sleep 0.5; echo ok > x.txt'}
                y: {exec: 'true'}
              dependencies: ['a,b,c', 'x,y']
            """
        )
    )
    assert wf.run() is WorkflowState.FAILED
    jobs = wf.status().jobs
    assert (jobs["a"].state, jobs["a"].exit_code) == (JobState.FAILED, 3)
    assert jobs["b"].state is JobState.SKIPPED and "upstream job 'a' failed" in jobs["b"].message
    assert jobs["c"].state is JobState.SKIPPED
    assert jobs["x"].state is JobState.DONE and jobs["y"].state is JobState.DONE


def test_rerun_runs_only_what_did_not_succeed(home: Path, write_workflow, tmp_path: Path) -> None:
    flag = tmp_path / "fixed"
    wf = Workflow.load(
        write_workflow(
            f"""
            workflow:
              nodes:
                a: {{exec: 'echo run >> a.count'}}
                b: {{exec: 'test -e {flag}'}}
                c: {{exec: 'echo run >> c.count'}}
              dependencies: ['a,b,c']
            """
        )
    )
    assert wf.run() is WorkflowState.FAILED
    flag.touch()
    assert wf.run() is WorkflowState.DONE
    run_dir, folder = Path(wf.status().run_dir), Path(wf.spec.base_dir)
    assert (folder / "a.count").read_text() == "run\n"
    assert (folder / "c.count").read_text() == "run\n"
    assert wf.status().jobs["b"].attempt == 2
    assert (run_dir / "b.attempt2.exit").read_text().split()[0] == "0"


def test_progress_markers_are_mined_and_stored(home: Path, write_workflow) -> None:
    wf = Workflow.load(
        write_workflow(
            """
            workflow:
              nodes:
                p:
                  script: p.py
            """,
            p__py="""
            import time
            from hybridflow import progress
            print("# cloudmesh status=running progress=20 pid=1", flush=True)
            time.sleep(0.8)
            progress(60, "halfway")
            time.sleep(0.8)
            """,
        )
    )
    assert wf.run() is WorkflowState.DONE
    events = [e for e in wf.store.events(wf.name) if e["kind"] == "progress"]
    assert [e["progress"] for e in events] == [20, 60]
    assert wf.status().jobs["p"].progress == 100
    assert events[1]["message"] == "halfway"


def test_script_payloads_and_arguments(home: Path, write_workflow) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("print('# cloudmesh status=running progress=70')\nopen('nb.txt','w').write('x')")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = write_workflow(
        """
        workflow:
          nodes:
            sh: {script: 'run.sh one "two words"'}
            py: {script: 'run.py --flag'}
            nb: {script: note.ipynb}
          dependencies: ['sh,py,nb']
        """,
        run__sh='printf "%s|" "$@" > sh.txt\n',
        run__py="import sys; open('py.txt','w').write(sys.executable + ' ' + ' '.join(sys.argv[1:]))\n",
    )
    nbformat.write(nb, path.parent / "note.ipynb")
    wf = Workflow.load(path)
    assert wf.run() is WorkflowState.DONE, wf.status().jobs
    run_dir, folder = Path(wf.status().run_dir), path.parent  # attempt files / the jobs' outputs
    assert (folder / "sh.txt").read_text() == "one|two words|"
    assert (folder / "py.txt").read_text() == f"{sys.executable} --flag"
    assert (folder / "nb.txt").read_text() == "x"
    out = nbformat.read(folder / "nb.out.ipynb", as_version=4)  # beside the outputs
    assert "progress=70" in out.cells[0].outputs[0]["text"]
    assert "progress=70" in (run_dir / "nb.log").read_text()


def test_venv_job_runs_inside_the_venv(home: Path, write_workflow, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    path = write_workflow(
        f"""
        workflow:
          nodes:
            v: {{script: where.py, venv: '{venv}'}}
        """,
        where__py="import sys; open('prefix.txt','w').write(sys.prefix)\n",
    )
    wf = Workflow.load(path)
    assert wf.run() is WorkflowState.DONE
    assert (path.parent / "prefix.txt").read_text() == str(venv)


def test_job_added_while_running_starts_without_restart(home: Path, write_workflow) -> None:
    wf = Workflow.load(
        write_workflow(
            """
            workflow:
              nodes:
                first: {exec: 'sleep 1.5'}
            """
        )
    )
    other = Workflow(wf.name, store=Store(home / "hybridflow.db"))

    def add_later() -> None:
        time.sleep(0.5)
        other.add_job("second", exec="echo added > second.txt", after=["first"])

    thread = threading.Thread(target=add_later)
    thread.start()
    assert wf.run() is WorkflowState.DONE
    thread.join()
    jobs = wf.status().jobs
    assert jobs["second"].state is JobState.DONE
    assert jobs["second"].tstart >= jobs["first"].tend - 0.05


def test_second_coordinator_is_refused_and_stale_lock_taken_over(home: Path, write_workflow) -> None:
    wf = Workflow.load(write_workflow("workflow:\n  nodes:\n    a: {exec: 'true'}\n"))
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    wf.store.db.execute("UPDATE workflows SET lock_pid=?, lock_ctime=0 WHERE name=?", (dead.pid, wf.name))
    assert wf.run() is WorkflowState.DONE  # stale lock of a dead process: taken over
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        import psutil

        ctime = psutil.Process(sleeper.pid).create_time()
        wf.store.db.execute("UPDATE workflows SET lock_pid=?, lock_ctime=? WHERE name=?", (sleeper.pid, ctime, wf.name))
        with pytest.raises(LockedError, match=f"already being run by process {sleeper.pid}"):
            wf.run()
    finally:
        sleeper.kill()


def test_export_yaml_with_state_and_json(home: Path, write_workflow, tmp_path: Path) -> None:
    wf = Workflow.load(write_workflow(FANOUT.replace("sleep 1", "true")))
    wf.run()
    saved = wf.save(tmp_path / "out.yaml")
    again = Workflow.load(saved, name="again")
    assert again.spec.jobs == wf.spec.jobs and again.spec.edges == wf.spec.edges
    assert "status: done" in saved.read_text()
    data = json.loads(wf.save(tmp_path / "out.json").read_text())
    assert {job["name"]: job["state"] for job in data["jobs"]}["join"] == "done"


def test_running_job_cannot_be_replaced_or_removed(home: Path, write_workflow) -> None:
    from hybridflow.errors import BusyError

    wf = Workflow.load(write_workflow("workflow:\n  nodes:\n    slow: {exec: 'sleep 2'}\n"))
    other = Workflow(wf.name, store=Store(home / "hybridflow.db"))
    errors: list[str] = []

    def meddle() -> None:
        deadline = time.monotonic() + 10
        while other.status().jobs["slow"].state is not JobState.RUNNING and time.monotonic() < deadline:
            time.sleep(0.05)
        for action in (lambda: other.add_job("slow", exec="echo replaced"), lambda: other.remove_job("slow")):
            try:
                action()
            except BusyError as exc:
                errors.append(str(exc))

    thread = threading.Thread(target=meddle)
    thread.start()
    assert wf.run() is WorkflowState.DONE
    thread.join()
    assert len(errors) == 2 and all("slow" in e and "running" in e for e in errors)
    assert wf.spec.jobs["slow"].exec == "sleep 2"


def test_running_from_a_child_of_a_failed_job_skips_it_and_says_why(home: Path, write_workflow) -> None:
    wf = Workflow.load(write_workflow("workflow:\n  nodes:\n    a: {exec: 'exit 3'}\n    b: {exec: 'true'}\n"
                                      "    c: {exec: 'true'}\n  dependencies: ['a,b,c']\n"))
    assert wf.run() is WorkflowState.FAILED
    assert wf.run(from_jobs=["b"]) is WorkflowState.FAILED
    jobs = wf.status().jobs
    assert (jobs["b"].state, jobs["b"].message) == (JobState.SKIPPED, "upstream job 'a' failed")
    assert jobs["c"].state is JobState.SKIPPED
