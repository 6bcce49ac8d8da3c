"""Cost on the real Slurm testbed: every Slurm attempt records what it used, and the bill
(CLI, API, REST) matches Slurm's own billing rule for the partition.

The expected charge rate is computed here from ``scontrol show partition`` (its
``TRESBillingWeights``: with ``TESTBED_ACCOUNTING=1`` the ``gpu`` partition bills
``CPU=1.0,GRES/gpu=2.0``, Rivanna's cores + 2 x GPUs; without, ``CPU=1.0``), not read
back from what hybridflow stored, so a wrong parse or a wrong unit fails the test.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from hybridflow import Workflow, WorkflowState
from hybridflow.render.cost import cost
from hybridflow.service.app import create_app

from hostsupport import Testbed
from support import hflow

pytestmark = pytest.mark.testbed


def billing_weights(partition: str) -> dict[str, float]:
    out = subprocess.run(["scontrol", "show", "partition", partition, "-o"], capture_output=True, text=True,
                         check=True, timeout=30).stdout
    field = next((w for w in out.split() if w.startswith("TRESBillingWeights=")), "TRESBillingWeights=CPU=1.0")
    weights = {}
    for item in field.split("=", 1)[1].split(","):
        key, _, value = item.partition("=")
        weights[key.lower()] = float(value)
    return weights


def test_gpu_and_cpu_jobs_are_billed_by_the_partition_rule(testbed: Testbed, home: Path, make_workflow) -> None:
    path = make_workflow(
        {
            "gpu": {"kind": "slurm", "partition": "gpu", "gres": "gpu:1", "cpus": 2, "exec": "sleep 2"},
            "cpu": {"kind": "slurm", "partition": "debug", "cpus": 1, "exec": "sleep 1"},
            "here": {"exec": "true"},
        },
    )
    wf = Workflow.load(path)
    assert wf.run() is WorkflowState.DONE
    report = cost(wf.status(), wf.store.attempts(wf.name))
    gpu_rate = 2 * billing_weights("gpu").get("cpu", 1.0) + billing_weights("gpu").get("gres/gpu", 0.0)
    usage = report.latest["gpu"]
    assert (usage.cpus, usage.gpus, usage.billing) == (2, 1, gpu_rate)
    assert 2 <= usage.elapsed <= 30 and usage.units == pytest.approx(gpu_rate * usage.elapsed / 3600)
    assert usage.node_hours == pytest.approx(usage.elapsed / 3600)
    assert report.latest["cpu"].billing == billing_weights("debug").get("cpu", 1.0)
    assert report.unmetered == ["here"], "a local job is named, not billed"
    assert report.run.units == pytest.approx(sum(u.units for u in report.latest.values()))
    if usage.source == "sacct":  # accounting: CPU time (peak memory only once sampled: every 30 s here)
        assert usage.total_cpu is not None and usage.cpu_efficiency is not None

    printed = hflow("workflow", "cost", wf.name, "-o", "json")
    assert printed.returncode == 0, printed.stderr
    data = json.loads(printed.stdout)
    assert data["jobs"]["gpu"]["latest"]["billing"] == gpu_rate
    assert data["run"]["units"] == pytest.approx(report.run.units, abs=1e-5)
    status = {j["name"]: j for j in json.loads(hflow("workflow", "status", wf.name, "-o", "json").stdout)["jobs"]}
    assert status["gpu"]["usage"]["billing"] == gpu_rate and status["here"]["usage"] is None
    table = hflow("workflow", "cost", wf.name)
    assert "this run" in table.stdout and "not metered (no batch usage): here" in table.stdout

    with TestClient(create_app(home=home, token="t" * 32), headers={"Authorization": "Bearer " + "t" * 32}) as client:
        answer = client.get(f"/api/v1/workflows/{wf.name}/cost")
        assert answer.status_code == 200, answer.text
        assert answer.json()["jobs"]["gpu"]["units"] == data["jobs"]["gpu"]["units"]
        assert client.get("/api/v1/workflows/ghost/cost").status_code == 404


def test_a_sweep_is_billed_per_job_and_as_a_whole(testbed: Testbed, home: Path, make_workflow) -> None:
    path = make_workflow({"s": {"kind": "slurm", "experiments": {"n": "1,2"}, "exec": "sleep {n}"}})
    wf = Workflow.load(path)
    assert wf.run() is WorkflowState.DONE
    report = cost(wf.status(), wf.store.attempts(wf.name))
    assert set(report.jobs) == {"s-n_1", "s-n_2"}
    assert report.sweeps["s"].attempts == 2
    assert report.sweeps["s"].units == pytest.approx(report.jobs["s-n_1"].units + report.jobs["s-n_2"].units)


def test_budget_stops_submission_and_expand_estimates(testbed: Testbed, home: Path, make_workflow) -> None:
    """``expand --cost`` prints rate x time limit per job; with ``budget:`` a job whose
    charge could take the committed total over it is never submitted (no attempt, no
    Slurm job), ends skipped with the reason, and the jobs that fit run."""
    nodes = {
        "big": {"kind": "slurm", "partition": "gpu", "gres": "gpu:1", "cpus": 2, "time": 60, "exec": "true"},
        "small": {"kind": "slurm", "partition": "debug", "cpus": 1, "time": 1, "exec": "sleep 1"},
        "after": {"kind": "slurm", "partition": "debug", "cpus": 1, "time": 1, "exec": "true"},
    }
    path = make_workflow(nodes, ["small,after"])
    estimate = hflow("workflow", "expand", str(path), "--cost", "-o", "json")
    assert estimate.returncode == 0, estimate.stderr
    jobs = json.loads(estimate.stdout)["jobs"]
    gpu = billing_weights("gpu")
    big = 2 * gpu.get("cpu", 1.0) + gpu.get("gres/gpu", 0.0)  # units per hour, for its 60-minute limit
    small = billing_weights("debug").get("cpu", 1.0) * 60 / 3600
    assert jobs == pytest.approx({"big": big, "small": small, "after": small})

    text = path.read_text()
    path.write_text(f"budget: {3 * small}\n{text}")  # room for small and after, not for big
    result = hflow("workflow", "run", str(path), "-q")
    assert result.returncode == 1, result.stdout + result.stderr
    wf = Workflow(path.stem)
    view = wf.status()
    assert {n: j.state.value for n, j in view.jobs.items()} == {"big": "skipped", "small": "done", "after": "done"}
    assert "not submitted: budget" in (view.jobs["big"].message or "")
    assert [a.job for a in wf.store.attempts(wf.name)].count("big") == 0, "never handed to Slurm"

    ghost = hflow("workflow", "cost", "ghost")
    assert ghost.returncode != 0 and ghost.stderr.strip().count("\n") == 0 and "ghost" in ghost.stderr
    bad = make_workflow({"x": {"kind": "slurm", "partition": "nosuch", "exec": "true"}}, name="badpart")
    unknown = hflow("workflow", "expand", str(bad), "--cost")
    assert unknown.returncode != 0 and "no partition 'nosuch'" in unknown.stderr and "Traceback" not in unknown.stderr
    path.write_text("budget: lots\n" + text)
    refused = hflow("workflow", "run", str(path), "-q")
    assert refused.returncode == 2 and "field 'budget'" in refused.stderr and "Traceback" not in refused.stderr
