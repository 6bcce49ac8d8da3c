"""Hand-off: Slurm jobs submitted before their parents ended, chained by ``afterok``.

With ``hflow workflow run --detach`` (or ``handoff: true`` in the file) the engine hands
every job whose parents are all done or submitted to the same host (one that
:attr:`~hybridflow.hosts.base.Capabilities.hands_off`: Slurm) to that host at once, its
attempt recorded first like any other (the never-submit-twice rule is unchanged), naming
the native ids of its unfinished parents (:attr:`StagedJob.after_ids
<hybridflow.hosts.base.StagedJob.after_ids>`; a parent done before, possibly purged by
Slurm since, is never named). Once only such hosts hold work (nothing to start, hand off
or watch here), the coordinator detaches; the next one re-attaches by token.

A handed-off attempt is PENDING like any submitted one, so readiness never queues it; its
fate is Slurm's: done is done, and when a parent fails for good (seen by the engine, or as
Slurm's ``DependencyNeverSatisfied``) it is scancelled and recorded ``skipped``. A retried
parent's children are re-pointed at its new attempt (:meth:`Host.repoint
<hybridflow.hosts.base.Host.repoint>`).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from . import dag, faults
from .errors import HostError
from .hosts.base import Observation, StagedJob, Submission
from .spec import WorkflowSpec
from .states import JobState

if TYPE_CHECKING:
    from .engine import Engine
    from .runstate import Attempt, HostKey

log = logging.getLogger(__name__)

#: Slurm's reason for a job whose ``afterok`` parent did not complete
NEVER = "DependencyNeverSatisfied"


def wanted(spec: WorkflowSpec) -> bool:
    """The workflow file asks for a hand-off (``handoff: true`` at its top)."""
    return spec.options.get("handoff") is True


class HandOff:
    """The hand-off decisions of one engine (inactive unless :attr:`on`)."""

    def __init__(self, engine: Engine, *, on: bool = False) -> None:
        self.engine = engine
        self.on = on
        #: the run detached: Slurm holds the rest (the engine returns without ending the run)
        self.detached = False
        #: attempts submitted ahead of their parents by this coordinator
        self.count = 0
        self._doomed: dict[str, str] = {}  # handed-off job -> why it will never start

    def _hands_off(self, key: HostKey) -> bool:
        return self.engine.hosts[key].host.capabilities.hands_off

    def after_ids(self, job: str) -> tuple[str, ...] | None:
        """Native ids of ``job``'s unfinished parents, each submitted to its host; None when
        a parent is neither done nor submitted there (it cannot be handed off now)."""
        engine = self.engine
        key = engine.hosts.key(engine.spec, job)
        ids: list[str] = []
        for parent in engine.graph.predecessors(job):
            if engine.run_state.state(parent) is JobState.DONE:
                continue
            attempt = engine.run_state.active.get(parent)
            if attempt is None or attempt.host_key != key or attempt.sub is None or not attempt.sub.native_id:
                return None
            ids.append(attempt.sub.native_id)
        return tuple(ids)

    def _candidates(self) -> list[str]:
        engine = self.engine
        found = []
        for job, run in engine.run_state.jobs.items():
            if run.state is not JobState.READY or job in engine.readiness.ready or job in engine.readiness.skipped:
                continue
            if job in engine.spec.jobs and self._hands_off(engine.hosts.key(engine.spec, job)) and self.after_ids(job):
                found.append(job)
        return sorted(found, key=lambda j: engine.readiness.order.get(j, 0))

    async def round(self) -> list[StagedJob]:
        """Settle doomed attempts, then record an attempt of every job that can be handed off."""
        engine = self.engine
        await self._settle()
        if not self.on or engine._cancel:
            return []
        staged = [item for item in map(engine._record, self._candidates()) if item is not None]
        self.count += len(staged)
        return staged

    def recorded(self, staged: Sequence[StagedJob]) -> None:
        """The round's attempts are committed; a crash point for hand-offs."""
        if any(item.job in self._handed() for item in staged):
            faults.point("after-handoff-record")

    def _handed(self) -> set[str]:
        """Open attempts whose parents are not all done: submitted ahead of them."""
        engine = self.engine
        return {job for job in engine.run_state.active
                if any(engine.run_state.state(p) is not JobState.DONE for p in engine.graph.predecessors(job))}

    def prepare(self, items: list[StagedJob]) -> list[StagedJob]:
        """The attempts to submit, each naming its unfinished parents' ids (after a crash
        the parents may have moved on); one whose parent failed for good is skipped."""
        ready: list[StagedJob] = []
        for item in items:
            after = self.after_ids(item.job)
            failed = self._failed_parent(item.job) if after is None else None
            if failed is not None:
                self._skip_now(item.job, f"upstream job '{failed}' {self.engine.run_state.state(failed).value}")
                continue
            # no ids: every parent done, or one unconfirmed (it is looked up first, next round)
            ready.append(dataclasses.replace(item, after_ids=after) if after else item)
        return ready

    def _failed_parent(self, job: str) -> str | None:
        engine = self.engine
        return next((p for p in engine.graph.predecessors(job) if engine.run_state.state(p).is_unsuccessful), None)

    def _skip_now(self, job: str, message: str) -> None:
        engine = self.engine
        engine.run_state.move(job, JobState.SKIPPED, message=message)
        engine._skip(engine.readiness.failed(job))

    def failed(self, job: str) -> None:
        """``job`` ended unsuccessfully for good: its open descendants were handed off and
        will never start; they are cancelled and skipped in the next round."""
        engine = self.engine
        cause = engine.run_state.state(job).value
        for child in dag.descendants(engine.graph, job):
            if child in engine.run_state.active:
                self._doomed.setdefault(child, f"upstream job '{job}' {cause}")

    async def observed(self, attempt: Attempt, obs: Observation) -> None:
        """A non-terminal observation: Slurm says a dependency can never be satisfied."""
        if obs.state is not JobState.PENDING or NEVER not in (obs.message or ""):
            return
        job = attempt.staged.job
        failed = self._failed_parent(job)
        if failed is not None:
            self._doomed.setdefault(job, f"upstream job '{failed}' {self.engine.run_state.state(failed).value}")
            return
        after = self.after_ids(job)
        if after is not None and attempt.sub is not None:  # its parent was retried meanwhile
            await self.engine.hosts[attempt.host_key].host.repoint([(attempt.sub, after)])

    async def repoint(self, subs: Sequence[Submission]) -> None:
        """New attempts of handed-off parents (retries): their open children wait for them."""
        engine = self.engine
        by_host: dict[HostKey, list[tuple[Submission, tuple[str, ...]]]] = {}
        for sub in subs:
            if sub.attempt < 2:
                continue
            for child in engine.graph.successors(sub.job):
                attempt = engine.run_state.active.get(child)
                after = self.after_ids(child)
                if attempt is not None and attempt.sub is not None and after is not None:
                    by_host.setdefault(attempt.host_key, []).append((attempt.sub, after))
        for key, items in by_host.items():
            log.info("re-pointing %d handed-off jobs at retried parents", len(items))
            await engine.hosts[key].host.repoint(items)

    async def _settle(self) -> None:
        """scancel the doomed attempts and record them skipped (descendants too)."""
        engine = self.engine
        doomed = {job: why for job, why in self._doomed.items() if job in engine.run_state.active}
        self._doomed.clear()
        by_host: dict[HostKey, list[Submission]] = {}
        for job in doomed:
            attempt = engine.run_state.active[job]
            if attempt.sub is not None:
                by_host.setdefault(attempt.host_key, []).append(attempt.sub)
        for key, subs in by_host.items():
            try:
                await engine.hosts[key].host.cancel(subs)
            except HostError as exc:  # left pending in Slurm: try again next round
                log.warning("host %s: cannot cancel handed-off jobs: %s", engine.hosts[key].host.name, exc)
                for sub in subs:
                    self._doomed[sub.job] = doomed.pop(sub.job)
        for job, why in doomed.items():
            log.info("job %s: handed off, will never start (%s): cancelled", job, why)
            self._skip_now(job, why)

    def idle(self) -> bool:
        """Only hosts that hand off hold work: nothing to start, hand off or settle here,
        and every open attempt confirmed by such a host."""
        engine = self.engine
        if not self.on or engine.readiness.ready or engine.limits.retry_at or self._doomed:
            return False
        if any(a.sub is None or not self._hands_off(a.host_key) for a in engine.run_state.active.values()):
            return False
        return not self._candidates()
