"""Hand-off: batch jobs submitted before their parents ended, chained by ``afterok``.

With ``hflow workflow run --detach`` (or ``handoff: true`` in the file) every job whose
unfinished parents are all submitted to the same host, one whose capabilities hand off
(Slurm), is submitted at once, naming those parents' native ids
(:attr:`StagedJob.after_ids <hybridflow.hosts.base.StagedJob.after_ids>`). Its attempt is
recorded first like any other, so the never-submit-twice rule holds through a crash. A
parent already done (perhaps purged by Slurm since) is never named. Jobs with
``stage_in`` files are not handed off (the coordinator copies those in), nor jobs whose
parents run elsewhere: they start when the coordinator next runs.

Once only such hosts hold work (nothing to start, hand off, withdraw or wait for here)
the coordinator detaches: :attr:`HandOff.detached`; the next one (``hflow workflow run``
or ``status``) re-attaches by token and carries on.

A handed-off attempt is PENDING like any submitted one, so readiness never queues it.
When an upstream job fails for good (seen by the engine, or as Slurm's
``DependencyNeverSatisfied``) its handed-off descendants are scancelled and recorded
``skipped`` (their attempts ``canceled``); ``--kill-on-invalid-dep`` is not relied on. A
retried parent's handed-off children are re-pointed at its new attempt
(:meth:`Host.repoint <hybridflow.hosts.base.Host.repoint>`).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import TYPE_CHECKING, cast

from . import dag, faults
from .errors import HostError, SpecError
from .hosts import host_class
from .hosts.base import StagedJob, Submission
from .policies import SchedulingPolicy
from .spec import WorkflowSpec
from .states import JobState

if TYPE_CHECKING:
    from .engine import Engine
    from .runstate import Attempt, HostKey

log = logging.getLogger(__name__)

#: Slurm's reason for a pending job whose ``afterok`` parent did not complete
NEVER = "DependencyNeverSatisfied"


def wanted(spec: WorkflowSpec) -> bool:
    """The workflow file asks for a hand-off (``handoff: true`` at its top); SpecError
    unless it is true or false."""
    value = spec.options.get("handoff", False)
    if not isinstance(value, bool):
        raise SpecError(f"{value!r} is not true or false", file=spec.source, field="handoff")
    return value


def asked(spec: WorkflowSpec, detach: bool | None) -> bool:
    """Whether a run hands off: ``detach`` (``--detach``), None: as the file's ``handoff:``
    says (checked either way). SpecError when asked where no job's host hands off: the run
    would stay attached without a word."""
    in_file = wanted(spec)
    if not (in_file if detach is None else detach):
        return False
    if not any(host_class(kind).capabilities.hands_off for kind in {job.kind for job in spec.jobs.values()}):
        how = "true" if detach is None else "--detach"
        raise SpecError(f"{how}, but no job runs on a host that hands off (Slurm)", file=spec.source,
                        field="handoff" if detach is None else None)
    return True


class HandOffHostsPolicy:
    """Start only jobs of hosts that hand off (``hflow workflow status`` carrying a handed-off
    run on: it submits what Slurm can run and starts nothing here)."""

    def __init__(self, base: SchedulingPolicy, hands_off: Callable[[Hashable], bool]) -> None:
        self.base = base
        self.hands_off = hands_off
        self.needs_all_ready = True

    def select(self, ready: Sequence[str], host_of: Callable[[str], Hashable], slots: Mapping[Hashable, int],
               running: int, order: Callable[[str], int]) -> list[str]:
        ours = [job for job in ready if self.hands_off(host_of(job))]
        return self.base.select(ours, host_of, slots, running, order) if ours else []


class HandOff:
    """The hand-off decisions of one engine (inactive unless :attr:`on`).

    ``reconcile``: the coordinator only carries a handed-off run on (``status``): it starts
    nothing on other hosts and detaches even while such jobs are ready.
    """

    def __init__(self, engine: Engine, *, reconcile: bool = False) -> None:
        self.engine = engine
        self.on = False  # set at the engine's start (:func:`asked`)
        self.reconcile = reconcile
        #: the run detached: Slurm holds the rest (the engine returns without ending the run)
        self.detached = False
        self._doomed: dict[str, str] = {}  # handed-off job -> why it will never start
        self._recorded = False

    def hands_off(self, key: Hashable) -> bool:
        return self.engine.hosts[cast("HostKey", key)].host.capabilities.hands_off

    # -- which jobs, after which ids -------------------------------------------------------

    def after_ids(self, job: str) -> tuple[str, ...] | None:
        """Native ids of ``job``'s unfinished parents, each submitted to its host; None when
        a parent is neither done nor confirmed there (it cannot be handed off now)."""
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

    def candidates(self) -> list[str]:
        """READY jobs, waiting for parents, that can be handed off now (topological order)."""
        engine = self.engine
        ready, skipped = engine.readiness.ready, engine.readiness.skipped
        found = []
        for job, run in engine.run_state.jobs.items():
            if run.state is not JobState.READY or job in ready or job in skipped or job not in engine.spec.jobs:
                continue
            if engine.spec.jobs[job].stage_in or not self.hands_off(engine.hosts.key(engine.spec, job)):
                continue
            if self.after_ids(job):
                found.append(job)
        return sorted(found, key=lambda j: engine.readiness.order.get(j, 0))

    # -- the engine's hooks ----------------------------------------------------------------

    async def round(self) -> list[StagedJob]:
        """Withdraw doomed attempts, then record an attempt of every job that can be handed off."""
        engine = self.engine
        await self._settle()
        if not self.on or engine.cancelling:
            return []
        staged: list[StagedJob] = []
        for job in self.candidates():
            engine.readiness.take(job)
            item = engine.record(job)
            if item is not None:
                staged.append(item)
        self._recorded = bool(staged)
        return staged

    def recorded(self) -> None:
        """The round's attempts are committed: a crash point when it handed jobs off."""
        if self._recorded:
            faults.point("after-handoff-record")

    def prepare(self, items: list[StagedJob]) -> list[StagedJob]:
        """The attempts to submit, each naming its unfinished parents' ids (after a crash
        the parents may have moved on); one whose parent failed for good is withdrawn."""
        ready: list[StagedJob] = []
        for item in items:
            after = self.after_ids(item.job) if self.hands_off(self.engine.hosts.key(self.engine.spec, item.job)) else ()
            if after is None:
                failed = self._failed_parent(item.job)
                if failed is not None:
                    self._withdraw(item.job, self._why(failed))
                else:  # a parent not confirmed yet: Slurm must not start this one before it
                    log.info("job %s: a parent is not confirmed yet; submitting it later", item.job)
                continue
            ready.append(dataclasses.replace(item, after_ids=after) if after else item)
        return ready

    def failed(self, job: str) -> None:
        """``job`` ended unsuccessfully for good: its open descendants were handed off and
        will never start; they are cancelled and skipped next round."""
        engine = self.engine
        for child in dag.descendants(engine.graph, job):
            if child in engine.run_state.active:
                self._doomed.setdefault(child, self._why(job))

    def observed(self, attempt: Attempt, message: str | None) -> None:
        """A pending attempt's reason: Slurm says a dependency can never be satisfied."""
        if NEVER not in (message or ""):
            return
        failed = self._failed_parent(attempt.staged.job)
        if failed is not None:
            self._doomed.setdefault(attempt.staged.job, self._why(failed))
        # else a parent's attempt failed and its retry is due: its submit re-points this one

    async def repoint(self, subs: Sequence[Submission]) -> None:
        """New attempts of handed-off parents (retries): their open children wait for them."""
        engine = self.engine
        by_host: dict[HostKey, list[tuple[Submission, tuple[str, ...]]]] = {}
        for sub in subs:
            for child in engine.graph.successors(sub.job):
                attempt = engine.run_state.active.get(child)
                if attempt is None or attempt.sub is None:  # not handed off
                    continue
                after = self.after_ids(child)
                if after is not None:
                    by_host.setdefault(attempt.host_key, []).append((attempt.sub, after))
        for key, items in by_host.items():
            log.info("re-pointing %d handed-off jobs at retried parents", len(items))
            await engine.hosts[key].host.repoint(items)

    def idle(self) -> bool:
        """Only hosts that hand off hold work: nothing to start, hand off, withdraw or wait
        for here, and every open attempt confirmed by such a host."""
        engine = self.engine
        if not self.on or engine.limits.retry_at or self._doomed:
            return False
        ready = engine.readiness.ready
        if ready and (not self.reconcile or any(self.hands_off(engine.hosts.key(engine.spec, j)) for j in ready)):
            return False
        if any(a.sub is None or not self.hands_off(a.host_key) for a in engine.run_state.active.values()):
            return False
        return not self.candidates()

    # -- helpers ---------------------------------------------------------------------------

    def _why(self, failed: str) -> str:
        return f"upstream job '{failed}' {self.engine.run_state.state(failed).value}"

    def _failed_parent(self, job: str) -> str | None:
        engine = self.engine
        return next((p for p in engine.graph.predecessors(job) if engine.run_state.state(p).is_unsuccessful), None)

    def _withdraw(self, job: str, message: str) -> None:
        engine = self.engine
        engine.run_state.withdraw(job, message)
        engine.skip(engine.readiness.failed(job))

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
            self._withdraw(job, why)

