"""The host-kind interface: what the scheduler asks of every kind of host.

A host kind does I/O only: it starts attempts, reports what it observes, cancels, and
reads logs. The scheduler owns states, timing and retries. All methods are coroutines and
batch-oriented (one call for all of a host's jobs), so that a batch scheduler can answer
with one ``squeue`` and an SSH host with one round trip.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from ..errors import HostError
from ..hostconfig import HostConfig
from ..spec import JobSpec
from ..states import JobState, Observation

__all__ = ["Capabilities", "Host", "HostConfig", "Observation", "StagedJob", "Submission", "gather_limited",
           "guard_batch"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class StagedJob:
    """Everything a host needs to start one attempt of a job.

    ``workdir`` is the run directory *on that host* (shared by the run's jobs there);
    files of the attempt are ``{stem}.log``, ``{stem}.exit``, ``{stem}.pid`` and the
    wrapper ``{stem}.hflow.sh`` in it. ``base_dir`` is the workflow's folder on the
    coordinator: relative script paths start from it, ``stage_in`` files come from it and
    ``stage_out`` files come back into it, and local jobs run in it (see the README,
    "Where jobs run").
    """

    workflow: str
    job: str
    attempt: int
    token: str
    spec: JobSpec
    workdir: str
    stem: str
    base_dir: Path
    env: Mapping[str, str] = field(default_factory=dict)
    #: native ids of the parents' attempts it must start after (a hand-off:
    #: ``--dependency=afterok``); only kinds whose capabilities hand off are given any
    after_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Submission:
    """A started attempt: enough to find it again after a coordinator restart."""

    job: str
    attempt: int
    token: str
    host: str
    native_id: str | None
    workdir: str
    stem: str


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a host kind can do, as far as the engine needs to know."""

    #: the state of an attempt right after a successful submit (batch kinds: PENDING)
    submitted_state: JobState = JobState.RUNNING
    #: the host's own scheduler enforces a job's ``timeout`` (the engine leaves it to it)
    enforces_time_limit: bool = False
    #: attempts run outside this coordinator's machine or process tree (another host, a
    #: batch system): their records are committed durably (``synchronous=FULL``), so that
    #: an attempt that may run is never forgotten after a power loss of the laptop
    external: bool = True
    #: attempts may be submitted before their parents on the same host ended, to start
    #: after them by the batch system's own dependencies (:mod:`hybridflow.handoff`)
    hands_off: bool = False


class Host(ABC):
    """One host of one kind, for one run.

    ``notify`` is called (from the event loop thread) whenever something happened that
    the scheduler should look at now, e.g. a local process exited; hosts that can only
    poll leave it alone and set :attr:`poll_interval`.
    """

    kind: ClassVar[str]
    #: seconds between polls when nothing notifies; the scheduler may back off further
    poll_interval: float = 2.0
    #: seconds between reads of a running attempt's log (progress), whatever the polling
    log_interval: float = 0.5
    #: what this kind can do (the engine asks this, never the kind's name)
    capabilities: ClassVar[Capabilities] = Capabilities()

    def __init__(self, config: HostConfig, notify: Callable[[], None] | None = None) -> None:
        self.config = config
        self.name = config.name
        self.notify = notify or (lambda: None)

    @property
    def max_parallel(self) -> int:
        """How many attempts may be active on this host at once."""
        return self.config.max_parallel or 100

    @property
    def throttles_sweeps(self) -> bool:
        """The host itself keeps a sweep's ``max_parallel`` (Slurm arrays' ``%N``): the engine
        hands it every ready job of the sweep instead of holding them back."""
        return False

    def submission(self, job: StagedJob, native_id: str | None) -> Submission:
        """The submission of ``job`` on this host under ``native_id``."""
        return Submission(job.job, job.attempt, job.token, self.name, native_id, job.workdir, job.stem)

    def run_dir(self, workflow: str, local_run_dir: Path) -> str:
        """The run directory on this host for a run whose local directory is given."""
        return str(local_run_dir)

    async def estimate(self, jobs: Sequence[JobSpec]) -> dict[str, float | None]:
        """The most allocation units each job can be charged (batch kinds that bill);
        jobs left out are not billed (default: none is). None: nothing bounds it."""
        return {}

    @abstractmethod
    async def submit(self, jobs: Sequence[StagedJob]) -> list[Submission]:
        """Start the attempts; raise :class:`~hybridflow.errors.HostError` on failure.

        The attempts were recorded before this is called. Returns one submission per job
        (same order).
        """

    @abstractmethod
    async def poll(self, subs: Sequence[Submission]) -> dict[str, Observation]:
        """Observe attempts, keyed by token. Missing tokens mean "no news"."""

    @abstractmethod
    async def cancel(self, subs: Sequence[Submission]) -> None:
        """Stop the attempts (their whole process groups / batch jobs)."""

    @abstractmethod
    async def read_log(self, sub: Submission, offset: int, limit: int = 1 << 20) -> tuple[bytes, int]:
        """Bytes of the attempt's log from ``offset`` (at most ``limit``), and the new offset."""

    async def recover(self, job: StagedJob) -> Submission | None:
        """Find an attempt that was recorded but whose start was not confirmed.

        Returns its submission when the host knows it (it was started), or None when it
        never started, so that the scheduler may start it without starting it twice.
        """
        return None

    async def repoint(self, subs: Sequence[tuple[Submission, tuple[str, ...]]]) -> None:
        """Make handed-off attempts wait for these parent ids instead (a parent was
        retried); only kinds whose capabilities hand off are asked."""

    def reattach(self, sub: Submission) -> None:
        """Resume watching an attempt started by an earlier coordinator (optional)."""

    async def finish(self, sub: Submission, obs: Observation) -> Observation:
        """Called once an attempt finished (before descendants start): copy back outputs.

        May turn a success into a failure (a missing stage-out file).
        """
        return obs

    async def close(self) -> None:
        """Release connections. The attempts themselves keep running."""

    async def __aenter__(self) -> Host:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


async def gather_limited(coros: Sequence[Any], limit: int = 16) -> list[Any]:
    """Run coroutines with at most ``limit`` at a time, results in order."""
    semaphore = asyncio.Semaphore(limit)

    async def one(coro: Any) -> Any:
        async with semaphore:
            return await coro

    return list(await asyncio.gather(*(one(c) for c in coros)))


async def guard_batch(coro: Awaitable[T], size: int) -> T:
    """Await ``coro``; a permanent HostError in a batch of several becomes transient.

    The engine fails every job of a batch on a permanent error, but only the job at fault
    should fail: a transient error makes it look each one up (``recover``) and retry them
    one by one, so the faulty job fails alone.
    """
    try:
        return await coro
    except HostError as exc:
        if exc.transient or size <= 1:
            raise
        raise HostError(f"{exc} (batch of {size}: retrying one by one)", transient=True) from exc
