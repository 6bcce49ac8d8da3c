"""LSF kind (no LSF here): bsub/bjobs/bkill argv builders and parsers on canned output,
and the shared batch logic driven through a fake shell."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

import pytest

from hybridflow.errors import HostError
from hybridflow.hosts.base import HostConfig, StagedJob
from hybridflow.hosts.lsf import BJOBS_FORMAT, LsfHost, option_lines, parse_bjobs, parse_bsub, script_directives
from hybridflow.hosts.shell import CommandResult, LocalShell
from hybridflow.spec import JobSpec
from hybridflow.states import JobState

BJOBS = """\
3001|PEND|-|hf-1-a-1-aaaa|New job is waiting for scheduling;
3002|RUN|-|hf-1-b-1-bbbb|-
3003|DONE|-|hf-1-c-1-cccc|-
3004|EXIT|3|hf-1-d-1-dddd|-
3005|USUSP|-|hf-1-e-1-eeee|-
3006|UNKWN|-|hf-1-f-1-ffff|-
3007|ZOMBI|-|hf-1-g-1-gggg|-
3008|PSUSP|-|hf-1-h-1-hhhh|-
"""


def test_bsub_output() -> None:
    assert parse_bsub("Job <4242> is submitted to queue <normal>.\n") == "4242"
    assert parse_bsub("Job <7> is submitted to default queue <short>.") == "7"
    with pytest.raises(ValueError):
        parse_bsub("Request aborted by esub. Job not submitted.")


def test_bjobs_states() -> None:
    records = parse_bjobs(BJOBS)
    assert {k: r.state for k, r in records.items()} == {
        "3001": JobState.PENDING, "3002": JobState.RUNNING, "3003": JobState.DONE, "3004": JobState.FAILED,
        "3005": JobState.RUNNING, "3006": JobState.UNKNOWN, "3007": JobState.LOST, "3008": JobState.PENDING,
    }
    assert records["3004"].exit_code == 3 and records["3003"].exit_code == 0
    assert records["3001"].reason.startswith("New job")
    assert records["3002"].reason is None


def test_directives_and_argv() -> None:
    assert option_lines({"queue": "gpu", "time": 30, "cpus": 4, "mem": "4G", "project": "p1", "gpus": 2,
                         "bsub": "-R 'span[hosts=1]'"}) == [
        "#BSUB -q gpu", "#BSUB -W 30", "#BSUB -n 4", "#BSUB -M 4G", "#BSUB -P p1", '#BSUB -gpu "num=2"',
        "#BSUB -R span[hosts=1]",
    ]
    assert script_directives("#!/bin/sh\n#BSUB -q long\necho\n#BSUB -n 2\n") == ["#BSUB -q long"]
    host = LsfHost(HostConfig(name="lsf", kind="lsf"))
    assert host.submit_argv("/w/a.hflow.sh") == ["sh", "-c", 'exec bsub < "$1"', "hflow-bsub", "/w/a.hflow.sh"]
    assert host.query_argv(["1", "2"]) == ["bjobs", "-a", "-noheader", "-o", BJOBS_FORMAT, "1", "2"]
    assert host.cancel_argv(["1", "2"]) == ["bkill", "1", "2"]


class FakeLsf(LocalShell):
    def __init__(self) -> None:
        super().__init__()
        self.jobs: dict[str, tuple[str, str, str]] = {}
        self.calls: list[list[str]] = []

    async def run(self, argv: Sequence[str], *, input: bytes | None = None, timeout: float = 60) -> CommandResult:
        argv = list(argv)
        self.calls.append(argv)
        if argv[:2] == ["sh", "-c"] and argv[3] == "hflow-bsub":
            text = Path(argv[4]).read_text()
            name = next(line.split()[2] for line in text.splitlines() if line.startswith("#BSUB -J "))
            job_id = str(9000 + len(self.jobs))
            self.jobs[job_id] = (name, "PEND", "-")
            return CommandResult(tuple(argv), 0, f"Job <{job_id}> is submitted to queue <normal>.\n".encode(), b"")
        if argv[0] == "bjobs":
            ids = argv[5:] or list(self.jobs)
            out = [f"{i}|{self.jobs[i][1]}|{self.jobs[i][2]}|{self.jobs[i][0]}|-" for i in ids if i in self.jobs]
            err = "".join(f"Job <{i}> is not found\n" for i in ids if i not in self.jobs)
            return CommandResult(tuple(argv), 1 if err else 0, "\n".join(out).encode(), err.encode())
        if argv[0] == "bkill":
            for i in argv[1:]:
                self.jobs[i] = (self.jobs[i][0], "EXIT", "130")
            return CommandResult(tuple(argv), 0, b"", b"")
        return await super().run(argv, input=input, timeout=timeout)


def test_lsf_host_flow_over_fake_shell(tmp_path: Path) -> None:
    shell = FakeLsf()
    host = LsfHost(HostConfig(name="lsf", kind="lsf", options={"queue": "normal", "min_poll_gap": 0}), shell=shell)
    run = tmp_path / "run"
    jobs = [StagedJob("wf", f"j{i}", 1, f"hf-tok{i}", JobSpec(name=f"j{i}", kind="lsf", exec="true"), str(run),
                      f"j{i}", tmp_path) for i in range(3)]

    async def scenario() -> None:
        subs = await host.submit(jobs)
        assert [s.native_id for s in subs] == ["9000", "9001", "9002"]
        assert {o.state for o in (await host.poll(subs)).values()} == {JobState.PENDING}
        shell.jobs["9000"] = ("hf-tok0", "DONE", "-")
        shell.jobs["9001"] = ("hf-tok1", "EXIT", "5")
        (run / "j0.exit").write_text("0 hf-tok0\n")
        seen = await host.poll(subs)
        assert seen["hf-tok0"].state is JobState.DONE
        assert (seen["hf-tok1"].state, seen["hf-tok1"].exit_code) == (JobState.FAILED, 5)
        del shell.jobs["9002"]  # purged from bjobs, no exit file: unknown, not failed
        assert (await host.poll(subs))["hf-tok2"].state is JobState.UNKNOWN
        assert (await LsfHost(host.config, shell=shell).recover(jobs[0])).native_id == "9000"
        await host.cancel(subs[:2])

    asyncio.run(scenario())
    assert sum(1 for c in shell.calls if c[0] == "bkill") == 1
    assert "#BSUB -q normal" in (run / "j0.hflow.sh").read_text()
    assert LsfHost(HostConfig(name="lsf")).max_parallel == 100


def test_bjobs_failure_without_output_is_transient() -> None:
    host = LsfHost(HostConfig(name="lsf", kind="lsf"))
    with pytest.raises(HostError) as info:
        host.parse_query(CommandResult(("bjobs",), 255, b"", b"LSF is down. Please wait ..."))
    assert info.value.transient
