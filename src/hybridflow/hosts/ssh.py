"""The ``ssh`` kind: the wrapper runs detached on another machine, over one connection.

:class:`ProcessHost` holds the logic for any host reached through a
:class:`~hybridflow.hosts.shell.Shell` where attempts run as detached process groups
(``setsid nohup bash WRAPPER &``): start, poll, cancel and recovery; staging, logs and
stage-out are its :class:`~hybridflow.hosts.remote.RunDirectory`'s. :class:`SshHost` is
that logic over the host's one shared :class:`~hybridflow.hosts.shell.SshShell`; the
``wsl`` kind is the same over ``wsl.exe`` (:func:`~hybridflow.hosts.shell.shell_for`).

Round trips per call, whatever the number of jobs: ``submit`` = SFTP writes + one command;
``poll`` = one command; ``cancel`` = one command; ``read_log`` = one SFTP read.
An unreachable host raises :class:`~hybridflow.errors.UnreachableError` (transient), so
its jobs are ``unknown`` until it answers again; a process that vanished from a reachable
host without writing its exit file is ``lost``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from pathlib import Path

from ..errors import HostError
from ..states import JobState
from . import staging
from .attempt import parse_stamped
from .base import Observation, StagedJob, Submission, guard_batch
from .remote import RemoteHost, stage_record

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
  [ -n "$p" ] || read -r p _ < "$d/$s.pid" 2>/dev/null
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

class ProcessHost(RemoteHost):
    """Attempts as detached wrapper processes on a host reached through a :class:`Shell`.

    ``shell`` is the transport (default: :func:`~hybridflow.hosts.shell.shell_for` the
    config). ``native_id`` is the wrapper's PID, which is also its process group (it is a
    session leader).
    """

    kind = "ssh"
    poll_interval = 2.0
    log_interval = 2.0  # one SFTP read per running job
    default_root = "~/.hybridflow/runs"


    @property
    def max_parallel(self) -> int:
        return self.config.max_parallel or 32

    def run_dir(self, workflow: str, local_run_dir: Path) -> str:
        return self.files.root(workflow, self.default_root)

    def header(self, job: StagedJob, workdir: str) -> list[str]:
        """Lines after the shebang of the wrapper: the stage-out record for restarts."""
        return [stage_record(job)]

    # -- the interface ---------------------------------------------------------------------

    async def submit(self, jobs: Sequence[StagedJob]) -> list[Submission]:
        prepared = await guard_batch(self.files.prepare(list(jobs), self.header), len(jobs))
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
        return [self.submission(p.job, pids[i]) for i, p in enumerate(prepared)]

    async def poll(self, subs: Sequence[Submission]) -> dict[str, Observation]:
        items = [(await self.shell.resolve(s.workdir), s.stem, s.native_id or "", s.token) for s in subs]
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

    async def recover(self, job: StagedJob) -> Submission | None:
        """Started iff its wrapper carries this token and a pid or exit file of it exists.

        Pid and exit files count only when they carry this token, so files of an earlier
        attempt with the same stem cannot pass for this attempt's (they are also deleted
        before the wrapper is written). A wrapper written but not yet running gets one
        second of grace.
        """
        self.files.remember(job)
        files = await self.files.files(job.workdir, job.stem)
        if job.token not in await self.files.wrapper_text(files.workdir, job.stem):
            return None
        for attempt in range(2):
            (word, value), = await staging.probe(self.shell, [(files.workdir, job.stem, "", job.token)])
            if word in ("run", "gone"):
                return self.submission(job, value)
            if word in ("exit", "cancel"):
                pid = await self.shell.read_bytes(files.pid)
                return self.submission(job, parse_stamped(pid.decode("utf-8", "replace"), job.token) if pid else None)
            if attempt == 0:
                await asyncio.sleep(1.0)
        return None


class SshHost(ProcessHost):
    """Jobs on a machine reached over SSH; all hosts naming it share one connection."""

    kind = "ssh"
