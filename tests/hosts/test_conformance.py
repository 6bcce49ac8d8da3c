"""One conformance suite, run for every kind against real servers (local, ssh, slurm,
slurm over ssh): outcomes, progress markers, a notebook, cancel, log tail, kill -9 of the
coordinator then resume without submitting anything twice."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import nbformat
import pytest

from hybridflow import JobState, Workflow, WorkflowState, config
from hybridflow.hosts import host_class
from hybridflow.hosts.base import StagedJob
from hybridflow.store.sqlite import Store

from hostsupport import KINDS, wait_for

COUNT_SH = """\
#!/bin/bash
n=$1
for i in $(seq 1 "$n"); do
  echo "# cloudmesh status=running progress=$(( i * 100 / (n + 1) )) pid=$$"
  sleep 0.4
done
echo "args: $*" > count.out
"""
HELLO_PY = """\
import sys
print("python says", sum(range(10)), sys.argv[1:])
"""


def notebook(path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell('print("notebook says", 6 * 7)')]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, str(path))


def attempt_dir(wf: Workflow, job: str) -> Path:
    """The job's run directory on its host, as a path on this machine (the testbed is local)."""
    attempt = wf.store.attempts(wf.name, job)[-1]
    workdir = attempt.workdir
    if workdir.startswith("~/"):
        workdir = "/home/hfuser/" + workdir[2:]
    return Path(workdir)


def job_dir(wf: Workflow, job: str) -> Path:
    """Where the job ran, where its outputs are: the workflow's folder for the kinds on
    this machine's filesystem (local, a batch system without SSH), else its run directory."""
    attempt = wf.store.attempts(wf.name, job)[-1]
    if attempt.kind == "local" or Path(attempt.workdir) == Path(wf.status().run_dir):
        return Path(wf.spec.base_dir)
    return attempt_dir(wf, job)


def test_outcomes_progress_and_notebook(kind: str, make_workflow) -> None:
    where = KINDS[kind]
    path = make_workflow(
        {
            "ok": {**where, "script": "count.sh 3 x"},
            "bad": {**where, "exec": "echo failing; exit 3"},
            "after_bad": {**where, "exec": "echo never"},
            "py": {**where, "script": "hello.py a b"},
            "nb": {**where, "script": "note.ipynb", "stage_out": ["nb.out.ipynb"]},
        },
        ["bad,after_bad"],
        count__sh=COUNT_SH,
        hello__py=HELLO_PY,
    )
    notebook(path.parent / "note.ipynb")
    wf = Workflow.load(path)
    assert wf.run() is WorkflowState.FAILED
    jobs = wf.status().jobs
    assert {n: j.state for n, j in jobs.items()} == {
        "ok": JobState.DONE, "bad": JobState.FAILED, "after_bad": JobState.SKIPPED,
        "py": JobState.DONE, "nb": JobState.DONE,
    }
    assert jobs["bad"].exit_code == 3
    assert jobs["ok"].progress == 100
    mined = [e["progress"] for e in wf.store.events(wf.name) if e["job"] == "ok" and e["kind"] == "progress"]
    assert any(0 < p < 100 for p in mined), f"progress markers were not mined: {mined}"
    remote = attempt_dir(wf, "ok")
    assert (job_dir(wf, "ok") / "count.out").read_text() == "args: 3 x\n"
    assert "failing" in (remote / "bad.log").read_text()
    assert "python says 45 ['a', 'b']" in (remote / "py.log").read_text()
    assert "notebook says 42" in (remote / "nb.log").read_text()
    assert (path.parent / "nb.out.ipynb").exists(), "stage_out of the executed notebook, into the workflow's folder"


def test_files_beside_the_workflow_reach_the_job_and_its_outputs_come_back(kind: str, make_workflow) -> None:
    """README "Where jobs run": a file beside the workflow is the job's to use (local kinds
    run in the folder; the others get it by stage_in), and what it makes is found in the
    folder afterwards by a local job; ``$HF_WORKFLOW_DIR`` is the folder the job ran in."""
    path = make_workflow(
        {
            "use": {**KINDS[kind], "exec": 'python3 tool.py 5 > out.txt; echo "$HF_WORKFLOW_DIR" > where.txt',
                    "stage_in": ["tool.py"], "stage_out": ["out.txt", "where.txt"]},
            "after": {"exec": "cat out.txt > copied.txt"},
        },
        ["use,after"],
        tool__py="import sys\nprint(int(sys.argv[1]) * 2)\n",
    )
    wf = Workflow.load(path)
    assert wf.run() is WorkflowState.DONE, {n: (j.state, j.message) for n, j in wf.status().jobs.items()}
    assert (path.parent / "copied.txt").read_text() == "10\n"
    assert Path((path.parent / "where.txt").read_text().strip()) == job_dir(wf, "use")


def test_cancel_stops_the_remote_job(kind: str, make_workflow, home: Path) -> None:
    where = KINDS[kind]
    wf = Workflow.load(make_workflow({"long": {**where, "exec": "echo started; sleep 120"}}))
    other = Workflow(wf.name, store=Store(home / "hybridflow.db"))

    def cancel_when_running() -> None:
        wait_for(lambda: other.status().jobs["long"].state is JobState.RUNNING, 60, "the job to run")
        time.sleep(0.5)
        other.cancel()

    thread = threading.Thread(target=cancel_when_running, daemon=True)
    thread.start()
    started = time.monotonic()
    assert wf.run() is WorkflowState.CANCELED
    thread.join(5)
    assert time.monotonic() - started < 60
    assert wf.status().jobs["long"].state is JobState.CANCELED
    attempt = wf.store.attempts(wf.name, "long")[-1]
    native = attempt.native_id or ""
    if kind.startswith("slurm"):  # the real squeue, or the stand-in first on PATH
        def cancelled() -> bool:
            out = subprocess.run(["squeue", "-h", "-t", "all", "-j", native, "-o", "%T"],
                                 capture_output=True, text=True).stdout.strip()
            return out == "CANCELLED"
        wait_for(cancelled, 30, f"Slurm job {native} to be CANCELLED")
    elif kind == "lsf":
        def killed() -> bool:
            out = subprocess.run(["bjobs", "-a", "-noheader", "-o", "jobid stat", native],
                                 capture_output=True, text=True).stdout
            return "|EXIT|" in out
        wait_for(killed, 30, f"LSF job {native} to be killed")
    else:
        pgid = native.split(":")[0]
        def group_gone() -> bool:
            return subprocess.run(["pgrep", "-g", pgid], capture_output=True).returncode == 1
        wait_for(group_gone, 15, f"process group {pgid} to end")


def test_log_is_read_incrementally(kind: str, make_workflow, tmp_path: Path) -> None:
    """Through the Host interface: chunks from increasing offsets add up to the log."""
    where = KINDS[kind]
    path = make_workflow({"talk": {**where, "exec": "for i in 1 2 3 4 5 6; do echo line $i; sleep 0.3; done"}})
    spec = Workflow.load(path).spec
    job = spec.jobs["talk"]

    async def scenario() -> tuple[list[tuple[int, int]], bytes, bytes]:
        host = host_class(job.kind)(config.host_config(spec, job))
        run_dir = tmp_path / "run"
        run_dir.mkdir()
        staged = StagedJob(spec.name, "talk", 1, f"hf-tail-{kind}-{time.time_ns()}", job,
                           host.run_dir(spec.name, run_dir), "talk", Path(spec.base_dir))
        try:
            [sub] = await host.submit([staged])
            offset, chunks, reads = 0, b"", []
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                data, new = await host.read_log(sub, offset)
                reads.append((offset, new))
                assert new == offset + len(data)
                chunks, offset = chunks + data, new
                obs = (await host.poll([sub])).get(sub.token)
                if obs is not None and obs.state.is_terminal:
                    data, offset = await host.read_log(sub, offset)
                    chunks += data
                    break
                await asyncio.sleep(0.25)
            head, _ = await host.read_log(sub, 0, limit=6)
            tail, end = await host.read_log(sub, offset)
            assert (tail, end) == (b"", offset)
            return reads, chunks, head
        finally:
            await host.close()

    reads, chunks, head = asyncio.run(scenario())
    assert chunks == b"".join(f"line {i}\n".encode() for i in range(1, 7))
    assert head == b"line 1"
    assert len({new for _, new in reads if new}) >= 2, f"log was not read in pieces: {reads}"


RESUME_NODES = {
    "first": {"exec": "echo first >> starts.txt"},
    "mid[1-3]": {"exec": "echo $HF_JOB >> starts.txt; sleep 6"},
    "last": {"exec": "echo last >> starts.txt"},
}


def test_kill9_coordinator_then_resume_submits_nothing_twice(
    kind: str, make_workflow, home: Path, slurm_names
) -> None:
    where = KINDS[kind]
    nodes = {name: {**where, **node} for name, node in RESUME_NODES.items()}
    path = make_workflow(nodes, ["first,mid1,last", "first,mid2,last", "first,mid3,last"])
    env = {**os.environ, "HYBRIDFLOW_HOME": str(home)}
    command = [sys.executable, "-c", "from hybridflow.cli import main; main()", "workflow", "run", "-q"]
    coordinator = subprocess.Popen([*command, str(path)], env=env, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE)
    store = Store(home / "hybridflow.db")

    def mid_running() -> bool:
        if not store.exists("wf"):
            return False
        jobs = store.view("wf").jobs
        return jobs["first"].state is JobState.DONE and any(
            jobs[f"mid{i}"].state is JobState.RUNNING for i in (1, 2, 3))

    wait_for(mid_running, 90, "a mid job to run")
    coordinator.send_signal(signal.SIGKILL)
    coordinator.wait(10)
    before = {a.token for a in store.attempts("wf")}

    resumed = subprocess.run([*command, "wf"], env=env, capture_output=True, text=True, timeout=180)
    assert resumed.returncode == 0, resumed.stderr
    view = store.view("wf")
    assert {j.state for j in view.jobs.values()} == {JobState.DONE}
    attempts = store.attempts("wf")
    assert sorted(a.job for a in attempts) == ["first", "last", "mid1", "mid2", "mid3"], "one attempt each"
    assert {a.token for a in attempts} >= before
    starts = (job_dir(Workflow("wf", store=store), "first") / "starts.txt").read_text().split()
    assert sorted(starts) == ["first", "last", "mid1", "mid2", "mid3"], f"a job ran twice: {starts}"
    if kind.startswith("slurm"):
        names = slurm_names()
        for attempt in attempts:
            assert names.count(attempt.token) == 1, f"{attempt.job} was submitted {names.count(attempt.token)} times"


@pytest.mark.testbed
def test_events_record_json_messages(hosts_file: Path) -> None:
    """The hosts file written for the suite parses (guards the fixtures themselves)."""
    hosts = config.known_hosts()
    assert {"testbed", "cluster", "localhost"} <= set(hosts)
    assert json.dumps(dict(hosts["cluster"].options))
