"""The run directory of a host reached through a :class:`~hybridflow.hosts.shell.Shell`.

:class:`RunDirectory` is the part every kind that runs the wrapper away from the
coordinator's process shares, whatever starts the wrapper (a detached process for ``ssh``
and ``wsl``, a batch system for ``slurm`` and ``lsf``): the transport (opened on first
use, from the event loop), staging attempts, reading their logs, and bringing their
outputs back. Host kinds *hold* one (composition); :class:`RemoteHost` is the small base that holds it
and forwards logs and stage-out to it, under both the process kinds and the batch kinds
(which share no process logic).
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..spec import JobSpec
from ..states import JobState, Observation
from . import staging
from .attempt import AttemptFiles
from .base import Host, HostConfig, StagedJob, Submission
from .outputs import check_outputs
from .shell import Shell, release_shell, shell_for

log = logging.getLogger(__name__)

STAGE_MARK = "# hflow-stage: "


def stage_record(job: StagedJob) -> str:
    """A comment line of the wrapper that lets a restarted coordinator stage out without
    the spec."""
    out = list(job.spec.stage_out)
    return STAGE_MARK + json.dumps({"stage_out": out, "workflow_dir": str(job.base_dir)})


class RunDirectory:
    """Attempts' files on one host: staging, logs, stage-out, over one shell.

    ``shell`` is the transport to use; without one, :func:`shell_for` picks it from the
    config (and :meth:`close` gives it back).
    """

    def __init__(self, config: HostConfig, kind: str, shell: Shell | None = None, *, shared: bool = False) -> None:
        self.config = config
        self.kind = kind
        #: the host sees the coordinator's filesystem: jobs run in the workflow's folder
        self.shared = shared
        self._shell = shell
        self._own_shell = shell is None
        self._jobs: dict[str, tuple[JobSpec, Path]] = {}  # token -> (spec, workflow folder)

    @property
    def shell(self) -> Shell:
        if self._shell is None:
            self._shell = shell_for(self.config, self.kind)
        return self._shell

    async def close(self) -> None:
        shell, self._shell = self._shell, None
        if shell is not None and self._own_shell:
            await release_shell(shell)

    @property
    def python(self) -> str:
        return self.config.python or "python3"

    def root(self, workflow: str, default_root: str) -> str:
        """The run directory of ``workflow`` under the host's ``workdir`` root."""
        return f"{(self.config.workdir or default_root).rstrip('/')}/{workflow}"

    def remember(self, job: StagedJob) -> None:
        """Keep what :meth:`finish` needs of an attempt started or found by this process."""
        self._jobs[job.token] = (job.spec, job.base_dir)

    async def prepare(self, jobs: list[StagedJob], header: staging.HeaderFn) -> list[staging.Prepared]:
        """Resolve venvs, then stage the attempts (see :func:`staging.prepare`)."""
        shell = self.shell
        if any(job.spec.venv for job in jobs):
            resolved = {job.spec.venv: await shell.resolve(job.spec.venv) for job in jobs if job.spec.venv}
            jobs = [_with_venv(job, resolved[job.spec.venv]) if job.spec.venv else job for job in jobs]
        for job in jobs:
            self.remember(job)
        return await staging.prepare(shell, jobs, python=self.python, header=header, shared=self.shared)

    async def files(self, workdir: str, stem: str) -> AttemptFiles:
        """The attempt's files, with ``~`` and relative roots resolved on the host."""
        return AttemptFiles(await self.shell.resolve(workdir), stem)

    async def read_log(self, sub: Submission, offset: int, limit: int) -> tuple[bytes, int]:
        data = await self.shell.read_bytes((await self.files(sub.workdir, sub.stem)).log, offset, limit)
        if not data:
            return b"", offset
        return data, offset + len(data)

    async def wrapper_text(self, workdir: str, stem: str) -> str:
        """The head of an attempt's wrapper on the host ('' when there is none)."""
        text = await self.shell.read_bytes(AttemptFiles(workdir, stem).wrapper, 0, 8192)
        return (text or b"").decode("utf-8", "replace")

    async def finish(self, sub: Submission, obs: Observation) -> Observation:
        """Copy a successful attempt's ``stage_out`` files back (a missing one fails it)."""
        if obs.state is not JobState.DONE:
            return obs
        workdir = await self.shell.resolve(sub.workdir)
        known = self._jobs.get(sub.token)
        if known is not None:
            spec, folder = known
            patterns: tuple[str, ...] = spec.stage_out
        else:  # attempt started by an earlier coordinator: read its record in the wrapper
            record = await self._stage_record(workdir, sub.stem)
            if record is None or not record.get("stage_out"):
                return obs
            try:
                patterns = staging.recorded_paths(record["stage_out"])
            except ValueError as exc:
                return Observation(JobState.FAILED, obs.exit_code, f"stage_out record in the wrapper: {exc}")
            destination = record.get("workflow_dir", record.get("local_run_dir"))  # the latter: before 0.4
            if not isinstance(destination, str):
                return Observation(JobState.FAILED, obs.exit_code, "stage_out record in the wrapper names no folder")
            folder = Path(destination)
        if not patterns:
            return obs
        if self.shared:
            return check_outputs(patterns, sub, folder, obs)
        return await staging.stage_out(self.shell, patterns, sub, workdir, folder, obs)

    async def _stage_record(self, workdir: str, stem: str) -> dict[str, Any] | None:
        for line in (await self.wrapper_text(workdir, stem)).splitlines():
            if line.startswith(STAGE_MARK):
                try:
                    record = json.loads(line[len(STAGE_MARK):])
                except ValueError:
                    return None
                return record if isinstance(record, dict) else None
        return None


def _with_venv(job: StagedJob, venv: str) -> StagedJob:
    return dataclasses.replace(job, spec=dataclasses.replace(job.spec, venv=venv))


class RemoteHost(Host):
    """A host kind whose attempts' files live in a :class:`RunDirectory` over a shell."""

    def __init__(
        self, config: HostConfig, notify: Callable[[], None] | None = None, *, shell: Shell | None = None
    ) -> None:
        super().__init__(config, notify)
        self.files = RunDirectory(config, self.kind, shell, shared=self.shares_filesystem(config))
        #: commands sent and calls served, by name (for tests and benchmarks)
        self.stats: Counter[str] = Counter()
        self.poll_interval = float(config.options.get("poll_interval", type(self).poll_interval))

    @classmethod
    def shares_filesystem(cls, config: HostConfig) -> bool:
        """Whether the host's jobs see the coordinator's filesystem (then they run in the
        workflow's folder and their run directory is the coordinator's)."""
        return False

    @property
    def shell(self) -> Shell:
        return self.files.shell

    async def close(self) -> None:
        await self.files.close()

    async def read_log(self, sub: Submission, offset: int, limit: int = 1 << 20) -> tuple[bytes, int]:
        return await self.files.read_log(sub, offset, limit)

    async def finish(self, sub: Submission, obs: Observation) -> Observation:
        return await self.files.finish(sub, obs)
