"""Usage and cost: Slurm's spellings parsed, node-hours and units computed, bills added up."""

from __future__ import annotations

import pytest

from hybridflow.hosts.slurm import gpus_requested, parse_sacct_usage, parse_squeue
from hybridflow.usage import Bill, Usage, from_tres, parse_duration, parse_mem_mb, parse_tres


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
