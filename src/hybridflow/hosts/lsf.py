"""The ``lsf`` kind (IBM Spectrum LSF): ``bsub < WRAPPER``, one ``bjobs`` per poll, ``bkill``.

Not run against a real LSF cluster (none is available here): the argv builders and
output parsers are unit-tested on canned output; transport, staging, exit files and
recovery are the code paths shared with the Slurm kind, which are run for real.

Node keys (defaults from the host entry): ``queue``, ``time`` (``-W``, minutes or
``HH:MM``), ``cpus`` (``-n``), ``mem`` (``-M``), ``gpus`` (``-gpu "num=N"``), ``project``
(``-P``), ``bsub`` (extra arguments). They become ``#BSUB`` lines of the wrapper after the
script's own ``#BSUB`` lines; ``bsub`` reads them because the wrapper comes on stdin.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import HostError
from ..states import JobState
from .attempt import AttemptFiles
from .base import StagedJob
from .batch import BatchHost, Record, directives
from .shell import CommandResult

BJOBS_FORMAT = "jobid stat exit_code job_name pend_reason delimiter='|'"

STATES: dict[str, JobState] = {
    "PEND": JobState.PENDING,
    "PROV": JobState.PENDING,
    "WAIT": JobState.PENDING,
    "PSUSP": JobState.PENDING,
    "RUN": JobState.RUNNING,
    "USUSP": JobState.RUNNING,
    "SSUSP": JobState.RUNNING,
    "DONE": JobState.DONE,
    "EXIT": JobState.FAILED,
    "UNKWN": JobState.UNKNOWN,
    "ZOMBI": JobState.LOST,
}

OPTIONS = {"queue": "-q", "time": "-W", "cpus": "-n", "mem": "-M", "project": "-P"}
_SUBMITTED = re.compile(r"Job <(\d+)> is submitted")
TRANSIENT = ("lsbatch daemons not responding", "cannot connect", "timed out", "try again", "batch system not")


def parse_bsub(text: str) -> str:
    """The job id in ``Job <123> is submitted to queue <normal>.``"""
    match = _SUBMITTED.search(text)
    if not match:
        raise ValueError(f"no job id in bsub output {text.strip()!r}")
    return match.group(1)


def parse_bjobs(text: str) -> dict[str, Record]:
    """Records from ``bjobs -noheader -o`` :data:`BJOBS_FORMAT` output."""
    records: dict[str, Record] = {}
    for line in text.splitlines():
        parts = [p.strip() for p in line.split("|")]
        if len(parts) < 4 or not parts[0].isdigit():
            continue
        job_id, raw, exit_raw, name = parts[:4]
        reason = parts[4] if len(parts) > 4 and parts[4] not in ("-", "") else None
        state = STATES.get(raw, JobState.UNKNOWN)
        code: int | None = None
        if exit_raw.isdigit():
            code = int(exit_raw)
        elif raw == "DONE":
            code = 0
        records[job_id] = Record(job_id, name, state, raw, code, reason)
    return records


def option_lines(values: Mapping[str, Any]) -> list[str]:
    lines: list[str] = []
    for key, flag in OPTIONS.items():
        value = values.get(key)
        if value is not None and value != "":
            lines.append(f"#BSUB {flag} {_one_line(value)}")
    if values.get("gpus"):
        lines.append(f'#BSUB -gpu "num={_one_line(values["gpus"])}"')
    extra = values.get("bsub")
    if extra:
        args = shlex.split(extra) if isinstance(extra, str) else [str(a) for a in extra]
        lines.append("#BSUB " + " ".join(_one_line(a) for a in args))
    return lines


def script_directives(text: str) -> list[str]:
    """The ``#BSUB`` lines of a script, read as bsub does (until the first command)."""
    return directives(text, "#BSUB")


def _one_line(value: Any) -> str:
    text = str(value)
    if "\n" in text or "\r" in text:
        raise HostError("lsf option must be one line")
    return text


class LsfHost(BatchHost):
    """An LSF cluster, here (no address) or on a login node over SSH."""

    kind = "lsf"
    plain_states = frozenset({"PEND", "RUN"})
    normal_ends = frozenset({"DONE", "EXIT"})

    def directives(self, job: StagedJob, workdir: str) -> list[str]:
        lines = self.node_directives(job, option_lines, "#BSUB")
        out = AttemptFiles(workdir, job.stem).batch_output("lsf")
        return [*lines, f"#BSUB -J {self.job_name(job.token)}", f"#BSUB -o {out}", f"#BSUB -cwd {workdir}"]

    def submit_argv(self, wrapper: str) -> list[str]:
        return ["sh", "-c", 'exec bsub < "$1"', "hflow-bsub", wrapper]

    def parse_submit(self, result: CommandResult) -> str:
        if not result.ok:
            lowered = result.err.lower()
            raise HostError(f"bsub: {result.err or result.returncode}", transient=any(t in lowered for t in TRANSIENT))
        try:
            return parse_bsub(result.out)
        except ValueError as exc:
            raise HostError(str(exc), transient=True) from None

    def query_argv(self, ids: Sequence[str]) -> list[str]:
        return ["bjobs", "-a", "-noheader", "-o", BJOBS_FORMAT, *ids]

    def mine_argv(self) -> list[str]:
        return ["bjobs", "-a", "-noheader", "-o", BJOBS_FORMAT]

    def parse_query(self, result: CommandResult) -> dict[str, Record]:
        records = parse_bjobs(result.out)
        # "Job <N> is not found" for purged jobs is normal; no output and an error is not
        if not result.ok and not records and "not found" not in result.err.lower() and "no " not in result.err.lower():
            raise HostError(f"bjobs: {result.err or result.returncode}", transient=True)
        return records

    def cancel_argv(self, ids: Sequence[str]) -> list[str]:
        return ["bkill", *ids]
