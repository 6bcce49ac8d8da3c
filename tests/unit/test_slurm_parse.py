"""Slurm kind: parsers and builders on canned output, and the host's logic over a fake shell
(how many squeue calls, double-submission guard, vanished jobs)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from hybridflow.errors import HostError
from hybridflow.hosts.base import HostConfig, StagedJob, Submission
from hybridflow.hosts.shell import CommandResult, LocalShell
from hybridflow.hosts.slurm import (
    STATES,
    SlurmHost,
    exit_from_status,
    is_transient,
    option_lines,
    parse_parsable,
    parse_sacct,
    parse_squeue,
    script_directives,
    state_of,
)
from hybridflow.spec import JobSpec
from hybridflow.states import JobState

SQUEUE = """\
101|hf-1-a-1-aaaa|PENDING|Priority|0|
102|hf-1-b-1-bbbb|RUNNING|None|0|
103|hf-1-c-1-cccc|COMPLETED|None|0|
104|hf-1-d-1-dddd|FAILED|NonZeroExitCode|768|
105|hf-1-e-1-eeee|TIMEOUT|TimeLimit|15|
106|hf-1-f-1-ffff|CANCELLED|None|15|
107|hf-1-g-1-gggg|OUT_OF_MEMORY|OutOfMemory|9|
108|hf-1-h-1-hhhh|NODE_FAIL|NodeDown|0|
109|hf-1-i-1-iiii|PREEMPTED|None|0|
110|hf-1-j-1-jjjj|REQUEUED|BeginTime|0|
"""

SACCT = """\
201|hf-1-x-1-xxxx|COMPLETED|0:0|None
201.batch|batch|COMPLETED|0:0|
202|hf-1-y-1-yyyy|CANCELLED by 1001|0:15|None
203|hf-1-z-1-zzzz|FAILED|2:0|NonZeroExitCode
"""


@pytest.mark.parametrize(
    ("raw", "state"),
    [
        ("PENDING", JobState.PENDING), ("RUNNING", JobState.RUNNING), ("COMPLETED", JobState.DONE),
        ("FAILED", JobState.FAILED), ("TIMEOUT", JobState.TIMEOUT), ("CANCELLED", JobState.CANCELED),
        ("CANCELLED by 1001", JobState.CANCELED), ("OUT_OF_MEMORY", JobState.FAILED),
        ("NODE_FAIL", JobState.LOST), ("PREEMPTED", JobState.LOST), ("REQUEUED", JobState.PENDING),
        ("REQUEUE_HOLD", JobState.PENDING), ("COMPLETING", JobState.RUNNING), ("SUSPENDED", JobState.RUNNING),
        ("BOOT_FAIL", JobState.LOST), ("DEADLINE", JobState.TIMEOUT), ("CD", JobState.DONE), ("PD", JobState.PENDING),
        ("OOM", JobState.FAILED), ("RUNNING+", JobState.RUNNING), ("WHATEVER", JobState.UNKNOWN),
    ],
)
def test_every_slurm_state_maps(raw: str, state: JobState) -> None:
    assert state_of(raw)[0] is state


def test_state_table_covers_the_issue_list() -> None:
    for word in ("PENDING", "RUNNING", "COMPLETED", "FAILED", "TIMEOUT", "CANCELLED", "OUT_OF_MEMORY",
                 "NODE_FAIL", "PREEMPTED", "REQUEUED"):
        assert word in STATES


@pytest.mark.parametrize(("raw", "code"), [("0", 0), ("768", 3), ("15", 143), ("9", 137), ("2:0", 2),
                                            ("0:15", 143), ("", None), ("N/A", None), ("x", None)])
def test_exit_codes_from_wait_status_and_pairs(raw: str, code: int | None) -> None:
    assert exit_from_status(raw) == code


def test_parsable_output() -> None:
    assert parse_parsable("12345\n") == "12345"
    assert parse_parsable("12345;cluster2\n") == "12345"
    with pytest.raises(ValueError):
        parse_parsable("sbatch: error: nope")


def test_squeue_records() -> None:
    records = parse_squeue(SQUEUE)
    assert records["101"].state is JobState.PENDING and records["101"].reason == "Priority"
    assert records["102"].exit_code is None  # not finished: no exit code yet
    assert records["104"].exit_code == 3
    assert records["106"].state is JobState.CANCELED
    assert records["110"].state is JobState.PENDING
    assert records["103"].name == "hf-1-c-1-cccc"
    assert parse_squeue("") == {}


def test_sacct_records_skip_steps() -> None:
    records = parse_sacct(SACCT)
    assert set(records) == {"201", "202", "203"}
    assert records["202"].state is JobState.CANCELED and records["202"].exit_code == 143
    assert records["203"].exit_code == 2


def test_script_directives_stop_at_first_command() -> None:
    text = "#!/bin/bash\n#SBATCH --time=5\n# comment\n\n#SBATCH -p dev\necho hi\n#SBATCH --mem=1G\n"
    assert script_directives(text) == ["#SBATCH --time=5", "#SBATCH -p dev"]


def test_option_lines_keys_and_extra_args() -> None:
    lines = option_lines({"partition": "gpu", "time": "01:00:00", "nodes": 2, "cpus": 4, "mem": "8G", "gpus": 1,
                          "gres": "gpu:a100:1", "account": "proj", "sbatch": "--qos=high --constraint a100 --exclusive"})
    assert lines == [
        "#SBATCH --partition=gpu", "#SBATCH --time=01:00:00", "#SBATCH --nodes=2", "#SBATCH --cpus-per-task=4",
        "#SBATCH --mem=8G", "#SBATCH --gpus=1", "#SBATCH --gres=gpu:a100:1", "#SBATCH --account=proj",
        "#SBATCH --qos=high", "#SBATCH --constraint a100", "#SBATCH --exclusive",
    ]
    assert option_lines({"sbatch": ["--qos", "low"]}) == ["#SBATCH --qos low"]
    with pytest.raises(HostError):
        option_lines({"partition": "a\nb"})


def test_transient_errors() -> None:
    assert is_transient("sbatch: error: Batch job submission failed: Unable to contact slurm controller (connect failure)")
    assert is_transient("Socket timed out on send/recv operation")
    assert not is_transient("sbatch: error: invalid partition specified: nope")


# -- the host over a fake shell ------------------------------------------------------------


class FakeSlurm(LocalShell):
    """Answers sbatch/squeue/scancel/sacct from a dict of jobs; files are real (tmp dir)."""

    def __init__(self) -> None:
        super().__init__()
        self.jobs: dict[str, tuple[str, str]] = {}  # id -> (name, state)
        self.calls: list[list[str]] = []
        self.sbatch_timeout_after_accept = False
        self.controller_down = False
        self.next_id = 500

    async def run(self, argv: Sequence[str], *, input: bytes | None = None, timeout: float = 60) -> CommandResult:
        argv = list(argv)
        self.calls.append(argv)
        if argv[0] in ("sbatch", "squeue", "scancel", "sacct") and self.controller_down:
            return CommandResult(tuple(argv), 1, b"", b"Unable to contact slurm controller (connect failure)")
        if argv[0] == "sbatch":
            text = Path(argv[-1]).read_text()
            name = next(line.split("=", 1)[1] for line in text.splitlines() if line.startswith("#SBATCH --job-name="))
            self.next_id += 1
            self.jobs[str(self.next_id)] = (name, "PENDING")
            if self.sbatch_timeout_after_accept:
                raise HostError("sbatch timed out after 60s", transient=True)
            return CommandResult(tuple(argv), 0, f"{self.next_id}\n".encode(), b"")
        if argv[0] == "squeue":
            wanted = argv[argv.index("-j") + 1].split(",") if "-j" in argv else list(self.jobs)
            lines = [f"{i}|{self.jobs[i][0]}|{self.jobs[i][1]}|None|0|" for i in wanted if i in self.jobs]
            if "-j" in argv and not lines:
                return CommandResult(tuple(argv), 1, b"", b"slurm_load_jobs error: Invalid job id specified")
            return CommandResult(tuple(argv), 0, "\n".join(lines).encode(), b"")
        if argv[0] == "scancel":
            for job_id in argv[1:]:
                self.jobs[job_id] = (self.jobs[job_id][0], "CANCELLED")
            return CommandResult(tuple(argv), 0, b"", b"")
        if argv[0] == "sacct":
            return CommandResult(tuple(argv), 1, b"", b"Slurm accounting storage is disabled")
        return await super().run(argv, input=input, timeout=timeout)

    def count(self, command: str) -> int:
        return sum(1 for call in self.calls if call[0] == command)


def _staged(tmp_path: Path, i: int, **args: object) -> StagedJob:
    spec = JobSpec(name=f"j{i}", kind="slurm", exec="true", args=args)
    run = tmp_path / "run"
    run.mkdir(exist_ok=True)
    return StagedJob("wf", f"j{i}", 1, f"hf-1-j{i}-1-{i:04x}", spec, str(run), f"j{i}", tmp_path)


def _host(shell: FakeSlurm, **options: object) -> SlurmHost:
    return SlurmHost(HostConfig(name="localhost", kind="slurm", options={"min_poll_gap": 0, **options}), shell=shell)


def test_one_squeue_per_poll_for_all_jobs(tmp_path: Path) -> None:
    shell = FakeSlurm()
    host = _host(shell, partition="debug")
    jobs = [_staged(tmp_path, i) for i in range(50)]

    async def scenario() -> None:
        subs = await host.submit(jobs)
        assert [s.native_id for s in subs] == [str(501 + i) for i in range(50)]
        before = shell.count("squeue")
        observed = await host.poll(subs)
        assert shell.count("squeue") - before == 1
        assert {o.state for o in observed.values()} == {JobState.PENDING}

    asyncio.run(scenario())
    assert shell.count("sbatch") == 50
    wrapper = (tmp_path / "run" / "j0.hflow.sh").read_text()
    assert "#SBATCH --partition=debug" in wrapper and "#SBATCH --job-name=hf-1-j0-1-0000" in wrapper


def test_polls_closer_than_min_gap_ask_nothing(tmp_path: Path) -> None:
    shell = FakeSlurm()
    host = _host(shell, min_poll_gap=60)

    async def scenario() -> None:
        subs = await host.submit([_staged(tmp_path, 1)])
        assert await host.poll(subs)
        assert await host.poll(subs) == {}

    asyncio.run(scenario())
    assert shell.count("squeue") == 1


def test_sbatch_timeout_after_accept_is_found_not_resubmitted(tmp_path: Path) -> None:
    shell = FakeSlurm()
    shell.sbatch_timeout_after_accept = True
    host = _host(shell)
    [sub] = asyncio.run(host.submit([_staged(tmp_path, 7)]))
    assert sub.native_id == "501"
    assert shell.count("sbatch") == 1


def test_recover_finds_by_token_or_reports_never_started(tmp_path: Path) -> None:
    shell = FakeSlurm()
    host = _host(shell)
    job = _staged(tmp_path, 3)
    asyncio.run(host.submit([job]))
    fresh = _host(shell)  # a restarted coordinator
    found = asyncio.run(fresh.recover(job))
    assert found is not None and found.native_id == "501"
    assert asyncio.run(fresh.recover(_staged(tmp_path, 4))) is None
    assert shell.count("sbatch") == 1


def test_controller_down_is_transient_and_unknown_never_failed(tmp_path: Path) -> None:
    shell = FakeSlurm()
    host = _host(shell)
    job = _staged(tmp_path, 1)
    [sub] = asyncio.run(host.submit([job]))
    shell.controller_down = True
    with pytest.raises(HostError) as info:
        asyncio.run(host.poll([sub]))
    assert info.value.transient
    with pytest.raises(HostError) as info:
        asyncio.run(host.submit([_staged(tmp_path, 2)]))
    assert info.value.transient


def test_vanished_job_is_unknown_until_its_exit_file_tells(tmp_path: Path) -> None:
    shell = FakeSlurm()
    host = _host(shell)
    [sub] = asyncio.run(host.submit([_staged(tmp_path, 1)]))
    shell.jobs.clear()  # MinJobAge passed, no accounting
    assert asyncio.run(host.poll([sub]))[sub.token].state is JobState.UNKNOWN
    (tmp_path / "run" / "j1.exit").write_text("0 hf-stale-token\n")  # another attempt's: no evidence
    assert asyncio.run(host.poll([sub]))[sub.token].state is JobState.UNKNOWN
    (tmp_path / "run" / "j1.exit").write_text(f"0 {sub.token}\n")
    assert asyncio.run(host.poll([sub]))[sub.token].state is JobState.DONE


def test_exit_file_decides_a_normal_end_slurm_a_killed_one(tmp_path: Path) -> None:
    shell = FakeSlurm()
    host = _host(shell)
    subs = asyncio.run(host.submit([_staged(tmp_path, i) for i in range(3)]))
    shell.jobs["501"] = (shell.jobs["501"][0], "COMPLETED")
    shell.jobs["502"] = (shell.jobs["502"][0], "FAILED")
    shell.jobs["503"] = (shell.jobs["503"][0], "TIMEOUT")
    (tmp_path / "run" / "j0.exit").write_text(f"0 {subs[0].token}\n")
    (tmp_path / "run" / "j1.exit").write_text(f"4 {subs[1].token}\n")
    seen = asyncio.run(host.poll(subs))
    assert (seen[subs[0].token].state, seen[subs[0].token].exit_code) == (JobState.DONE, 0)
    assert (seen[subs[1].token].state, seen[subs[1].token].exit_code) == (JobState.FAILED, 4)
    assert seen[subs[2].token].state is JobState.TIMEOUT


def test_cancel_is_one_scancel(tmp_path: Path) -> None:
    shell = FakeSlurm()
    host = _host(shell)
    subs = asyncio.run(host.submit([_staged(tmp_path, i) for i in range(5)]))
    asyncio.run(host.cancel(subs))
    assert shell.count("scancel") == 1
    assert {state for _, state in shell.jobs.values()} == {"CANCELLED"}
    seen = asyncio.run(host.poll(subs))
    assert {o.state for o in seen.values()} == {JobState.CANCELED}


def test_node_keys_override_script_and_host_defaults(tmp_path: Path) -> None:
    (tmp_path / "train.sh").write_text("#!/bin/bash\n#SBATCH --time=10\n#SBATCH --partition=dev\necho\n")
    spec = JobSpec(name="t", kind="slurm", script="train.sh", args={"partition": "gpu", "gpus": 2})
    host = _host(FakeSlurm(), partition="debug", account="proj")
    job = StagedJob("wf", "t", 1, "hf-tok", spec, "/w", "t", tmp_path)
    lines = host.directives(job, "/w")
    assert lines.index("#SBATCH --partition=debug") < lines.index("#SBATCH --partition=dev") < lines.index(
        "#SBATCH --partition=gpu")
    assert "#SBATCH --gpus=2" in lines and "#SBATCH --account=proj" in lines and "#SBATCH --time=10" in lines
    assert lines[-3:] == ["#SBATCH --job-name=hf-tok", "#SBATCH --output=/w/t.slurm.out", "#SBATCH --chdir=/w"]


def test_unconfirmed_submission_is_cancelled_by_name(tmp_path: Path) -> None:
    shell = FakeSlurm()
    host = _host(shell)
    job = _staged(tmp_path, 1)
    asyncio.run(host.submit([job]))
    sub = Submission(job.job, 1, job.token, "localhost", None, job.workdir, job.stem)
    asyncio.run(host.cancel([sub]))
    assert shell.jobs["501"][1] == "CANCELLED"


def test_long_running_jobs_are_asked_about_less_often(tmp_path: Path) -> None:
    shell = FakeSlurm()
    host = _host(shell, min_poll_gap=1)
    subs = asyncio.run(host.submit([_staged(tmp_path, 1)]))
    now = time.monotonic()
    assert host.gap(subs, now) == 1
    host._first_seen[subs[0].token] = now - 600  # running for ten minutes
    assert host.gap(subs, now) == 30
    host._first_seen[subs[0].token] = now - 7200
    assert host.gap(subs, now) == 60
    asyncio.run(host.poll(subs))
    assert asyncio.run(host.poll(subs)) == {}  # within the minute: no squeue
    assert shell.count("squeue") == 1


def test_job_timeout_becomes_time_limit_unless_time_given(tmp_path: Path) -> None:
    host = _host(FakeSlurm())
    job = StagedJob("wf", "t", 1, "hf-t", JobSpec(name="t", kind="slurm", exec="true", timeout=90.0),
                    "/w", "t", tmp_path)
    assert "#SBATCH --time=3" in host.directives(job, "/w")
    job = StagedJob("wf", "t", 1, "hf-t", JobSpec(name="t", kind="slurm", exec="true", timeout=7200.0,
                                                  args={"time": "30"}), "/w", "t", tmp_path)
    lines = host.directives(job, "/w")
    assert [line for line in lines if "--time" in line] == ["#SBATCH --time=30"]
