"""The engine: a testable :meth:`Engine.tick` and the loop around it.

One tick reads control requests (cancel, jobs added by other processes), polls each host
that is due once for all its attempts, mines progress from logs, decides which jobs start
(through a pluggable :class:`~hybridflow.policies.SchedulingPolicy`), writes the round in
one transaction, and only then starts the new attempts. Local exits wake the loop at
once; remote hosts are polled with a back-off.

Crash safety: an attempt is recorded (with a unique token) before its host is asked to
start it. A restarted engine re-attaches to recorded attempts: by native id when it was
stored, otherwise by asking the host to find the token (``Host.recover``); only an
attempt the host never saw is started again.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Callable, Hashable, Iterable, Sequence
from functools import partial
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from . import config, dag
from .errors import HostError
from .hosts import host_class
from .hosts.base import Host, Observation, StagedJob, Submission
from .policies import ParallelPolicy, SchedulingPolicy, SequentialPolicy
from . import rerun
from .notify import Notifier
from .progress import LogMiner
from .readiness import Readiness, Skip
from .rerun import RerunMode
from .retry import RunLimits
from .spec import JobSpec, WorkflowSpec
from .states import JobState, WorkflowState
from .store.sqlite import Store

log = logging.getLogger(__name__)

HostKey = tuple[str, str]  # (kind, host name): one host instance per key and run

CONTROL_INTERVAL = 0.5  # seconds between reads of cancel requests when nothing else happens
CONTROL_GAP = 0.05  # at most this often, however fast jobs finish
LOG_INTERVAL = 0.5  # seconds between log reads of one running attempt
MAX_POLL_INTERVAL = 30.0


@dataclass
class Active:
    """An attempt handed to a host and not finished."""

    staged: StagedJob
    host_key: HostKey
    state: JobState
    sub: Submission | None = None
    miner: LogMiner = field(default_factory=LogMiner)
    next_log_read: float = 0.0
    running_since: float | None = None  # monotonic; a time limit counts from here


@dataclass
class HostSlot:
    """A host instance of the run and its polling rhythm."""

    host: Host
    interval: float
    next_poll: float = 0.0
    notified: bool = False


def stem_for(job: str, attempt: int) -> str:
    """File stem of an attempt's files: ``NAME`` first, then ``NAME.attemptN``."""
    return job if attempt <= 1 else f"{job}.attempt{attempt}"


class Engine:
    """Runs one stored workflow to completion (or cancellation)."""

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
    ) -> None:
        self.store = store
        self.name = name
        self.policy: SchedulingPolicy = policy or (SequentialPolicy() if sequential else ParallelPolicy())
        self.explicit_run_dir = Path(run_dir).resolve() if run_dir else None
        self.on_update = on_update
        self.rerun = RerunMode(rerun)
        self.from_jobs = list(from_jobs)
        self.reused: list[str] = []  # succeeded before, unchanged: not run again
        self.states: dict[str, JobState] = {}
        self.progress: dict[str, int] = {}
        self.active: dict[str, Active] = {}
        self._host_of: dict[str, HostKey] = {}
        self.hosts: dict[HostKey, HostSlot] = {}
        self._writes: list[Callable[[], None]] = []
        self._cancel = False
        self._generation = -1
        self._next_control = 0.0
        self._wake: asyncio.Event | None = None

    # -- public ----------------------------------------------------------------------------

    def request_cancel(self) -> None:
        """Stop starting jobs and cancel the running ones (safe from a signal handler)."""
        self._cancel = True
        if self._wake is not None:
            self._wake.set()

    async def run(self) -> WorkflowState:
        """Run until every job finished; returns the workflow's final state."""
        self._wake = asyncio.Event()
        self.wid = self.store.acquire(self.name)
        try:
            await self._start()
            while True:
                finished = await self.tick()
                if finished:
                    break
                try:
                    await asyncio.wait_for(self._wake.wait(), self._next_wait())
                except TimeoutError:
                    pass
                self._wake.clear()
            state = self._final_state()
            self._writes.append(lambda: self.store.end_run(self.wid, state))
            self._flush()
            self.notifier.workflow_event(state.value)
            return state
        finally:
            for slot in self.hosts.values():
                await slot.host.close()
            if hasattr(self, "notifier"):
                await self.notifier.aclose()
            self.store.release(self.wid)

    # -- start and resume ------------------------------------------------------------------

    async def _start(self) -> None:
        view = self.store.view(self.name)
        self.spec: WorkflowSpec = view.spec
        self.run_dir = self.explicit_run_dir or Path(view.run_dir or config.default_run_dir(self.name))
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self._generation, _ = self.store.generation(self.wid)
        states = {name: job.state for name, job in view.jobs.items()}
        self.attempts = {name: job.attempt for name, job in view.jobs.items()}
        self.progress = {name: job.progress for name, job in view.jobs.items()}
        self.graph = dag.build(self.spec.jobs, self.spec.edges)
        self.fingerprints = rerun.fingerprints(self.spec, self.graph)
        reset, self.reused = rerun.plan(
            self.graph, states, self.store.fingerprints(self.wid), self.fingerprints, self.rerun, self.from_jobs
        )
        reset |= {job for job, state in states.items() if state is JobState.RETRYING}
        self.notifier = Notifier(self.name, self.spec.options.get("notify"))
        self.limits = RunLimits(self.spec, time.monotonic())
        fresh = view.state is not WorkflowState.RUNNING
        with self.store.transaction():
            self.store.start_run(self.wid, str(self.run_dir), reset, fresh=fresh)
        for job in reset:
            states[job] = JobState.READY
            self.progress[job] = 0
        self.states = states
        await self._reattach()
        self.readiness = Readiness(self.graph, self.states, self._host_key)
        self._skipped(self.readiness.recount(self.graph.nodes))

    async def _reattach(self) -> None:
        for attempt in self.store.open_attempts(self.wid):
            job = attempt.job
            if job not in self.spec.jobs:
                continue
            staged = self._staged(job, attempt.number, attempt.token)
            key, slot = self._host(self.spec.jobs[job])
            active = Active(staged, key, JobState(attempt.state), miner=LogMiner(attempt.log_offset))
            if attempt.started is not None:  # its time limit keeps counting across the restart
                active.running_since = time.monotonic() - max(0.0, time.time() - attempt.started)
            if attempt.native_id:
                active.sub = Submission(job, attempt.number, attempt.token, slot.host.name, attempt.native_id,
                                        attempt.workdir, attempt.stem)
                slot.host.reattach(active.sub)
            self.active[job] = active
            self.states[job] = active.state
            log.info("re-attaching job %s attempt %d (%s)", job, attempt.number, attempt.native_id or "unconfirmed")

    # -- one tick --------------------------------------------------------------------------

    async def tick(self) -> bool:
        """One scheduling round; returns True when the run is over."""
        now = time.monotonic()
        cancel = False
        if now >= self._next_control:  # other processes' requests: at most every CONTROL_GAP
            self._next_control = now + CONTROL_GAP
            generation, cancel = self.store.generation(self.wid)
            if generation != self._generation:
                self._reload(generation)
        if cancel or self._cancel:
            await self._cancel_all()
            return True
        if self.limits.deadline is not None and now >= self.limits.deadline:
            await self._deadline_passed()
            return True
        await self._confirm_unsubmitted()
        await self._observe(now)
        await self._enforce_timeouts(now)
        self._release_retries(now)
        staged = self._select()
        self._flush(durable=any(self.hosts[self.active[item.job].host_key].host.kind != "local" for item in staged))
        await self._submit(staged)  # what it learns (native ids) is written with the next round
        if self.on_update is not None:
            self.on_update(self)
        return not self.active and not self.readiness.ready and not self.limits.retry_at

    def _next_wait(self) -> float:
        now = time.monotonic()
        waits = [CONTROL_INTERVAL]
        waits += [self.hosts[key].next_poll - now for key in {a.host_key for a in self.active.values()}]
        if any(a.state is JobState.RUNNING for a in self.active.values()):
            waits.append(LOG_INTERVAL)
        running = {job: active.running_since for job, active in self.active.items()}
        waits.extend(at - now for at in self.limits.wake_times(running))
        return max(0.0, min(waits))

    async def _confirm_unsubmitted(self) -> None:
        """Attempts recorded but not confirmed: find them by token or start them now."""
        for job, active in list(self.active.items()):
            if active.sub is not None:
                continue
            slot = self.hosts[active.host_key]
            try:
                sub = await slot.host.recover(active.staged)
            except HostError as exc:
                log.warning("job %s: cannot look up attempt %s: %s", job, active.staged.token, exc)
                continue
            if sub is not None:
                active.sub = sub
                slot.host.reattach(sub)
                self._write_native(active)
            else:
                await self._submit([active.staged])

    async def _observe(self, now: float) -> None:
        """Poll every due host (concurrently: a slow scheduler holds up no other host)."""
        by_host: dict[HostKey, list[Active]] = {}
        for active in self.active.values():
            if active.sub is not None:
                by_host.setdefault(active.host_key, []).append(active)
        due = {key: actives for key, actives in by_host.items()
               if self.hosts[key].notified or now >= self.hosts[key].next_poll}
        if len(due) == 1:  # the common case: no tasks, no yielding to the loop mid-round
            results = [await self._poll(*next(iter(due.items())))]
        else:
            results = await asyncio.gather(*(self._poll(key, actives) for key, actives in due.items()))
        for (key, actives), observed in zip(due.items(), results):
            slot = self.hosts[key]
            changed = False
            for active in actives:
                obs = observed.get(active.staged.token)
                if obs is not None and obs.state is not active.state:
                    changed = True
                    await self._apply(active, obs)
            for active in actives:
                if active.staged.job in self.active and active.state is JobState.RUNNING and now >= active.next_log_read:
                    await self._mine(active)
                    active.next_log_read = now + LOG_INTERVAL
            slot.interval = slot.host.poll_interval if changed else min(slot.interval * 1.5, MAX_POLL_INTERVAL)
            slot.next_poll = now + slot.interval

    async def _poll(self, key: HostKey, actives: list[Active]) -> dict[str, Observation]:
        slot = self.hosts[key]
        slot.notified = False
        try:
            return await slot.host.poll([a.sub for a in actives if a.sub])
        except HostError as exc:
            log.warning("host %s: poll failed: %s", slot.host.name, exc)
            return {a.staged.token: Observation(JobState.UNKNOWN, message=str(exc)) for a in actives}

    async def _mine(self, active: Active) -> None:
        assert active.sub is not None
        slot = self.hosts[active.host_key]
        try:
            data, _ = await slot.host.read_log(active.sub, active.miner.read_offset)
        except HostError as exc:
            log.debug("job %s: log not readable now: %s", active.staged.job, exc)
            return
        if not data:
            return
        mark = active.miner.feed(data)
        job, token, offset = active.staged.job, active.staged.token, active.miner.line_offset
        self._writes.append(lambda: self.store.update_attempt(token, log_offset=offset))
        if mark is not None and mark.progress is not None and mark.progress != self.progress.get(job):
            self.progress[job] = value = mark.progress
            self._writes.append(lambda: self.store.set_progress(self.wid, job, value, mark.message))

    async def _apply(self, active: Active, obs: Observation) -> None:
        job, token = active.staged.job, active.staged.token
        if obs.state.is_terminal:
            if obs.state is not JobState.CANCELED:
                await self._mine(active)
            if obs.state is JobState.DONE and active.sub is not None:
                obs = await self.hosts[active.host_key].host.finish(active.sub, obs)
            self._finish(job, obs)
            return
        if obs.state is JobState.RUNNING and active.running_since is None:
            active.running_since = time.monotonic()
        active.state = obs.state
        self.states[job] = obs.state
        self._note(job, token, obs)

    def _note(self, job: str, token: str, obs: Observation) -> None:
        """Queue the write of an observation, stamped with the time it was made."""
        now = time.time()
        self._writes.append(lambda: self._record(job, token, obs, now))

    def _record(self, job: str, token: str, obs: Observation, now: float) -> None:
        self.store.set_job_state(self.wid, job, obs.state, message=obs.message, exit_code=obs.exit_code, ts=now)
        fields: dict[str, object] = {"state": obs.state, "message": obs.message}
        if obs.state is JobState.RUNNING:
            fields["started"] = now
        if obs.state.is_terminal:
            fields.update(ended=now, exit_code=obs.exit_code)
        self.store.update_attempt(token, **fields)
        if obs.state.is_terminal:
            self.notifier.job_event(job, obs.state.value, attempt=self.attempts.get(job),
                                    exit_code=obs.exit_code, message=obs.message)

    def _finish(self, job: str, obs: Observation) -> None:
        """Record a terminal observation; retry, or release or skip the job's descendants."""
        active = self.active.pop(job)
        token = active.staged.token
        if self._retry(job, token, obs):
            return
        self.states[job] = obs.state
        if obs.state is JobState.DONE:
            self.progress[job] = 100  # the DONE record sets it in the store
            fingerprint = self.fingerprints.get(job)
            if fingerprint:
                self._writes.append(lambda: self.store.set_fingerprint(self.wid, job, fingerprint))
        self._note(job, token, obs)
        self._skipped(self.readiness.succeeded(job) if obs.state is JobState.DONE else self.readiness.failed(job))

    def _retry(self, job: str, token: str, obs: Observation) -> bool:
        """Schedule another attempt if the job's policy retries this failure."""
        delay = None if self._cancel else self.limits.schedule_retry(job, obs, time.monotonic())
        if delay is None:
            return False
        self.states[job] = JobState.RETRYING
        message = f"attempt {self.attempts[job]} {obs.state.value}" + (f" ({obs.message})" if obs.message else "")
        message += f"; retry {self.limits.retries[job]} in {delay:g}s"
        log.info("job %s: %s", job, message)

        def write() -> None:
            now = time.time()
            self.store.update_attempt(token, state=obs.state, exit_code=obs.exit_code, ended=now, message=obs.message)
            self.store.set_job_state(self.wid, job, JobState.RETRYING, message=message, exit_code=obs.exit_code, ts=now)

        self._writes.append(write)
        return True

    def _release_retries(self, now: float) -> None:
        for job in self.limits.due(now):
            self.states[job] = JobState.READY
            self.readiness.consider(job, check_parents=False)

    async def _enforce_timeouts(self, now: float) -> None:
        """Kill attempts past their ``timeout`` (hosts whose scheduler enforces it are left to it)."""
        expired: dict[HostKey, list[tuple[Active, float]]] = {}
        for job, active in self.active.items():
            limit = self.limits.timed_out(job, active.running_since, now)
            if limit is not None and not self.hosts[active.host_key].host.enforces_time_limit:
                expired.setdefault(active.host_key, []).append((active, limit))
        for key, items in expired.items():
            try:
                await self.hosts[key].host.cancel([a.sub for a, _ in items if a.sub])
            except HostError as exc:
                log.error("host %s: cannot stop timed-out jobs: %s", self.hosts[key].host.name, exc)
            for active, limit in items:
                self._finish(active.staged.job, Observation(JobState.TIMEOUT, message=f"time limit of {limit:g}s reached"))

    async def _deadline_passed(self) -> None:
        """The workflow's deadline: stop everything still running as ``timeout``."""
        self.limits.deadline_hit = True
        await self._stop_all(JobState.TIMEOUT, "workflow deadline reached")

    def _skipped(self, skips: list[Skip]) -> None:
        for job, message in skips:
            self._writes.append(partial(self.store.set_job_state, self.wid, job, JobState.SKIPPED, message=message))

    def _host_key(self, job: str) -> HostKey:
        key = self._host_of.get(job)
        if key is None:
            key = self._host_of[job] = self._host(self.spec.jobs[job])[0]
        return key

    # -- starting --------------------------------------------------------------------------

    def _host(self, job: JobSpec) -> tuple[HostKey, HostSlot]:
        key = config.host_key(job)
        if key not in self.hosts:
            cls = host_class(job.kind)
            host = cls(config.host_config(self.spec, job), notify=partial(self._notified, key))
            self.hosts[key] = HostSlot(host, host.poll_interval)
        return key, self.hosts[key]

    def _notified(self, key: HostKey) -> None:
        self.hosts[key].notified = True
        if self._wake is not None:
            self._wake.set()

    def _staged(self, job: str, attempt: int, token: str) -> StagedJob:
        spec = self.spec.jobs[job]
        _, slot = self._host(spec)
        env = spec.args.get("env") or {}
        return StagedJob(
            workflow=self.name,
            job=job,
            attempt=attempt,
            token=token,
            spec=spec,
            workdir=slot.host.run_dir(self.name, self.run_dir),
            stem=stem_for(job, attempt),
            base_dir=Path(self.spec.base_dir),
            local_run_dir=self.run_dir,
            env={str(k): str(v) for k, v in dict(env).items()},
        )

    def _select(self) -> list[StagedJob]:
        ready = self.readiness
        if not ready.ready:
            return []
        running: dict[HostKey, int] = {}
        for active in self.active.values():
            running[active.host_key] = running.get(active.host_key, 0) + 1
        slots: dict[Hashable, int] = {}
        for key in ready.by_host:
            host_key = cast(HostKey, key)
            slots[key] = self.hosts[host_key].host.max_parallel - running.get(host_key, 0)
        candidates = ready.candidates(slots, everything=getattr(self.policy, "needs_all_ready", False))
        chosen = self.policy.select(candidates, self._host_key, slots, len(self.active), ready.order.__getitem__)
        chosen = self._within_sweep_limits(chosen)
        staged: list[StagedJob] = []
        for job in chosen:
            ready.take(job)
            attempt = self.attempts.get(job, 0) + 1
            self.attempts[job] = attempt
            token = f"hf-{self.wid}-{job}-{attempt}-{secrets.token_hex(4)}"
            item = self._staged(job, attempt, token)
            staged.append(item)
            self.states[job] = JobState.SUBMITTED
            self.progress[job] = 0
            key = self._host_key(job)
            self.active[job] = Active(item, key, JobState.SUBMITTED)
            self._writes.append(partial(self._record_attempt, item, key))
        return staged

    def _within_sweep_limits(self, chosen: list[str]) -> list[str]:
        """Drop jobs beyond their sweep's ``max_parallel`` (job args ``sweep``/``max_parallel``)."""
        active: dict[str, int] = {}
        for job in self.active:
            sweep = self.spec.jobs[job].args.get("sweep")
            if sweep:
                active[sweep] = active.get(sweep, 0) + 1
        kept: list[str] = []
        for job in chosen:
            args = self.spec.jobs[job].args
            sweep, limit = args.get("sweep"), args.get("max_parallel")
            if sweep and limit:
                if active.get(sweep, 0) >= int(limit):
                    continue
                active[sweep] = active.get(sweep, 0) + 1
            kept.append(job)
        return kept

    def _record_attempt(self, item: StagedJob, key: HostKey) -> None:
        kind, host = key
        self.store.add_attempt(self.wid, job=item.job, number=item.attempt, token=item.token, kind=kind,
                               host=host, workdir=item.workdir, stem=item.stem)
        self.store.set_job_state(self.wid, item.job, JobState.SUBMITTED, attempt=item.attempt)

    async def _submit(self, staged: Iterable[StagedJob]) -> None:
        """Start attempts already recorded; what is learned is written with the next round."""
        groups: dict[HostKey, list[StagedJob]] = {}
        for item in staged:
            groups.setdefault(self.active[item.job].host_key, []).append(item)
        for key, items in groups.items():
            slot = self.hosts[key]
            try:
                subs = await slot.host.submit(items)
            except HostError as exc:
                self._submit_failed(items, exc)
                continue
            slot.next_poll = time.monotonic() + slot.host.poll_interval
            slot.interval = slot.host.poll_interval
            for sub in subs:
                active = self.active[sub.job]
                active.sub = sub
                self._write_native(active)
                if active.state is JobState.SUBMITTED:
                    obs = Observation(slot.host.submitted_state)
                    if obs.state is JobState.RUNNING:
                        active.running_since = time.monotonic()
                    active.state = obs.state
                    self.states[sub.job] = obs.state
                    self._note(sub.job, sub.token, obs)

    def _write_native(self, active: Active) -> None:
        sub = active.sub
        assert sub is not None
        self._writes.append(lambda: self.store.update_attempt(sub.token, native_id=sub.native_id))

    def _submit_failed(self, items: list[StagedJob], exc: HostError) -> None:
        for item in items:
            if exc.transient:
                # the host may or may not have started it: find it by token before retrying
                log.warning("job %s: submit uncertain (%s); will look it up", item.job, exc)
                active = self.active[item.job]
                active.state = JobState.UNKNOWN
                self.states[item.job] = JobState.UNKNOWN
                obs = Observation(JobState.UNKNOWN, message=str(exc))
                self._note(item.job, item.token, obs)
            else:
                self._finish(item.job, Observation(JobState.FAILED, message=str(exc)))

    # -- control ---------------------------------------------------------------------------

    def _reload(self, generation: int) -> None:
        """Pick up jobs and edges added (or removed) by another process or thread."""
        self._generation = generation
        spec = self.store.spec(self.name)
        added = [job for job in spec.jobs if job not in self.states]
        removed = [job for job in self.spec.jobs if job not in spec.jobs and job not in self.active]
        self.spec = spec
        self.limits.update(spec)
        for job in removed:
            if job in self.readiness.ready:
                self.readiness.take(job)
            self.states.pop(job, None)
            self.limits.retry_at.pop(job, None)
            self.graph.remove_node(job)
        for job in added:
            self.states[job] = JobState.READY
            self.progress[job] = 0
            self.graph.add_node(job)
        self.graph.add_edges_from(
            (parent, child) for parent, child in spec.edges if parent in self.states and child in self.states
        )
        self._skipped(self.readiness.recount(list(self.graph.nodes)))
        log.info("workflow %s changed: %d jobs added, %d removed", self.name, len(added), len(removed))

    async def _cancel_all(self) -> None:
        await self._stop_all(JobState.CANCELED, "canceled")

    async def _stop_all(self, state: JobState, message: str) -> None:
        by_host: dict[HostKey, list[Submission]] = {}
        for active in self.active.values():
            if active.sub is not None:
                by_host.setdefault(active.host_key, []).append(active.sub)
        for key, subs in by_host.items():
            try:
                await self.hosts[key].host.cancel(subs)
            except HostError as exc:
                log.error("host %s: cancel failed: %s", self.hosts[key].host.name, exc)
        for job in list(self.active):
            self._finish(job, Observation(state, message=message))
        for job in list(self.limits.retry_at):
            del self.limits.retry_at[job]
            self.states[job] = state
            self._writes.append(partial(self.store.set_job_state, self.wid, job, state, message=message))
            self._skipped(self.readiness.failed(job))
        self.readiness.clear()
        self._flush()

    def _final_state(self) -> WorkflowState:
        if self.limits.deadline_hit:
            return WorkflowState.FAILED
        if self._cancel or self.store.generation(self.wid)[1]:
            return WorkflowState.CANCELED
        if all(state is JobState.DONE for state in self.states.values()):
            return WorkflowState.DONE
        return WorkflowState.FAILED

    def _flush(self, *, durable: bool = False) -> None:
        """Write everything this round decided, in one transaction."""
        if not self._writes:
            return
        writes, self._writes = self._writes, []
        with self.store.transaction(durable=durable):
            for write in writes:
                write()
