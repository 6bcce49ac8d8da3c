"""The ``ssh`` kind: the wrapper runs detached on another machine, over one connection.

:class:`ShellHost` holds the logic for any host reached through a
:class:`~hybridflow.hosts.shell.Shell` where attempts run as detached process groups
(``setsid nohup bash WRAPPER &``): staging, start, poll, cancel, logs, recovery and
stage-out. :class:`SshHost` is that logic over the host's one shared
:class:`~hybridflow.hosts.shell.SshShell`; the ``wsl`` kind reuses it over ``wsl.exe``.

Round trips per call, whatever the number of jobs: ``submit`` = SFTP writes + one command;
``poll`` = one command; ``cancel`` = one command; ``read_log`` = one SFTP read.
An unreachable host raises :class:`~hybridflow.errors.UnreachableError` (transient), so
its jobs are ``unknown`` until it answers again; a process that vanished from a reachable
host without writing its exit file is ``lost``.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..errors import HostError
from ..spec import JobSpec
from ..states import JobState
from . import staging
from .base import Host, HostConfig, Observation, StagedJob, Submission
from .shell import Shell, ssh_pool

log = logging.getLogger(__name__)

#: start wrappers detached; args: pairs WORKDIR STEM; prints "INDEX PID" per started job
LAUNCH = r"""
if command -v setsid >/dev/null 2>&1; then detach=(setsid nohup)
else detach=(nohup perl -MPOSIX -e 'POSIX::setsid(); exec @ARGV')
fi
i=0
while [ "$#" -ge 2 ]; do
  if cd "$1"; then
    "${detach[@]}" bash "$2.hflow.sh" </dev/null >/dev/null 2>&1 &
    printf '%s %s\n' "$i" "$!"
  fi
  shift 2; i=$((i + 1))
done
"""

#: cancel; args: triples WORKDIR STEM PID: mark, TERM the process groups, KILL after 5 s
CANCEL = r"""
pids=
while [ "$#" -ge 3 ]; do
  d=$1 s=$2 p=$3; shift 3
  : > "$d/$s.cancel"
  [ -n "$p" ] || p=$(cat "$d/$s.pid" 2>/dev/null)
  [ -n "$p" ] || continue
  if [ -r "/proc/$p/cmdline" ]; then
    case "$(tr '\0' ' ' < "/proc/$p/cmdline")" in *"$s.hflow.sh"*) ;; *) continue ;; esac
  fi
  kill -TERM -- "-$p" 2>/dev/null && pids="$pids $p"
done
for _ in 1 2 3 4 5 6 7 8 9 10; do
  left=
  for p in $pids; do kill -0 -- "-$p" 2>/dev/null && left="$left $p"; done
  [ -z "$left" ] && exit 0
  sleep 0.5; pids=$left
done
for p in $pids; do kill -KILL -- "-$p" 2>/dev/null; done
exit 0
"""

STAGE_MARK = "# hflow-stage: "


class ShellHost(Host):
    """Attempts as detached wrapper processes on a host reached through a :class:`Shell`.

    Subclasses choose the transport (:meth:`open_shell`). ``native_id`` is the wrapper's
    PID, which is also its process group (it is a session leader).
    """

    kind = "ssh"
    poll_interval = 2.0
    default_root = "~/.hybridflow/runs"

    def __init__(
        self, config: HostConfig, notify: Callable[[], None] | None = None, *, shell: Shell | None = None
    ) -> None:
        super().__init__(config, notify)
        self._shell = shell
        self._own_shell = shell is None
        self._jobs: dict[str, tuple[JobSpec, Path]] = {}  # token -> (spec, local run dir)
        #: commands sent and calls served, by name (for tests and benchmarks)
        self.stats: Counter[str] = Counter()
        self.poll_interval = float(config.options.get("poll_interval", type(self).poll_interval))

    # -- transport -------------------------------------------------------------------------

    def open_shell(self) -> Shell:
        """The transport for this host (called once, from the event loop)."""
        return ssh_pool.acquire(self.config)

    @property
    def shell(self) -> Shell:
        if self._shell is None:
            self._shell = self.open_shell()
        return self._shell

    async def close(self) -> None:
        shell, self._shell = self._shell, None
        if shell is not None and self._own_shell:
            await self.release_shell(shell)

    async def release_shell(self, shell: Shell) -> None:
        await ssh_pool.release(shell)  # type: ignore[arg-type]

    # -- settings --------------------------------------------------------------------------

    @property
    def python(self) -> str:
        return self.config.python or "python3"

    @property
    def max_parallel(self) -> int:
        return self.config.max_parallel or 32

    def run_dir(self, workflow: str, local_run_dir: Path) -> str:
        root = (self.config.workdir or self.default_root).rstrip("/")
        return f"{root}/{workflow}"

    def header(self, job: StagedJob, workdir: str) -> list[str]:
        """Lines after the shebang of the wrapper: the stage-out record for restarts."""
        return [self.stage_record(job)]

    @staticmethod
    def stage_record(job: StagedJob) -> str:
        """A comment line that lets a restarted coordinator stage out without the spec."""
        out = staging.stage_list(job.spec, "stage_out")
        return STAGE_MARK + json.dumps({"stage_out": out, "local_run_dir": str(job.local_run_dir)})

    # -- the interface ---------------------------------------------------------------------

    async def _prepare(self, jobs: Sequence[StagedJob]) -> list[staging.Prepared]:
        shell = self.shell
        if any(job.spec.venv for job in jobs):
            resolved = {job.spec.venv: await shell.resolve(job.spec.venv) for job in jobs if job.spec.venv}
            jobs = [_with_venv(job, resolved[job.spec.venv]) if job.spec.venv else job for job in jobs]
        for job in jobs:
            self._jobs[job.token] = (job.spec, job.local_run_dir)
        return await staging.prepare(shell, jobs, python=self.python, header=self.header)

    async def submit(self, jobs: Sequence[StagedJob]) -> list[Submission]:
        prepared = await guard_batch(self._prepare(jobs), len(jobs))
        argv = ["bash", "-c", LAUNCH, "hflow-launch"]
        for item in prepared:
            argv += [item.workdir, item.job.stem]
        self.stats["launch"] += 1
        result = await self.shell.run(argv)
        pids: dict[int, str] = {}
        for line in result.out.splitlines():
            index, _, pid = line.partition(" ")
            if index.isdigit() and pid.strip().isdigit():
                pids[int(index)] = pid.strip()
        if len(pids) != len(prepared):
            missing = [p.job.job for i, p in enumerate(prepared) if i not in pids]
            raise HostError(
                f"{self.name}: could not start {', '.join(missing)}: {result.err or 'no pid'}",
                transient=len(prepared) > 1 or bool(pids),
            )
        log.info("%s: started %d job(s)", self.name, len(prepared))
        return [self._submission(p.job, pids[i]) for i, p in enumerate(prepared)]

    def _submission(self, job: StagedJob, native_id: str | None) -> Submission:
        return Submission(job.job, job.attempt, job.token, self.name, native_id, job.workdir, job.stem)

    async def poll(self, subs: Sequence[Submission]) -> dict[str, Observation]:
        items = [(await self.shell.resolve(s.workdir), s.stem, s.native_id or "") for s in subs]
        self.stats["poll"] += 1
        self.stats["probe"] += 1
        found = await staging.probe(self.shell, items)
        return {sub.token: self._observe(word, value) for sub, (word, value) in zip(subs, found)}

    @staticmethod
    def _observe(word: str, value: str) -> Observation:
        if word == "exit":
            return staging.exit_observation(value)
        if word == "run":
            return Observation(JobState.RUNNING)
        if word == "cancel":
            return Observation(JobState.CANCELED, None, "canceled")
        if word == "gone":
            return Observation(JobState.LOST, None, f"process {value} vanished without an exit code")
        return Observation(JobState.UNKNOWN, None, "not started yet" if word == "none" else None)

    async def cancel(self, subs: Sequence[Submission]) -> None:
        if not subs:
            return
        argv = ["bash", "-c", CANCEL, "hflow-cancel"]
        for sub in subs:
            argv += [await self.shell.resolve(sub.workdir), sub.stem, sub.native_id or ""]
        self.stats["cancel"] += 1
        result = await self.shell.run(argv, timeout=30)
        if not result.ok:
            raise HostError(f"{self.name}: cancel failed: {result.err}")

    async def read_log(self, sub: Submission, offset: int, limit: int = 1 << 20) -> tuple[bytes, int]:
        path = staging.files(await self.shell.resolve(sub.workdir), sub.stem)["log"]
        data = await self.shell.read_bytes(path, offset, limit)
        if not data:
            return b"", offset
        return data, offset + len(data)

    async def recover(self, job: StagedJob) -> Submission | None:
        """Started iff its wrapper carries this token and a pid or exit file exists.

        Stale files of an earlier attempt with the same stem were deleted before the
        wrapper was written, so they cannot pass for this attempt's. A wrapper written
        but not yet running gets one second of grace.
        """
        self._jobs[job.token] = (job.spec, job.local_run_dir)
        workdir = await self.shell.resolve(job.workdir)
        if job.token not in await self._wrapper_text(workdir, job.stem):
            return None
        for attempt in range(2):
            (word, value), = await staging.probe(self.shell, [(workdir, job.stem, "")])
            if word in ("run", "gone"):
                return self._submission(job, value)
            if word in ("exit", "cancel"):
                pid = await self.shell.read_bytes(staging.files(workdir, job.stem)["pid"])
                return self._submission(job, pid.decode().strip() if pid else None)
            if attempt == 0:
                await asyncio.sleep(1.0)
        return None

    async def _wrapper_text(self, workdir: str, stem: str) -> str:
        text = await self.shell.read_bytes(staging.files(workdir, stem)["hflow.sh"], 0, 8192)
        return (text or b"").decode("utf-8", "replace")

    async def finish(self, sub: Submission, obs: Observation) -> Observation:
        if obs.state is not JobState.DONE:
            return obs
        workdir = await self.shell.resolve(sub.workdir)
        known = self._jobs.get(sub.token)
        if known is not None:
            spec, local_run_dir = known
            if not spec.args.get("stage_out"):
                return obs
        else:  # attempt started by an earlier coordinator: read its record in the wrapper
            record = await self._stage_record(workdir, sub.stem)
            if record is None or not record["stage_out"]:
                return obs
            spec = JobSpec(name=sub.job, args={"stage_out": record["stage_out"]})
            local_run_dir = Path(record["local_run_dir"])
        return await staging.stage_out(self.shell, spec, sub, workdir, local_run_dir, obs)

    async def _stage_record(self, workdir: str, stem: str) -> dict[str, Any] | None:
        text = await self._wrapper_text(workdir, stem)
        for line in text.splitlines():
            if line.startswith(STAGE_MARK):
                try:
                    record = json.loads(line[len(STAGE_MARK):])
                except ValueError:
                    return None
                return record if isinstance(record, dict) else None
        return None


class SshHost(ShellHost):
    """Jobs on a machine reached over SSH; all hosts naming it share one connection."""

    kind = "ssh"


def _with_venv(job: StagedJob, venv: str) -> StagedJob:
    spec = JobSpec(**{**{n: getattr(job.spec, n) for n in JobSpec.__slots__}, "venv": venv})
    values = {n: getattr(job, n) for n in StagedJob.__slots__}
    values["spec"] = spec
    return StagedJob(**values)


async def guard_batch(coro: Any, size: int) -> Any:
    """Await ``coro``; a permanent HostError in a batch of several becomes transient.

    The scheduler fails every job of a batch on a permanent error, but only the job at
    fault should fail: a transient error makes it look each one up (``recover``) and retry
    them one by one, so the faulty job fails alone.
    """
    try:
        return await coro
    except HostError as exc:
        if exc.transient or size <= 1:
            raise
        raise HostError(f"{exc} (batch of {size}: retrying one by one)", transient=True) from exc

