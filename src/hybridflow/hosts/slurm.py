"""The ``slurm`` kind: ``sbatch --parsable``, one ``squeue`` per poll, ``scancel``.

Runs on this machine when the host has no address, else on the login node over the host's
one SSH connection (same class, other :class:`~hybridflow.hosts.shell.Shell`).

Node keys (defaults from the host entry): ``partition``, ``time``, ``nodes``, ``ntasks``,
``cpus`` (per task), ``mem``, ``gpus``, ``gres``, ``account``, ``qos``, ``constraint``,
and ``sbatch`` (extra arguments, a string or a list); a job ``timeout`` without ``time``
becomes ``--time`` (rounded up, plus a minute). They become ``#SBATCH`` lines of
the wrapper, after the host's defaults and the script's own ``#SBATCH`` lines, so that
the node wins (Slurm applies the last occurrence). The job name is the attempt's token.

Status: ``squeue -t all -j IDS`` once per poll for all of the host's jobs; ``sacct`` only
for jobs that left the queue, and only where accounting works (detected once). Without
accounting a finished job stays in ``squeue -t all`` for ``MinJobAge`` (default 300 s);
after that its exit file still tells, and a job with neither is ``unknown``, not failed.
"""

from __future__ import annotations

import logging
import math
import shlex
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..durations import parse_duration as parse_duration_text
from ..errors import HostError, SpecError
from ..spec import JobSpec
from ..states import JobState
from ..usage import Request, Usage, billing_rate, from_tres, parse_duration, parse_mem_mb, parse_tres, parse_weights
from . import arrays, staging, wrapper
from .attempt import AttemptFiles
from .base import Capabilities, StagedJob, Submission, guard_batch
from .batch import BatchHost, Record, directives
from .shell import CommandResult

log = logging.getLogger(__name__)

#: ``JobArrayID``: ``123`` for a job, ``123_4`` for a task of an array (with ``-r``: one line each)
SQUEUE_FORMAT = "JobArrayID:|,Name:|,State:|,Reason:|,exit_code:|,tres-alloc:|,TimeUsed:|,NumNodes:|,tres-per-node:|"
SACCT_FIELDS = "JobID,JobName,State,ExitCode,Reason"
#: per job and step: what it used (TotalCPU of the allocation, MaxRSS of its steps)
SACCT_USAGE_FIELDS = "JobID,ElapsedRaw,AllocTRES,TotalCPU,MaxRSS,NNodes"

#: every Slurm job state (``squeue``/``sacct`` long names) onto ours
STATES: dict[str, JobState] = {
    "PENDING": JobState.PENDING,
    "CONFIGURING": JobState.PENDING,
    "REQUEUED": JobState.PENDING,
    "REQUEUE_HOLD": JobState.PENDING,
    "REQUEUE_FED": JobState.PENDING,
    "RESV_DEL_HOLD": JobState.PENDING,
    "POWER_UP_NODE": JobState.PENDING,
    "RUNNING": JobState.RUNNING,
    "COMPLETING": JobState.RUNNING,
    "STAGE_OUT": JobState.RUNNING,
    "SIGNALING": JobState.RUNNING,
    "RESIZING": JobState.RUNNING,
    "SUSPENDED": JobState.RUNNING,
    "STOPPED": JobState.RUNNING,
    "COMPLETED": JobState.DONE,
    "FAILED": JobState.FAILED,
    "OUT_OF_MEMORY": JobState.FAILED,
    "SPECIAL_EXIT": JobState.FAILED,
    "TIMEOUT": JobState.TIMEOUT,
    "DEADLINE": JobState.TIMEOUT,
    "CANCELLED": JobState.CANCELED,
    "NODE_FAIL": JobState.LOST,
    "BOOT_FAIL": JobState.LOST,
    "PREEMPTED": JobState.LOST,
    "REVOKED": JobState.LOST,
}
SHORT = {"PD": "PENDING", "R": "RUNNING", "CG": "COMPLETING", "CD": "COMPLETED", "F": "FAILED",
         "TO": "TIMEOUT", "CA": "CANCELLED", "OOM": "OUT_OF_MEMORY", "NF": "NODE_FAIL",
         "PR": "PREEMPTED", "RQ": "REQUEUED", "S": "SUSPENDED", "CF": "CONFIGURING", "BF": "BOOT_FAIL",
         "DL": "DEADLINE", "RH": "REQUEUE_HOLD", "RS": "RESIZING", "SE": "SPECIAL_EXIT", "SO": "STAGE_OUT",
         "ST": "STOPPED", "RV": "REVOKED", "SI": "SIGNALING", "RF": "REQUEUE_FED", "RD": "RESV_DEL_HOLD"}

#: node/host keys that become ``#SBATCH --OPTION=VALUE``
OPTIONS = {
    "partition": "--partition",
    "time": "--time",
    "nodes": "--nodes",
    "ntasks": "--ntasks",
    "cpus": "--cpus-per-task",
    "mem": "--mem",
    "gpus": "--gpus",
    "gres": "--gres",
    "account": "--account",
    "qos": "--qos",
    "constraint": "--constraint",
}

#: sbatch/squeue errors after which trying again later may work
TRANSIENT = (
    "unable to contact slurm controller",
    "socket timed out",
    "connection refused",
    "temporarily unavailable",
    "zero bytes were transmitted",
    "communication connection failure",
    "slurmctld not responding",
    "connect failure",
    "try again",
)


def state_of(raw: str) -> tuple[JobState, str]:
    """Our state for a Slurm state word (``CANCELLED by 0`` and short codes allowed)."""
    word = raw.strip().split(" ")[0].rstrip("+").upper()
    word = SHORT.get(word, word)
    return STATES.get(word, JobState.UNKNOWN), word


def exit_from_status(raw: str) -> int | None:
    """An exit code from squeue's wait status (``768``) or sacct's ``3:0`` / ``0:9``."""
    raw = raw.strip()
    if not raw or raw.upper() in ("N/A", "(NULL)"):
        return None
    try:
        if ":" in raw:
            code, _, signal = raw.partition(":")
            return 128 + int(signal) if int(signal) else int(code)
        status = int(raw)
    except ValueError:
        return None
    return 128 + (status & 0x7F) if status & 0x7F else status >> 8


def is_transient(text: str) -> bool:
    lowered = text.lower()
    return any(marker in lowered for marker in TRANSIENT)


def parse_parsable(text: str) -> str:
    """The job id printed by ``sbatch --parsable`` (``ID`` or ``ID;CLUSTER``)."""
    for line in text.splitlines():
        line = line.strip()
        if line:
            job_id = line.split(";")[0]
            if job_id.isdigit():
                return job_id
    raise ValueError(f"no job id in sbatch output {text.strip()!r}")


def parse_squeue(text: str) -> dict[str, Record]:
    """Records from ``squeue -h -O`` :data:`SQUEUE_FORMAT` output, keyed by job id."""
    records: dict[str, Record] = {}
    for line in text.splitlines():
        parts = line.split("|")
        if len(parts) < 4 or not parts[0].strip():
            continue
        job_id, name, raw, reason = (p.strip() for p in parts[:4])
        state, word = state_of(raw)
        code = exit_from_status(parts[4]) if len(parts) > 4 else None
        usage = None
        if state.is_terminal and len(parts) > 7:
            elapsed = parse_duration(parts[6])
            tres = parse_tres(parts[5])
            nodes = int(parts[7]) if parts[7].strip().isdigit() else None
            if len(parts) > 8 and not any(k.startswith("gres/gpu") for k in tres):
                # GPUs are in tres-alloc only where AccountingStorageTRES tracks them: the request
                tres.update({"gres/gpu": str(gpus_requested(parts[8]) * (nodes or 1))})
            usage = from_tres("squeue", elapsed, tres, nodes=nodes) if elapsed is not None and tres else None
        records[job_id] = Record(job_id, name, state, word, code if state.is_terminal else None, reason, usage)
    return records


def gpus_requested(text: str) -> int:
    """GPUs per node in squeue's ``tres-per-node`` (``gres:gpu:1``, ``gres/gpu:a100:2``, ``N/A``)."""
    total = 0
    for item in text.replace("gres/", "gres:").split(","):
        words = item.strip().split(":")
        if len(words) >= 2 and words[0] == "gres" and words[1] == "gpu":
            total += int(words[-1]) if len(words) > 2 and words[-1].isdigit() else 1
    return total


def parse_time_limit(text: str) -> float | None:
    """Seconds in a Slurm time limit: ``30`` (minutes), ``MM:SS``, ``HH:MM:SS``, ``D-HH``,
    ``D-HH:MM``, ``D-HH:MM:SS``; None for ``UNLIMITED``, ``INFINITE`` or ``NONE``."""
    text = text.strip()
    try:
        days, dash, rest = text.partition("-") if "-" in text else ("0", "", text)
        parts = [int(p) for p in rest.split(":")]
    except ValueError:
        return None
    if dash:  # D-HH[:MM[:SS]]
        hours, minutes, seconds = (parts + [0, 0])[:3]
    elif len(parts) == 1:
        hours, minutes, seconds = 0, parts[0], 0
    elif len(parts) == 2:
        hours, minutes, seconds = 0, parts[0], parts[1]
    else:
        hours, minutes, seconds = parts[:3]
    return int(days) * 86400 + hours * 3600 + minutes * 60 + seconds


def requested(values: Mapping[str, Any], timeout: float | None) -> Request:
    """What a job's node keys ask Slurm for (``cpus`` per task × ``ntasks``, ``gpus`` or
    ``gres: gpu[:type]:N`` per node, ``mem`` per node, ``time``; else ``timeout``, as
    :meth:`SlurmHost.directives` turns it into ``--time``)."""

    def count(value: Any, default: int) -> int:
        text = str(value).rsplit(":", 1)[-1] if value not in (None, "") else ""
        return int(text) if text.isdigit() else default

    nodes = count(values.get("nodes"), 1)
    gpus = count(values.get("gpus"), 0)
    if not gpus and values.get("gres"):
        gpus = gpus_requested("gres:" + str(values["gres"])) * nodes
    limit = parse_time_limit(str(slurm_time(values["time"]))) if values.get("time") not in (None, "") else None
    if limit is None and timeout is not None:
        limit = (math.ceil(timeout / 60) + 1) * 60.0
    mem = parse_mem_mb(str(values["mem"])) if values.get("mem") not in (None, "") else None
    return Request(cpus=count(values.get("cpus"), 1) * count(values.get("ntasks"), 1), gpus=gpus, mem_mb=mem,
                   nodes=nodes, seconds=limit)


@dataclass(frozen=True, slots=True)
class Partition:
    """What ``scontrol show partition -o`` says that a charge depends on."""

    name: str
    weights: dict[str, float]
    default: bool = False
    max_seconds: float | None = None
    default_seconds: float | None = None


def parse_partitions(text: str) -> dict[str, Partition]:
    """Partitions from ``scontrol show partition -o`` (one ``Key=Value ...`` line each)."""
    found: dict[str, Partition] = {}
    for line in text.splitlines():
        fields = dict(word.split("=", 1) for word in line.split() if "=" in word)
        name = fields.get("PartitionName")
        if not name:
            continue
        found[name] = Partition(name, parse_weights(fields.get("TRESBillingWeights", "")),
                                default=fields.get("Default") == "YES",
                                max_seconds=parse_time_limit(fields.get("MaxTime", "UNLIMITED")),
                                default_seconds=parse_time_limit(fields.get("DefaultTime", "NONE")))
    return found


def max_charge(request: Request, partition: Partition) -> float | None:
    """The most units a job can be charged in ``partition``: its rate × its time limit
    (else the partition's default or maximum); None when nothing limits it."""
    seconds = request.seconds or partition.default_seconds or partition.max_seconds
    if seconds is None:
        return None
    return billing_rate(partition.weights, request) * seconds / 3600


def parse_sacct_usage(text: str) -> dict[str, Usage]:
    """Usages from ``sacct -n -P -o`` :data:`SACCT_USAGE_FIELDS` output (steps included):
    the allocation line gives elapsed time, TRES, CPU time and nodes; the largest MaxRSS of
    its steps is its peak memory."""
    lines = [line.split("|") for line in text.splitlines() if line.count("|") >= 5]
    peaks: dict[str, float] = {}
    for parts in lines:
        job_id, _, step = parts[0].strip().partition(".")
        rss = parse_mem_mb(parts[4]) if parts[4].strip() else None
        if step and rss is not None:
            peaks[job_id] = max(peaks.get(job_id, 0.0), rss)
    found: dict[str, Usage] = {}
    for parts in lines:
        job_id = parts[0].strip()
        if "." in job_id or not parts[1].strip().isdigit():
            continue
        nodes = int(parts[5]) if parts[5].strip().isdigit() else None
        found[job_id] = from_tres("sacct", float(parts[1]), parse_tres(parts[2]), nodes=nodes,
                                  total_cpu=parse_duration(parts[3]), max_rss_mb=peaks.get(job_id))
    return found


def parse_sacct(text: str) -> dict[str, Record]:
    """Records from ``sacct -n -X -P -o`` :data:`SACCT_FIELDS` output (last line per id wins)."""
    records: dict[str, Record] = {}
    for line in text.splitlines():
        parts = line.split("|")
        if len(parts) < 4 or not parts[0].strip() or "." in parts[0]:
            continue
        job_id, name, raw, exit_raw = (p.strip() for p in parts[:4])
        reason = parts[4].strip() if len(parts) > 4 else None
        state, word = state_of(raw)
        records[job_id] = Record(job_id, name, state, word, exit_from_status(exit_raw), reason)
    return records


def script_directives(text: str) -> list[str]:
    """The ``#SBATCH`` lines of a script, read as sbatch does (until the first command)."""
    return directives(text, "#SBATCH")


def option_lines(values: Mapping[str, Any]) -> list[str]:
    """``#SBATCH`` lines for the resource keys and extra ``sbatch`` arguments in ``values``."""
    lines: list[str] = []
    for key, flag in OPTIONS.items():
        value = values.get(key)
        if value is not None and value != "":
            text = slurm_time(value) if key == "time" else value
            lines.append(f"#SBATCH {flag}={_clean(text, key)}")
    extra = values.get("sbatch")
    if extra:
        args = shlex.split(extra) if isinstance(extra, str) else [str(a) for a in extra]
        for group in _option_groups(args):
            lines.append("#SBATCH " + " ".join(_clean(a, "sbatch") for a in group))
    return lines


def _option_groups(args: Iterable[str]) -> list[list[str]]:
    groups: list[list[str]] = []
    for arg in args:
        if arg.startswith("-") or not groups:
            groups.append([arg])
        else:
            groups[-1].append(arg)
    return groups


def slurm_time(value: Any) -> Any:
    """A ``time:`` written as hybridflow writes durations (``1h``, ``90m``, ``2h30m``) in
    Slurm's ``HH:MM:SS``; Slurm's own spellings (``30``, ``1:00:00``, ``1-12``) unchanged."""
    text = str(value).strip()
    if not text or text[-1:].isdigit() or parse_time_limit(text) is not None:
        return value
    try:
        seconds = math.ceil(parse_duration_text(text))
    except SpecError:
        return value  # sbatch names the problem
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def _clean(value: Any, key: str) -> str:
    text = str(value)
    if "\n" in text or "\r" in text:
        raise HostError(f"slurm option '{key}' must be one line")
    return text


class SlurmHost(BatchHost):
    """A Slurm cluster, here (no address) or on a login node over SSH."""

    kind = "slurm"
    capabilities = Capabilities(submitted_state=JobState.PENDING, hands_off=True)
    plain_states = frozenset({"PENDING", "RUNNING"})
    normal_ends = frozenset({"COMPLETED", "FAILED"})

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        setting = self.config.options.get("accounting", "auto")
        self._has_sacct: bool | None = None if setting == "auto" else bool(setting)
        self._partitions: dict[str, Partition] | None = None
        #: sweeps as job arrays (host option ``arrays``, default true); limits read once
        as_arrays = self.config.options.get("arrays", True)
        if not isinstance(as_arrays, bool):
            raise SpecError(f"{as_arrays!r} is not true or false", field=f"hosts.{self.name}.arrays")
        self.arrays = as_arrays
        self._array_limits: arrays.Limits | None = None

    @property
    def throttles_sweeps(self) -> bool:
        return self.arrays

    async def array_limits(self) -> arrays.Limits | None:
        """``MaxArraySize``/``MaxSubmitJobs`` from one ``scontrol show config`` per host; None
        (no arrays) when it cannot be read."""
        if self._array_limits is None:
            result = await self._run("config", ["scontrol", "show", "config"])
            if not result.ok:
                log.info("%s: no job arrays (scontrol show config: %s)", self.name, result.err or result.returncode)
                self.arrays = False
                return None
            self._array_limits = arrays.parse_limits(result.out)
        return self._array_limits

    async def submit(self, jobs: Sequence[StagedJob]) -> list[Submission]:
        """Sweep jobs alike in family, parents and resources as arrays (:mod:`.arrays`);
        every other attempt as its own job."""
        limits = await self.array_limits() if self.arrays and any(j.spec.sweep for j in jobs) else None
        plan = arrays.groups(jobs, {j.job: arrays.resources(self.directives(j, j.workdir)) for j in jobs},
                             limits) if limits is not None else []
        if all(len(group) == 1 for group in plan):
            return await super().submit(jobs)
        marks = {job.token: f"{arrays.ARRAY_MARK}{group[0].token} {index}"
                 for group in plan if len(group) > 1 for index, job in enumerate(group)}

        def header(job: StagedJob, workdir: str) -> list[str]:
            mark = marks.get(job.token)
            return [*self.header(job, workdir), *([mark] if mark else [])]

        prepared = {p.job.token: p for p in await guard_batch(self.files.prepare(list(jobs), header), len(jobs))}
        ids: dict[str, str] = {}
        errors: list[HostError] = []
        for group in plan:
            try:
                if len(group) == 1:
                    ids[group[0].token] = await self._submit_one(prepared[group[0].token])
                else:
                    ids.update(await self._submit_array([prepared[job.token] for job in group]))
            except HostError as exc:
                log.warning("%s: submit of %s failed: %s", self.name, group[0].job, exc)
                errors.append(exc)
        if errors:
            raise HostError(f"{self.name}: {len(errors)} of {len(plan)} submissions failed: {errors[0]}",
                            transient=len(jobs) > 1 or all(e.transient for e in errors))
        return [self.submission(job, ids[job.token]) for job in jobs]

    async def _submit_array(self, items: Sequence[staging.Prepared]) -> dict[str, str]:
        """One ``sbatch --array`` for ``items`` (same family, parents, resources): task ids."""
        first = items[0]
        files = AttemptFiles(first.workdir, first.job.stem)
        throttle = first.job.spec.max_parallel
        lines = [*arrays.resources(self.directives(first.job, first.workdir)),
                 f"#SBATCH --job-name={self.job_name(first.job.token)}",
                 f"#SBATCH --output={files.path('array-%a.slurm.out')}",
                 f"#SBATCH --chdir={first.workdir}",
                 f"#SBATCH --array=0-{len(items) - 1}" + (f"%{throttle}" if throttle else "")]
        if first.job.after_ids:
            lines.append(f"#SBATCH --dependency=afterok:{':'.join(first.job.after_ids)}")
        driver = files.path("array.sh")
        await self.shell.write_bytes(driver, wrapper.render_array(lines, [i.wrapper for i in items]).encode(), 0o755)
        self.stats["arrays"] += 1
        try:
            array_id = self.parse_submit(await self._run("submit", self.submit_argv(driver)))
        except HostError as exc:
            if not exc.transient:
                raise
            found = await self._lookup(first.job.token, fresh=True)  # accepted despite the error?
            if found is None:
                raise
            array_id = arrays.base_id(found.native_id)
        log.debug("%s: %d tasks of %s are array %s", self.name, len(items), first.job.spec.sweep, array_id)
        return {item.job.token: arrays.task_id(array_id, index) for index, item in enumerate(items)}

    async def recover(self, job: StagedJob) -> Submission | None:
        """A task of an array is found by its array's name and its index (its wrapper's
        mark); any other attempt as every batch kind finds it."""
        self.files.remember(job)
        mark = arrays.marked(await self.files.wrapper_text(await self.shell.resolve(job.workdir), job.stem))
        if mark is not None:
            found = await self._lookup(mark[0])
            if found is not None:
                return self.submission(job, arrays.task_id(arrays.base_id(found.native_id), mark[1]))
        return await super().recover(job)

    def directives(self, job: StagedJob, workdir: str) -> list[str]:
        lines = self.node_directives(job, option_lines, "#SBATCH")
        limit = job.spec.timeout
        if limit is not None and not any(line.startswith(("#SBATCH --time", "#SBATCH -t")) for line in lines):
            # the engine enforces ``timeout`` itself; this lets Slurm plan (backfill) and
            # stops the job a minute later should the coordinator be gone
            minutes = math.ceil(limit / 60) + 1
            lines.append(f"#SBATCH --time={minutes}")
        out = AttemptFiles(workdir, job.stem).batch_output("slurm")
        lines += [
            f"#SBATCH --job-name={self.job_name(job.token)}",
            f"#SBATCH --output={out}",
            f"#SBATCH --chdir={workdir}",
        ]
        if job.after_ids:  # a hand-off: Slurm starts it once every named parent completed
            lines.append(f"#SBATCH --dependency=afterok:{':'.join(job.after_ids)}")
        return lines

    async def repoint(self, subs: Sequence[tuple[Submission, tuple[str, ...]]]) -> None:
        """``scontrol update`` each pending job's dependency (a parent's retry was submitted)."""
        for sub, after in subs:
            if sub.native_id:
                dependency = "afterok:" + ":".join(after) if after else ""
                argv = ["scontrol", "update", f"JobId={sub.native_id}", f"Dependency={dependency}"]
                result = await self._run("repoint", argv)
                if not result.ok:
                    log.warning("%s: cannot re-point job %s: %s", self.name, sub.native_id, result.err)

    def submit_argv(self, wrapper: str) -> list[str]:
        return ["sbatch", "--parsable", wrapper]

    def parse_submit(self, result: CommandResult) -> str:
        if not result.ok:
            raise HostError(f"sbatch: {result.err or result.returncode}", transient=is_transient(result.err))
        try:
            return parse_parsable(result.out)
        except ValueError as exc:
            raise HostError(str(exc), transient=True) from None

    def query_argv(self, ids: Sequence[str]) -> list[str]:
        return ["squeue", "-h", "-r", "-t", "all", "-j", ",".join(ids), "-O", SQUEUE_FORMAT]

    def mine_argv(self) -> list[str]:
        return ["squeue", "-h", "-r", "-t", "all", "--me", "-O", SQUEUE_FORMAT]

    def parse_query(self, result: CommandResult) -> dict[str, Record]:
        if not result.ok:
            if "invalid job id" in result.err.lower():
                return {}  # every asked id left the queue
            raise HostError(f"squeue: {result.err or result.returncode}", transient=True)
        return parse_squeue(result.out)

    def cancel_argv(self, ids: Sequence[str]) -> list[str]:
        return ["scancel", *ids]

    async def _sacct(self, argv: list[str]) -> dict[str, Record]:
        if self._has_sacct is False:
            return {}
        result = await self._run("accounting", ["sacct", "-n", "-X", "-P", "-o", SACCT_FIELDS, *argv])
        if not result.ok:
            self._no_accounting(result)
            return {}
        self._has_sacct = True
        return parse_sacct(result.out)

    async def accounting(self, ids: Sequence[str]) -> dict[str, Record]:
        return await self._sacct(["-j", ",".join(ids)])

    async def estimate(self, jobs: Sequence[JobSpec]) -> dict[str, float | None]:
        """The most each job can be charged (one ``scontrol show partition`` per host)."""
        if self._partitions is None:
            result = await self._run("partitions", ["scontrol", "show", "partition", "-o"])
            if not result.ok:
                raise HostError(f"scontrol show partition: {result.err or result.returncode}",
                                transient=is_transient(result.err))
            self._partitions = parse_partitions(result.out)
        default = next((p for p in self._partitions.values() if p.default), None)
        found: dict[str, float | None] = {}
        for job in jobs:
            values = {**self.config.options, **job.args}
            named = str(values.get("partition") or "")
            partition = self._partitions.get(named) if named else default
            if partition is None:
                raise HostError(f"job '{job.name}': no partition '{values.get('partition')}' on {self.name}")
            found[job.name] = max_charge(requested(values, job.timeout), partition)
        return found

    async def usage_detail(self, ids: Sequence[str]) -> dict[str, Usage]:
        """One ``sacct`` for the jobs that finished in this poll, where accounting works."""
        if self._has_sacct is False:
            return {}  # no accounting: squeue's record stands (no CPU time, no RSS)
        result = await self._run("usage", ["sacct", "-n", "-P", "-o", SACCT_USAGE_FIELDS, "-j", ",".join(ids)])
        if not result.ok:
            self._no_accounting(result)
            return {}
        self._has_sacct = True
        return parse_sacct_usage(result.out)

    def _no_accounting(self, result: CommandResult) -> None:
        """A failed sacct: remember that there is no accounting, unless it may come back."""
        if self._has_sacct is None and not is_transient(result.err):
            log.info("%s: no Slurm accounting (%s); using squeue and exit files", self.name, result.err)
            self._has_sacct = False

    async def _account_name(self, name: str) -> Record | None:
        found = await self._sacct(["--name", name, "-S", "now-7days"])
        return next((r for r in found.values() if r.name == name), None)
