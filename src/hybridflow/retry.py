"""Job policies read from the workflow: retries (which failures, how often, how long to
wait) and time limits. Per-job keys (typed :class:`~hybridflow.spec.JobSpec` fields, parsed by
:mod:`hybridflow.jobfields`) override the workflow's top-level defaults::

    retries: 3                 # attempts after the first
    retry_delay: 30s           # first wait; doubles each time (exponential back-off)...
    retry_max_delay: 10m       # ...up to this cap
    retry_on: [exit, lost]     # which failures retry (see FAILURE_KINDS)
    timeout: 2h                # per attempt; local/ssh: process group killed -> 'timeout'
    deadline: 6h               # top level only: the whole run

By default infrastructure failures (``lost``, ``node_fail``, ``preempted``) retry — up to
``retries`` times, or :data:`DEFAULT_INFRA_RETRIES` when no ``retries`` is set — and a
non-zero exit retries only when ``retry_on`` names ``exit``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .durations import parse_duration
from .errors import SpecError
from .jobfields import FAILURE_KINDS, POLICY_KEYS, parse_policy
from .spec import JobSpec, WorkflowSpec
from .states import JobState, Observation

INFRASTRUCTURE = frozenset({"lost", "node_fail", "preempted"})
DEFAULT_INFRA_RETRIES = 2
__all__ = ["DEFAULT_INFRA_RETRIES", "FAILURE_KINDS", "INFRASTRUCTURE", "POLICY_KEYS", "JobPolicy", "RunLimits",
           "check", "deadline", "failure_kind", "job_policy", "workflow_policy"]


def failure_kind(obs: Observation) -> str | None:
    """Which kind of failure ``obs`` is (None for success and cancellation)."""
    if obs.state is JobState.FAILED:
        return "exit"
    if obs.state is JobState.TIMEOUT:
        return "timeout"
    if obs.state is JobState.LOST:
        message = (obs.message or "").upper()
        if message.startswith(("NODE_FAIL", "BOOT_FAIL")):
            return "node_fail"
        if message.startswith("PREEMPTED"):
            return "preempted"
        return "lost"
    return None


@dataclass(frozen=True, slots=True)
class JobPolicy:
    """The resolved retry and time-limit settings of one job."""

    retries: int | None = None
    retry_delay: float = 30.0
    retry_max_delay: float = 600.0
    retry_on: frozenset[str] = INFRASTRUCTURE
    timeout: float | None = None

    def allows_retry(self, kind: str | None, retries_done: int) -> bool:
        """Whether a failure of ``kind`` after ``retries_done`` retries gets another attempt."""
        if kind is None or kind not in self.retry_on:
            return False
        limit = self.retries if self.retries is not None else (DEFAULT_INFRA_RETRIES if kind in INFRASTRUCTURE else 0)
        return retries_done < limit

    def delay(self, retries_done: int) -> float:
        """Seconds to wait before retry number ``retries_done + 1``."""
        factor: int = 2**retries_done  # typeshed types int ** int as Any (a negative exponent gives a float)
        return min(self.retry_delay * factor, self.retry_max_delay)


def workflow_policy(spec: WorkflowSpec) -> dict[str, Any]:
    """The workflow's top-level policy defaults (:data:`POLICY_KEYS` set in ``options``),
    parsed; a malformed one raises :class:`SpecError` naming the file and the field."""
    try:
        return parse_policy(spec.options)
    except SpecError as exc:
        raise SpecError(exc.problem, file=spec.source, field=exc.field) from None


def job_policy(spec: WorkflowSpec, job: JobSpec, defaults: Mapping[str, Any] | None = None) -> JobPolicy:
    """Settings for ``job``: its own typed fields over the workflow's top-level ones
    (``defaults``: :func:`workflow_policy` of ``spec``, computed when not given)."""
    merged = dict(workflow_policy(spec) if defaults is None else defaults)
    for key in POLICY_KEYS:
        value = getattr(job, key)
        if value is not None:
            merged[key] = value
    if "retry_on" in merged:
        merged["retry_on"] = frozenset(merged["retry_on"])
    return JobPolicy(**merged)


def deadline(spec: WorkflowSpec) -> float | None:
    """The workflow's ``deadline:`` in seconds, if any."""
    value = spec.options.get("deadline")
    if value is None:
        return None
    try:
        return parse_duration(value)
    except SpecError as exc:
        raise SpecError(exc.problem, file=spec.source, field="deadline") from None


def check(spec: WorkflowSpec) -> None:
    """Validation hook: the workflow's deadline and policy defaults parse (a job's own
    policy fields are typed, checked when the node was read)."""
    deadline(spec)
    workflow_policy(spec)


class RunLimits:
    """One run's bookkeeping of retries, time limits and the deadline (no I/O).

    Times are ``time.monotonic()`` values.
    """

    def __init__(self, spec: WorkflowSpec, now: float) -> None:
        self.spec = spec
        self._defaults = workflow_policy(spec)
        self._policies: dict[str, JobPolicy] = {}
        self.retries: dict[str, int] = {}  # retries done in this run
        self.retry_at: dict[str, float] = {}  # job -> when its next attempt may start
        limit = deadline(spec)
        self.deadline = now + limit if limit is not None else None
        self.deadline_hit = False

    def update(self, spec: WorkflowSpec) -> None:
        """The workflow changed (jobs added or replaced): forget cached policies."""
        self.spec = spec
        self._defaults = workflow_policy(spec)
        self._policies.clear()

    def policy(self, job: str) -> JobPolicy:
        found = self._policies.get(job)
        if found is None:
            found = self._policies[job] = job_policy(self.spec, self.spec.jobs[job], self._defaults)
        return found

    def schedule_retry(self, job: str, obs: Observation, now: float) -> float | None:
        """The delay before the next attempt if ``obs`` is a failure the job retries."""
        if self.deadline_hit:
            return None
        policy = self.policy(job)
        done = self.retries.get(job, 0)
        if not policy.allows_retry(failure_kind(obs), done):
            return None
        delay = policy.delay(done)
        self.retries[job] = done + 1
        self.retry_at[job] = now + delay
        return delay

    def due(self, now: float) -> list[str]:
        """Jobs whose retry delay is over (removed from the waiting list)."""
        ready = [job for job, at in self.retry_at.items() if at <= now]
        for job in ready:
            del self.retry_at[job]
        return ready

    def timed_out(self, job: str, running_since: float | None, now: float) -> float | None:
        """The job's time limit if its attempt has run past it, else None."""
        limit = self.policy(job).timeout
        if limit is None or running_since is None or now - running_since < limit:
            return None
        return limit

    def wake_times(self, running: Mapping[str, float | None]) -> list[float]:
        """When something here falls due: retries, the deadline, time limits."""
        times = list(self.retry_at.values())
        if self.deadline is not None:
            times.append(self.deadline)
        for job, since in running.items():
            limit = self.policy(job).timeout
            if limit is not None and since is not None:
                times.append(since + limit)
        return times
