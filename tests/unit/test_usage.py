"""Usage and cost: Slurm's spellings parsed, node-hours and units computed, bills added up."""

from __future__ import annotations

import pytest

from hybridflow.budget import Budget
from hybridflow.hosts.slurm import (
    gpus_requested,
    max_charge,
    parse_partitions,
    parse_sacct_usage,
    parse_squeue,
    parse_time_limit,
    requested,
    slurm_time,
)
from hybridflow.usage import (
    Bill,
    Request,
    Usage,
    billing_rate,
    from_tres,
    parse_duration,
    parse_mem_mb,
    parse_tres,
    parse_weights,
)


@pytest.mark.parametrize(("text", "seconds"), [("0:01", 1), ("01:02", 62), ("1:02:03", 3723), ("2-01:00:00", 176400),
                                               ("00:01.500", 1.5), ("INVALID", None), ("", None)])
def test_durations(text: str, seconds: float | None) -> None:
    assert parse_duration(text) == seconds


def test_memory_and_tres() -> None:
    assert [parse_mem_mb(t) for t in ("24105M", "4G", "512K", "1000", "x")] == [24105, 4096, 0.5, 1000, None]
    assert parse_tres("cpu=2,mem=4G,node=1,billing=4,gres/gpu=1") == {
        "cpu": "2", "mem": "4G", "node": "1", "billing": "4", "gres/gpu": "1"}
    assert parse_tres("N/A") == {} and parse_tres("") == {}
    assert [gpus_requested(t) for t in ("gres:gpu:1", "gres/gpu:a100:2", "gres:gpu", "N/A")] == [1, 2, 1, 0]


def test_the_rivanna_rule_cores_plus_two_per_gpu() -> None:
    """A 2-core 1-GPU hour billed CPU=1.0,GRES/gpu=2.0 is 4 units; node-hours count nodes."""
    usage = from_tres("sacct", 3600.0, parse_tres("billing=4,cpu=2,gres/gpu=1,mem=8G,node=2"), total_cpu=3600.0)
    assert (usage.units, usage.node_hours, usage.gpus, usage.mem_mb) == (4.0, 2.0, 1, 8192.0)
    assert usage.cpu_efficiency == 0.5
    assert Usage.from_json(usage.to_json()) == usage
    assert Usage.from_json("garbage") is None and Usage.from_json(None) is None
    bill = Bill.of([usage, from_tres("squeue", 1800.0, {"billing": "2", "cpu": "2"})])
    assert (bill.attempts, bill.units, bill.node_hours, sorted(bill.sources)) == (2, 5.0, 2.5, ["sacct", "squeue"])


def test_squeue_record_of_a_finished_job_carries_its_usage() -> None:
    text = ("7|hf-a|COMPLETED|None|0|cpu=2,node=1,billing=2|1:00|1|gres:gpu:1|\n"
            "8|hf-b|RUNNING|None|0|cpu=1,node=1,billing=1|0:30|1|N/A|\n")
    records = parse_squeue(text)
    done = records["7"].usage
    assert done is not None and (done.source, done.elapsed, done.cpus, done.gpus, done.billing) == ("squeue", 60, 2, 1, 2)
    assert records["8"].usage is None, "a running job has no final usage yet"
    assert parse_squeue("9|hf-c|FAILED|None|256|\n")["9"].usage is None, "an older squeue format: no usage, no error"


def test_sacct_usage_takes_cpu_time_from_the_job_and_peak_memory_from_its_steps() -> None:
    text = ("12|61|billing=4,cpu=2,gres/gpu=1,node=1|00:30.500|||1\n"
            "12.batch|61|cpu=2,gres/gpu=1,mem=0,node=1|00:30.400|20480K|1\n"
            "12.extern|61|billing=4,cpu=2,gres/gpu=1,node=1|00:00.100|1024K|1\n")
    usage = parse_sacct_usage(text)["12"]
    assert (usage.source, usage.elapsed, usage.billing, usage.gpus, usage.total_cpu, usage.max_rss_mb) == (
        "sacct", 61.0, 4.0, 1, 30.5, 20.0)


@pytest.mark.parametrize(("text", "seconds"), [("30", 1800), ("0:30", 30), ("1:00:00", 3600), ("2-00", 172800),
                                               ("1-02:03", 93780), ("1-00:00:01", 86401), ("UNLIMITED", None)])
def test_slurm_time_limits(text: str, seconds: float | None) -> None:
    assert parse_time_limit(text) == seconds


def test_weights_requests_and_the_most_a_job_can_cost() -> None:
    weights = parse_weights("CPU=1.0,Mem=0.25G,GRES/gpu=2.0")
    assert weights == {"cpu": 1.0, "mem": 0.25 / 1024, "gres/gpu": 2.0}
    ask = requested({"cpus": 2, "gres": "gpu:a100:1", "time": "2:00:00", "mem": "4G"}, None)
    assert (ask.cpus, ask.gpus, ask.mem_mb, ask.seconds) == (2, 1, 4096, 7200)
    assert billing_rate(weights, ask) == 5.0  # 2 cores + 2 x 1 GPU + 4 GB x 0.25
    assert billing_rate({}, ask) == 2.0, "no weights: Slurm bills one unit per CPU"
    assert requested({"ntasks": 4, "cpus": 2, "nodes": 2, "gpus": 2}, timeout=90).seconds == 180  # --time=3
    partitions = parse_partitions(
        "PartitionName=gpu Default=NO MaxTime=1-00:00:00 DefaultTime=NONE TRESBillingWeights=CPU=1.0,GRES/gpu=2.0\n"
        "PartitionName=debug Default=YES MaxTime=UNLIMITED DefaultTime=NONE\n")
    assert partitions["gpu"].weights == {"cpu": 1.0, "gres/gpu": 2.0} and partitions["debug"].default
    assert max_charge(Request(cpus=2, gpus=1, seconds=3600), partitions["gpu"]) == 4.0
    assert max_charge(Request(cpus=2, gpus=1), partitions["gpu"]) == 96.0, "no limit of its own: the partition's"
    assert max_charge(Request(cpus=1), partitions["debug"]) is None, "nothing bounds it"


def test_budget_commits_estimates_and_settles_actual_charges() -> None:
    budget = Budget(10.0, {"a": 6.0, "b": 6.0, "free": None})
    assert budget.admit("local-job") is None, "a job that bills nothing always runs"
    assert budget.admit("a") is None and budget.committed == 6.0
    refusal = budget.admit("b")
    assert refusal is not None and "budget 10 units would be exceeded (6 committed, this job up to 6)" in refusal
    budget.settle("a", 1.0)  # a cost far less than it might have
    assert budget.committed == 1.0 and budget.admit("b") is None
    assert "nothing bounds" in (budget.admit("free") or "")


def test_time_written_as_a_hybridflow_duration_reaches_sbatch_in_slurms_spelling() -> None:
    assert [slurm_time(v) for v in ("1h", "2h30m", "90s", 30, "1:00:00", "1-12", "soon")] == [
        "1:00:00", "2:30:00", "0:01:30", 30, "1:00:00", "1-12", "soon"]
    assert requested({"time": "1h"}, None).seconds == 3600
