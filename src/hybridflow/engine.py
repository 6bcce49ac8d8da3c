"""The engine: a testable :meth:`Engine.tick` and the loop around it.

One tick reads control requests (cancel, jobs added by other processes), polls each host
that is due once for all its attempts, mines progress from logs on their own cadence,
decides which jobs start (through a pluggable :class:`~hybridflow.policies.SchedulingPolicy`),
writes the round in one transaction, and only then starts the new attempts. Local exits
wake the loop at once; remote hosts are polled with a back-off.

Run state has one owner, :class:`~hybridflow.runstate.RunState`: the engine changes jobs
only through it, and it turns each change into a typed write of the round, which
:meth:`Store.apply <hybridflow.store.sqlite.Store.apply>` commits at once.

Crash safety: an attempt is recorded (with a unique token) before its host is asked to
start it; a restarted engine re-attaches to it (:mod:`hybridflow.resume`). Slurm jobs may
be handed off ahead of their parents and the coordinator detach (:mod:`hybridflow.handoff`).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Callable, Collection, Hashable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import cast

from . import config, dag, faults, handoff, jobcancel, logreading, rerun, resume
from .budget import Budget, budget_of
from .errors import HostError
from .hostpool import HostPool
from .hosts.base import Host, Observation, StagedJob
from .notify import Notifier
from .policies import OnlyPolicy, ParallelPolicy, SchedulingPolicy, SequentialPolicy
from .readiness import Readiness, Skip
from .rerun import RerunMode
from .retry import RunLimits
from .runstate import Attempt, HostKey, RunState
from .spec import WorkflowSpec
from .states import JobState, WorkflowState
from .store.sqlite import CANCEL_ALL, CANCEL_JOBS, Store
from .sweeps import sweep_limited
from .validate import missing_scripts

log = logging.getLogger(__name__)

CONTROL_INTERVAL = 0.5  # seconds between reads of cancel requests when nothing else happens
CONTROL_GAP = 0.05  # at most this often, however fast jobs finish


class Engine:
    """Runs one stored workflow to completion (or cancellation).

    ``hosts`` maps a host key to a ready-made host (tests pass fakes); other hosts are
    built from the kind registry on first use.
    """

    def __init__(
        self,
        store: Store,
        name: str,
        *,
        policy: SchedulingPolicy | None = None,
        sequential: bool = False,
        run_dir: str | Path | None = None,
        on_update: Callable[[Engine], None] | None = None,
        rerun: RerunMode = RerunMode.DEFAULT,
        from_jobs: Sequence[str] = (),
        only: Collection[str] = (),
        hosts: Mapping[HostKey, Host] | None = None,
        detach: bool | None = None,  # hand off to Slurm and return (None: the file's ``handoff:``)
        reconcile: bool = False,  # only carry a handed-off run on: start nothing on other hosts
    ) -> None:
        self.store = store
        self.name = name
        self.policy: SchedulingPolicy = policy or (SequentialPolicy() if sequential else ParallelPolicy())
        #: ``run --job``: start only these; the run ends once none of them can start or runs
        self.only = frozenset(only)
        if self.only:
            self.policy = OnlyPolicy(self.policy, self.only)
        self.explicit_run_dir = Path(run_dir).resolve() if run_dir else None
        self.on_update = on_update
        self.rerun = RerunMode(rerun)
        self.from_jobs = list(from_jobs)
        self.reused: list[str] = []  # succeeded before, unchanged: not run again
        self.wid = -1
        self.spec = WorkflowSpec(name=name)
        self.run_dir = Path(".")
        self.graph = dag.build({}, ())
        self.fingerprints: dict[str, str] = {}
        self.run_state = RunState({}, {}, {})
        self.limits = RunLimits(self.spec, time.monotonic())
        self.readiness = Readiness(self.graph, self.run_state.state, self._host_key)
        self.notifier = Notifier(name, None)
        self.hosts = HostPool(self._woken, hosts)
        self.budget: Budget | None = None  # the workflow's ``budget:`` (hybridflow.budget)
        self.detach = detach
        self.handoff = handoff.HandOff(self, reconcile=reconcile)
        self._cancel = False
        self._generation = -1
        self._next_control = 0.0
        self._wake: asyncio.Event | None = None

    # -- public ----------------------------------------------------------------------------

    @property
    def states(self) -> dict[str, JobState]:
        """Every job's state now (a copy)."""
        return self.run_state.states

    @property
    def progress(self) -> dict[str, int]:
        """Every job's progress now (a copy)."""
        return {job: run.progress for job, run in self.run_state.jobs.items()}

    @property
    def active(self) -> Mapping[str, Attempt]:
        return self.run_state.active

    @property
    def cancelling(self) -> bool:
        return self._cancel

    def request_cancel(self) -> None:
        """Stop starting jobs and cancel the running ones (safe from a signal handler)."""
        self._cancel = True
        if self._wake is not None:
            self._wake.set()

    async def run(self) -> WorkflowState:
        """Run until every job finished; returns the workflow's final state."""
        self.wid = self.store.acquire(self.name)
        try:
            await self.start()
            while not await self.tick():
                assert self._wake is not None
                try:
                    async with asyncio.timeout(self._next_wait()):  # no task per wait, as wait_for makes
                        await self._wake.wait()
                except TimeoutError:
                    pass
                self._wake.clear()
            if self.handoff.detached:  # Slurm holds the rest; the run goes on without us
                self.run_state.end(WorkflowState.HANDED_OFF)
                self._flush()
                return WorkflowState.HANDED_OFF
            state = self._final_state()
            self.run_state.end(state)
            self._flush()
            self.notifier.workflow_event(state.value)
            return state
        finally:
            await self.hosts.close()
            await self.notifier.aclose()
            self.store.release(self.wid)

    # -- start and resume ------------------------------------------------------------------

    async def start(self) -> None:
        """Load the stored workflow, plan what runs, re-attach open attempts (``wid`` set)."""
        self._wake = asyncio.Event()
        view = self.store.view(self.name)
        self.spec = view.spec
        self.run_dir = self.explicit_run_dir or Path(view.run_dir or config.default_run_dir(self.name))
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self._generation, _ = self.store.generation(self.wid)
        states = {name: job.state for name, job in view.jobs.items()}
        self.graph = dag.build(self.spec.jobs, self.spec.edges)
        self.fingerprints = rerun.fingerprints(self.spec, self.graph)
        reset, self.reused = rerun.plan(
            self.graph, states, self.store.fingerprints(self.wid), self.fingerprints, self.rerun, self.from_jobs
        )
        reset |= {job for job, state in states.items() if state is JobState.RETRYING}
        # a workflow stored with a missing script (as cloudmesh-cc allows) runs no job at all
        todo = [j for j, s in states.items() if s is not JobState.DONE or j in reset]
        missing = missing_scripts(self.spec, todo)
        if missing:
            raise missing[0]
        self.notifier = Notifier(self.name, self.spec.options.get("notify"))
        self.handoff.on = (handoff.asked(self.spec, self.detach) or self.handoff.reconcile) and not self.only
        if self.handoff.reconcile:
            self.policy = handoff.HandOffHostsPolicy(self.policy, self.handoff.hands_off)
        self.limits = RunLimits(self.spec, time.monotonic())
        limit = budget_of(self.spec)
        if limit is not None:
            self.budget = Budget(limit, await self.hosts.estimates(self.spec, todo))
        fresh = view.state not in (WorkflowState.RUNNING, WorkflowState.HANDED_OFF)
        with self.store.transaction():
            self.store.start_run(self.wid, str(self.run_dir), reset, fresh=fresh,
                                 options={"rerun": self.rerun.value, "from": list(self.from_jobs),
                                          "only": sorted(self.only), "handoff": self.handoff.on})
        self.run_state = RunState(states, {name: job.attempt for name, job in view.jobs.items()},
                            {name: job.progress for name, job in view.jobs.items()})
        for job in reset:
            self.run_state.ready(job)
        resume.reattach(self)
        self.readiness = Readiness(self.graph, self.run_state.state, self._host_key)
        self.skip(self.readiness.first_skips)

    # -- one tick --------------------------------------------------------------------------

    async def tick(self) -> bool:
        """One scheduling round; returns True when the run is over."""
        now = time.monotonic()
        cancel = False
        if now >= self._next_control:  # other processes' requests: at most every CONTROL_GAP
            self._next_control = now + CONTROL_GAP
            generation, control = self.store.control(self.wid)
            if generation != self._generation:
                self._reload(generation)
            cancel = control == CANCEL_ALL
            if control == CANCEL_JOBS:  # single jobs (a call of a map); the others go on
                await jobcancel.cancel_jobs(self, self.store.take_job_cancels(self.wid))
        if cancel or self._cancel:
            await self._stop_all(JobState.CANCELED, "canceled")
            return True
        if self.limits.deadline is not None and now >= self.limits.deadline:
            self.limits.deadline_hit = True
            await self._stop_all(JobState.TIMEOUT, "workflow deadline reached")
            return True
        await resume.confirm_unsubmitted(self)
        await self._observe(now)
        await logreading.read_due(self.run_state, self.hosts, now)
        await self._enforce_timeouts(now)
        self._release_retries(now)
        staged = self._select() + await self.handoff.round()
        self._flush()
        if staged:
            faults.point("after-record")
            self.handoff.recorded()
        await self.submit(staged)  # what it learns (native ids) is written with the next round
        if staged:
            faults.point("after-submit")
        if self.on_update is not None:
            self.on_update(self)
        waiting = self.readiness.ready if not self.only else self.only.intersection(self.readiness.ready)
        over = not self.run_state.active and not waiting and not self.limits.retry_at
        self.handoff.detached = not over and self.handoff.idle()
        return over or self.handoff.detached

    def _next_wait(self) -> float:
        now = time.monotonic()
        active = self.run_state.active.values()
        waits = [CONTROL_INTERVAL]
        waits += [self.hosts[key].next_poll - now for key in {a.host_key for a in active}]
        waits += [a.next_log_read - now for a in active if a.state is JobState.RUNNING]
        waits.extend(at - now for at in self.limits.wake_times({a.staged.job: a.running_since for a in active}))
        return max(0.0, min(waits))

    async def _observe(self, now: float) -> None:
        """Poll every due host (concurrently: a slow scheduler holds up no other host)."""
        by_host: dict[HostKey, list[Attempt]] = {}
        for attempt in self.run_state.active.values():
            if attempt.sub is not None:
                by_host.setdefault(attempt.host_key, []).append(attempt)
        due = {key: attempts for key, attempts in by_host.items() if self.hosts[key].due(now)}
        if len(due) == 1:  # the common case: no tasks, no yielding to the loop mid-round
            results = [await self._poll(*next(iter(due.items())))]
        else:
            results = await asyncio.gather(*(self._poll(key, attempts) for key, attempts in due.items()))
        for (key, attempts), observed in zip(due.items(), results):
            slot = self.hosts[key]
            changed = False
            for attempt in attempts:
                obs = observed.get(attempt.staged.token)
                if obs is not None and obs.state is not attempt.state:
                    changed = True
                    await self._apply(attempt, obs)
            slot.polled(now, changed=changed)

    async def _poll(self, key: HostKey, attempts: list[Attempt]) -> dict[str, Observation]:
        slot = self.hosts[key]
        slot.notified = False
        try:
            return await slot.host.poll([a.sub for a in attempts if a.sub])
        except HostError as exc:
            log.warning("host %s: poll failed: %s", slot.host.name, exc)
            return {a.staged.token: Observation(JobState.UNKNOWN, message=str(exc)) for a in attempts}

    async def _apply(self, attempt: Attempt, obs: Observation) -> None:
        if obs.state.is_terminal:
            if obs.usage is not None:
                self.run_state.used(attempt, obs.usage)
                if self.budget is not None:
                    self.budget.settle(attempt.staged.job, obs.usage.units)
            if obs.state is not JobState.CANCELED:
                await logreading.mine(attempt, self.hosts[attempt.host_key].host, self.run_state)
            if obs.state is JobState.DONE and attempt.sub is not None:
                obs = await self.hosts[attempt.host_key].host.finish(attempt.sub, obs)
            self.finish(attempt.staged.job, obs)
            return
        if obs.state is JobState.RUNNING and attempt.running_since is None:
            logreading.began_running(attempt, self.hosts[attempt.host_key].host, time.monotonic())
        if obs.state is JobState.PENDING:
            self.handoff.observed(attempt, obs.message)
        self.run_state.move(attempt.staged.job, obs.state, message=obs.message, exit_code=obs.exit_code)

    def finish(self, job: str, obs: Observation) -> None:
        """A terminal observation: retry, or record it and release or skip the descendants."""
        if self._retry(job, obs):
            return
        self.run_state.move(job, obs.state, message=obs.message, exit_code=obs.exit_code)
        if obs.state is JobState.DONE:
            fingerprint = self.fingerprints.get(job)
            if fingerprint:
                self.run_state.succeeded_with(job, fingerprint)
            self.skip(self.readiness.succeeded(job))
        else:
            self.skip(self.readiness.failed(job))
            self.handoff.failed(job)

    def _retry(self, job: str, obs: Observation) -> bool:
        """Schedule another attempt if the job's policy retries this failure."""
        delay = None if self._cancel else self.limits.schedule_retry(job, obs, time.monotonic())
        if delay is None:
            return False
        number = self.run_state.jobs[job].attempt
        message = f"attempt {number} {obs.state.value}" + (f" ({obs.message})" if obs.message else "")
        message += f"; retry {self.limits.retries[job]} in {delay:g}s"
        log.info("job %s: %s", job, message)
        self.run_state.retrying(job, obs.state, exit_code=obs.exit_code, attempt_message=obs.message, message=message)
        return True

    def _release_retries(self, now: float) -> None:
        for job in self.limits.due(now):
            self.run_state.ready(job)
            self.readiness.consider(job, check_parents=False)

    async def _enforce_timeouts(self, now: float) -> None:
        """Kill attempts past their ``timeout`` (hosts whose scheduler enforces it are left to it)."""
        expired: dict[HostKey, list[tuple[Attempt, float]]] = {}
        for job, attempt in self.run_state.active.items():
            limit = self.limits.timed_out(job, attempt.running_since, now)
            if limit is not None and not self.hosts[attempt.host_key].host.capabilities.enforces_time_limit:
                expired.setdefault(attempt.host_key, []).append((attempt, limit))
        for key, items in expired.items():
            try:
                await self.hosts[key].host.cancel([a.sub for a, _ in items if a.sub])
            except HostError as exc:
                log.error("host %s: cannot stop timed-out jobs: %s", self.hosts[key].host.name, exc)
            for attempt, limit in items:
                self.finish(attempt.staged.job,
                             Observation(JobState.TIMEOUT, message=f"time limit of {limit:g}s reached"))

    def skip(self, skips: list[Skip]) -> None:
        for job, message in skips:
            self.run_state.move(job, JobState.SKIPPED, message=message)
        self.readiness.skipped.clear()

    def _host_key(self, job: str) -> HostKey:
        return self.hosts.key(self.spec, job)

    def _notified(self, key: HostKey) -> None:
        """A host has news (also for tests driving ``tick()``)."""
        self.hosts.notified(key)

    def _woken(self) -> None:
        if self._wake is not None:
            self._wake.set()

    def _staged(self, job: str, attempt: int, token: str) -> StagedJob:
        return self.hosts.stage(self.spec, job, attempt, token, self.run_dir)

    def _select(self) -> list[StagedJob]:
        ready = self.readiness
        if not ready.ready:
            return []
        running: dict[HostKey, int] = {}
        for attempt in self.run_state.active.values():
            running[attempt.host_key] = running.get(attempt.host_key, 0) + 1
        slots: dict[Hashable, int] = {}
        for key in ready.by_host:
            host_key = cast(HostKey, key)  # readiness keys are host keys
            slots[key] = self.hosts[host_key].host.max_parallel - running.get(host_key, 0)
        candidates = ready.candidates(slots, everything=self.policy.needs_all_ready)
        chosen = self.policy.select(candidates, self._host_key, slots, len(self.run_state.active), ready.order.__getitem__)
        exempt = lambda job: self.hosts[self._host_key(job)].host.throttles_sweeps  # noqa: E731
        for job in (jobs := sweep_limited(chosen, self.run_state.active, self.spec.jobs, exempt)):
            ready.take(job)
        return [item for item in map(self.record, jobs) if item is not None]

    def record(self, job: str) -> StagedJob | None:
        """Record a new attempt of ``job`` (None: the budget refused it, and it was skipped)."""
        refusal = self.budget.admit(job) if self.budget is not None else None
        if refusal is not None:
            self.run_state.move(job, JobState.SKIPPED, message=refusal)
            self.skip(self.readiness.failed(job))
            return None
        number = self.run_state.jobs[job].attempt + 1
        item = self._staged(job, number, f"hf-{self.wid}-{job}-{number}-{secrets.token_hex(4)}")
        key = self._host_key(job)
        self.run_state.start(Attempt(item, key, JobState.SUBMITTED), remote=self.hosts[key].host.capabilities.external)
        return item

    async def submit(self, staged: Iterable[StagedJob]) -> None:
        """Start attempts already recorded; what is learned is written with the next round."""
        groups: dict[HostKey, list[StagedJob]] = {}
        for item in self.handoff.prepare(list(staged)):
            groups.setdefault(self.run_state.active[item.job].host_key, []).append(item)
        for key, items in groups.items():
            slot = self.hosts[key]
            try:
                subs = await slot.host.submit(items)
            except HostError as exc:
                self._submit_failed(items, exc)
                continue
            slot.submitted(time.monotonic())
            after = slot.host.capabilities.submitted_state
            for sub in subs:
                attempt = self.run_state.active[sub.job]
                attempt.sub = sub
                self.run_state.confirmed(attempt)
                if attempt.state is JobState.SUBMITTED:
                    if after is JobState.RUNNING:
                        logreading.began_running(attempt, slot.host, time.monotonic())
                    self.run_state.move(sub.job, after)
            await self.handoff.repoint(subs)

    def _submit_failed(self, items: list[StagedJob], exc: HostError) -> None:
        for item in items:
            if exc.transient:
                # the host may or may not have started it: find it by token before retrying
                log.warning("job %s: submit uncertain (%s); will look it up", item.job, exc)
                self.run_state.move(item.job, JobState.UNKNOWN, message=str(exc))
            else:
                self.finish(item.job, Observation(JobState.FAILED, message=str(exc)))

    # -- control ---------------------------------------------------------------------------

    def _reload(self, generation: int) -> None:
        """Pick up jobs and edges added (or removed) by another process or thread."""
        self._generation = generation
        spec = self.store.spec(self.name)
        added = [job for job in spec.jobs if job not in self.run_state]
        removed = [job for job in self.spec.jobs if job not in spec.jobs and job not in self.run_state.active]
        self.spec = spec
        self.limits.update(spec)
        for job in removed:
            if job in self.readiness.ready:
                self.readiness.take(job)
            self.run_state.forget(job)
            self.hosts.forget(job)
            self.limits.retry_at.pop(job, None)
            self.graph.remove_node(job)
        for job in added:
            self.run_state.ready(job)
            self.graph.add_node(job)
        self.graph.add_edges_from(
            (parent, child) for parent, child in spec.edges if parent in self.run_state and child in self.run_state
        )
        self.skip(self.readiness.recount(list(self.graph.nodes)))
        log.info("workflow %s changed: %d jobs added, %d removed", self.name, len(added), len(removed))

    async def _stop_all(self, state: JobState, message: str) -> None:
        await self.hosts.cancel(self.run_state.active.values())
        for job in list(self.run_state.active):
            self.finish(job, Observation(state, message=message))
        for job in list(self.limits.retry_at):
            del self.limits.retry_at[job]
            self.run_state.move(job, state, message=message)
            self.skip(self.readiness.failed(job))
        self.readiness.clear()
        self._flush()

    def _final_state(self) -> WorkflowState:
        if self.limits.deadline_hit:
            return WorkflowState.FAILED
        if self._cancel or self.store.generation(self.wid)[1]:
            return WorkflowState.CANCELED
        if all(run.state is JobState.DONE for run in self.run_state.jobs.values()):
            return WorkflowState.DONE
        return WorkflowState.FAILED

    def _flush(self) -> None:
        """Write everything this round decided, in one transaction; then notify."""
        writes, notices, durable = self.run_state.take_round()
        if writes:
            self.store.apply(self.wid, writes, durable=durable)
        for notice in notices:
            self.notifier.job_event(notice.job, notice.state.value, attempt=notice.attempt,
                                    exit_code=notice.exit_code, message=notice.message)
