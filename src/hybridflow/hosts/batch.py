"""Batch-scheduler kinds (Slurm, LSF): the shared submit/poll/cancel/recover logic.

A :class:`BatchHost` stages the wrapper with its
:class:`~hybridflow.hosts.remote.RunDirectory` (through a local or SSH
:class:`~hybridflow.hosts.shell.Shell`, as the ``ssh`` kind does), then hands it to the
batch system with a job name equal to the attempt's token. Subclasses are argv builders
and output parsers only.

Politeness contract, whatever the number of jobs:

* one status query (``squeue``/``bjobs``) per :meth:`poll`, never more often than
  :meth:`gap` seconds (earlier calls return "no news"): :attr:`min_gap` for young jobs,
  growing with the age of the youngest job to :attr:`max_gap` (a job running for 20
  minutes is asked about once a minute); the scheduler backs off further while nothing
  changes;
* accounting (``sacct``) only for jobs that vanished from the queue, and only where it works;
* exit codes come from the wrapper's exit file (one probe command for the jobs that
  ended), then from the batch system.

Double submission: an attempt whose submit timed out is looked up by name before the
error is reported, and :meth:`recover` looks the token up before any resubmission.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from abc import abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import HostError
from ..states import JobState
from ..usage import Usage
from . import staging
from .base import Capabilities, HostConfig, Observation, StagedJob, Submission, guard_batch
from .remote import RemoteHost, stage_record
from .shell import CommandResult, Shell

log = logging.getLogger(__name__)


def directives(text: str, prefix: str) -> list[str]:
    """The directive lines (``#SBATCH``, ``#BSUB``) of a script: comment lines starting
    with ``prefix`` before its first command, as the batch system reads them."""
    lines: list[str] = []
    for number, line in enumerate(text.splitlines()):
        stripped = line.strip()
        if number == 0 and stripped.startswith("#!"):
            continue
        if stripped.startswith(prefix):
            lines.append(stripped)
        elif stripped and not stripped.startswith("#"):
            break
    return lines


@dataclass(frozen=True, slots=True)
class Record:
    """One job as the batch system reports it."""

    native_id: str
    name: str
    state: JobState
    raw: str  # the batch system's own state word
    exit_code: int | None = None
    reason: str | None = None
    usage: Usage | None = None  # of a finished job, where the system reports it

    @property
    def finished(self) -> bool:
        return self.state.is_terminal


class BatchHost(RemoteHost):
    """A batch system reached through a local shell (no ``address``) or over SSH."""

    capabilities = Capabilities(submitted_state=JobState.PENDING)
    poll_interval = 5.0
    #: the least and most time between two status queries of one host
    min_gap = 1.0
    max_gap = 60.0
    command_timeout = 60.0
    #: raw states that need no message; raw end states where the payload itself exited
    plain_states: frozenset[str] = frozenset()
    normal_ends: frozenset[str] = frozenset()

    def __init__(
        self, config: HostConfig, notify: Callable[[], None] | None = None, *, shell: Shell | None = None
    ) -> None:
        super().__init__(config, notify, shell=shell)
        self._last_query = 0.0
        self._by_name: tuple[float, dict[str, Record]] | None = None
        self._first_seen: dict[str, float] = {}
        self.min_gap = float(self.config.options.get("min_poll_gap", type(self).min_gap))
        self.max_gap = max(self.min_gap, float(self.config.options.get("max_poll_gap", type(self).max_gap)))

    def node_directives(self, job: StagedJob, options: Callable[[Mapping[str, Any]], list[str]],
                        prefix: str) -> list[str]:
        """Directive lines in the order the batch system lets the last one win: the host's
        defaults, then the script's own ``prefix`` lines, then the node's keys."""
        lines = options(self.config.options)
        script = job.spec.script_path
        if script and script.endswith(".sh"):
            try:
                text = (job.base_dir / script).read_text(encoding="utf-8", errors="replace")
            except OSError as exc:
                raise HostError(f"job '{job.job}': cannot read {script}: {exc.strerror}") from exc
            lines += directives(text, prefix)
        return lines + options(job.spec.args)

    @property
    def max_parallel(self) -> int:
        return self.config.max_parallel or 100

    @classmethod
    def shares_filesystem(cls, config: HostConfig) -> bool:
        """A batch system reached without SSH and given no ``workdir`` runs on this
        machine's filesystem."""
        return not config.address and not config.workdir

    def run_dir(self, workflow: str, local_run_dir: Path) -> str:
        if self.files.shared:
            return str(local_run_dir)
        return self.files.root(workflow, "~/.hybridflow/runs")

    async def _run(self, name: str, argv: Sequence[str], *, timeout: float | None = None) -> CommandResult:
        self.stats[name] += 1
        return await self.shell.run(argv, timeout=timeout or self.command_timeout)

    # -- what subclasses provide -----------------------------------------------------------

    @staticmethod
    def job_name(token: str) -> str:
        return token if token.startswith("hf-") else f"hf-{token}"

    @abstractmethod
    def directives(self, job: StagedJob, workdir: str) -> list[str]:
        """Header lines (``#SBATCH ...``) for the wrapper of ``job`` in ``workdir``."""

    @abstractmethod
    def submit_argv(self, wrapper: str) -> list[str]: ...

    @abstractmethod
    def parse_submit(self, result: CommandResult) -> str:
        """The native id of a submission; HostError when the system refused it."""

    @abstractmethod
    def query_argv(self, ids: Sequence[str]) -> list[str]: ...

    @abstractmethod
    def parse_query(self, result: CommandResult) -> dict[str, Record]: ...

    @abstractmethod
    def mine_argv(self) -> list[str]:
        """Query of all of this user's jobs the queue still shows (same output format)."""

    @abstractmethod
    def cancel_argv(self, ids: Sequence[str]) -> list[str]: ...

    async def accounting(self, ids: Sequence[str]) -> dict[str, Record]:
        """Records of jobs gone from the queue, where the system keeps them (default: none)."""
        return {}

    async def usage_detail(self, ids: Sequence[str]) -> dict[str, Usage]:
        """Fuller usage of jobs that just finished, where accounting has it (default: none;
        the queue's own record's usage stands)."""
        return {}

    # -- the interface ---------------------------------------------------------------------

    def header(self, job: StagedJob, workdir: str) -> list[str]:
        """Directives and the stage record; HostError when a directive would not be one line
        (a split ``--job-name`` would lose the token that prevents double submission)."""
        lines = self.directives(job, workdir)
        for line in lines:
            if "\n" in line or "\r" in line:
                raise HostError(f"job '{job.job}': directive {line.splitlines()[0]!r} must be one line")
        return [*lines, stage_record(job)]

    async def submit(self, jobs: Sequence[StagedJob]) -> list[Submission]:
        prepared = await guard_batch(self.files.prepare(list(jobs), self.header), len(jobs))
        subs: list[Submission] = []
        errors: list[HostError] = []
        for item in prepared:
            try:
                subs.append(self.submission(item.job, await self._submit_one(item)))
            except HostError as exc:
                log.warning("%s: submit of %s failed: %s", self.name, item.job.job, exc)
                errors.append(exc)
        if errors:
            transient = len(jobs) > 1 or all(e.transient for e in errors)
            raise HostError(f"{self.name}: {len(errors)} of {len(jobs)} submissions failed: {errors[0]}",
                            transient=transient)
        return subs

    async def _submit_one(self, item: staging.Prepared) -> str:
        try:
            native_id = self.parse_submit(await self._run("submit", self.submit_argv(item.wrapper)))
        except HostError as exc:
            if not exc.transient:
                raise
            # it may have been accepted before the timeout or error: never submit twice
            found = await self._lookup(item.job.token, fresh=True)
            if found is None:
                raise
            log.info("%s: %s was accepted despite: %s", self.name, item.job.job, exc)
            return found.native_id
        log.debug("%s: %s is job %s", self.name, item.job.job, native_id)
        return native_id

    def gap(self, subs: Sequence[Submission], now: float) -> float:
        """Seconds to leave between queries: 1/20 of the youngest job's age, within bounds."""
        for sub in subs:
            self._first_seen.setdefault(sub.token, now)
        youngest = min((now - self._first_seen[s.token] for s in subs), default=0.0)
        return min(self.max_gap, max(self.min_gap, youngest / 20))

    async def poll(self, subs: Sequence[Submission]) -> dict[str, Observation]:
        now = time.monotonic()
        if now - self._last_query < self.gap(subs, now):
            return {}
        self._last_query = now
        self.stats["poll"] += 1
        ids = [s.native_id for s in subs if s.native_id]
        records: dict[str, Record] = {}
        if ids:
            result = await self._run("query", self.query_argv(ids))
            records = self.parse_query(result)
        vanished = [i for i in ids if i not in records]
        if vanished:
            records.update(await self.accounting(vanished))
        ended = [s for s in subs if s.native_id not in records or records[s.native_id].finished]
        exits = await self._exit_files(ended)
        finished = [i for i in ids if i in records and records[i].finished]
        detail = await self.usage_detail(finished) if finished else {}
        found: dict[str, Observation] = {}
        for sub in subs:
            record = records.get(sub.native_id or "")
            obs = self._observe_record(sub, record, exits.get(sub.token))
            usage = detail.get(sub.native_id or "") or (record.usage if record is not None else None)
            if obs.state.is_terminal and usage is not None:
                obs = dataclasses.replace(obs, usage=usage)
            found[sub.token] = obs
        return found

    async def _exit_files(self, subs: Sequence[Submission]) -> dict[str, str]:
        if not subs:
            return {}
        items = [(await self.shell.resolve(s.workdir), s.stem, "-", s.token) for s in subs]
        self.stats["probe"] += 1
        words = await staging.probe(self.shell, items)
        return {s.token: value for s, (word, value) in zip(subs, words) if word == "exit"}

    def _observe_record(self, sub: Submission, record: Record | None, exit_text: str | None) -> Observation:
        """Queue record + exit file -> observation (the exit file wins on a normal end)."""
        if record is None:
            if exit_text is not None:
                return staging.exit_observation(exit_text)
            return Observation(JobState.UNKNOWN, None, f"job {sub.native_id} not in the queue and no exit file yet")
        reason = record.reason if record.reason not in (None, "", "None") else None
        if not record.finished:
            if record.raw in self.plain_states and not reason:
                return Observation(record.state)
            return Observation(record.state, None, record.raw + (f": {reason}" if reason else ""))
        if record.raw in self.normal_ends:
            if exit_text is not None:
                return staging.exit_observation(exit_text)
            code = record.exit_code
            if record.state is JobState.DONE and code in (None, 0):
                return Observation(JobState.DONE, 0)
            return Observation(JobState.FAILED, code, f"{record.raw} (no exit file), exit code {code}")
        # ended by the batch system (time limit, cancel, memory, node failure, preemption)
        code = staging.exit_observation(exit_text).exit_code if exit_text is not None else record.exit_code
        return Observation(record.state, code, record.raw + (f": {reason}" if reason else ""))

    async def cancel(self, subs: Sequence[Submission]) -> None:
        ids = [s.native_id for s in subs if s.native_id]
        for sub in subs:
            if not sub.native_id:
                found = await self._lookup(sub.token, fresh=True)
                if found is not None:
                    ids.append(found.native_id)
        if ids:
            result = await self._run("cancel", self.cancel_argv(ids))  # one call for all
            if not result.ok:
                log.warning("%s: cancel %s: %s", self.name, " ".join(ids), result.err)

    async def recover(self, job: StagedJob) -> Submission | None:
        """The attempt if the batch system (queue, accounting) or its files know it."""
        self.files.remember(job)
        found = await self._lookup(job.token)
        if found is not None:
            return self.submission(job, found.native_id)
        workdir = await self.shell.resolve(job.workdir)
        if job.token in await self.files.wrapper_text(workdir, job.stem):
            (word, _), = await staging.probe(self.shell, [(workdir, job.stem, "-", job.token)])
            if word == "exit":  # ran and left the queue: report it from its exit file
                return self.submission(job, None)
        return None

    async def _lookup(self, token: str, *, fresh: bool = False) -> Record | None:
        """Find a job by its name (= token); one query serves lookups for 2 seconds."""
        now = time.monotonic()
        if fresh or self._by_name is None or now - self._by_name[0] > 2.0:
            self._by_name = (now, await self._names())
        name = self.job_name(token)
        found = self._by_name[1].get(name)
        if found is None:
            found = await self._account_name(name)
        return found

    async def _names(self) -> dict[str, Record]:
        result = await self._run("lookup", self.mine_argv())
        return {record.name: record for record in self.parse_query(result).values()}

    async def _account_name(self, name: str) -> Record | None:
        """Look a job name up in accounting (default: not available)."""
        return None
