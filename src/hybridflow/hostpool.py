"""The host instances of one run: one per (kind, host name), built on first use from the
kind registry, each with its polling rhythm (the engine polls a host when it notified or
its interval passed, backing off while nothing changes)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from . import config
from .errors import HostError
from .hosts import host_class
from .hosts.attempt import stem_for
from .hosts.base import Host, StagedJob, Submission
from .runstate import Attempt, HostKey
from .spec import JobSpec, WorkflowSpec

log = logging.getLogger(__name__)

MAX_POLL_INTERVAL = 30.0


@dataclass
class HostSlot:
    """A host instance of the run and its polling rhythm."""

    host: Host
    interval: float
    next_poll: float = 0.0
    notified: bool = False

    def due(self, now: float) -> bool:
        return self.notified or now >= self.next_poll

    def polled(self, now: float, *, changed: bool) -> None:
        """After a poll: back to the host's interval when something changed, else back off."""
        self.interval = self.host.poll_interval if changed else min(self.interval * 1.5, MAX_POLL_INTERVAL)
        self.next_poll = now + self.interval

    def submitted(self, now: float) -> None:
        self.interval = self.host.poll_interval
        self.next_poll = now + self.interval


class HostPool:
    """The run's hosts by key; ``wake`` is called (on the event loop) when one notifies."""

    def __init__(self, wake: Callable[[], None], hosts: Mapping[HostKey, Host] | None = None) -> None:
        self._wake = wake
        self._slots: dict[HostKey, HostSlot] = {key: HostSlot(h, h.poll_interval) for key, h in (hosts or {}).items()}
        self._key_of: dict[str, HostKey] = {}

    def __getitem__(self, key: HostKey) -> HostSlot:
        return self._slots[key]

    def __iter__(self) -> Iterator[HostSlot]:
        return iter(list(self._slots.values()))

    def key(self, spec: WorkflowSpec, job: str) -> HostKey:
        """The key of the host that runs ``job`` (cached per job name)."""
        found = self._key_of.get(job)
        if found is None:
            found = self._key_of[job] = self.slot_for(spec, spec.jobs[job])[0]
        return found

    def forget(self, job: str) -> None:
        """The job changed or left the workflow: look its host up again next time."""
        self._key_of.pop(job, None)

    def slot_for(self, spec: WorkflowSpec, job: JobSpec) -> tuple[HostKey, HostSlot]:
        """The host for ``job``, built from the kind registry on first use."""
        key = config.host_key(job)
        if key not in self._slots:
            host = host_class(job.kind)(config.host_config(spec, job), notify=partial(self.notified, key))
            self._slots[key] = HostSlot(host, host.poll_interval)
        return key, self._slots[key]

    def stage(self, spec: WorkflowSpec, job: str, attempt: int, token: str, run_dir: Path) -> StagedJob:
        """What the host of ``job`` needs to start this attempt of it."""
        job_spec = spec.jobs[job]
        _, slot = self.slot_for(spec, job_spec)
        return StagedJob(
            workflow=spec.name,
            job=job,
            attempt=attempt,
            token=token,
            spec=job_spec,
            workdir=slot.host.run_dir(spec.name, run_dir),
            stem=stem_for(job, attempt),
            base_dir=Path(spec.base_dir),
            env=dict(job_spec.env),
        )

    async def estimates(self, spec: WorkflowSpec, jobs: Iterable[str]) -> dict[str, float | None]:
        """The most each of ``jobs`` can be charged, asked of each host once (see
        :meth:`Host.estimate`; jobs of kinds that bill nothing are left out)."""
        by_slot: dict[HostKey, list[JobSpec]] = {}
        for job in jobs:
            key, _ = self.slot_for(spec, spec.jobs[job])
            by_slot.setdefault(key, []).append(spec.jobs[job])
        found: dict[str, float | None] = {}
        for key, specs in by_slot.items():
            found.update(await self._slots[key].host.estimate(specs))
        return found

    async def cancel(self, attempts: Iterable[Attempt]) -> None:
        """Cancel the submitted ones of ``attempts`` on their hosts, one request per host; a
        host that fails is logged (the attempts are recorded canceled regardless)."""
        by_host: dict[HostKey, list[Submission]] = {}
        for attempt in attempts:
            if attempt.sub is not None:
                by_host.setdefault(attempt.host_key, []).append(attempt.sub)
        for key, subs in by_host.items():
            try:
                await self[key].host.cancel(subs)
            except HostError as exc:
                log.error("host %s: cancel failed: %s", self[key].host.name, exc)

    def notified(self, key: HostKey) -> None:
        self._slots[key].notified = True
        self._wake()

    async def close(self) -> None:
        for slot in self:
            await slot.host.close()
