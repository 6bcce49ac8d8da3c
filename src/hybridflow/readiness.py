"""Which jobs may start now: bookkeeping over the DAG, no I/O.

:class:`Readiness` keeps, for every job, how many parents have not succeeded yet, queues
the READY jobs whose parents all succeeded (per host, in the order they became ready),
and skips the jobs that never can run because an upstream job did not succeed. Each
update is O(edges touched), so a 10,000-job fan-out costs O(N) in all, not O(N²).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Hashable, Iterable, Mapping

from . import dag
from .states import JobState

#: a job the caller must record as skipped, and why
Skip = tuple[str, str]


class Readiness:
    """Ready queues and skip decisions for one run.

    ``state_of`` reads the engine's job states; this class never changes them. Every method
    that decides to skip jobs returns those decisions, for the engine to apply (and
    remembers them, so that a job is skipped once even before the engine applied it).
    """

    def __init__(
        self,
        graph: dag.DAG,
        state_of: Callable[[str], JobState],
        host_of: Callable[[str], Hashable],
    ) -> None:
        self.graph = graph
        self._state = state_of
        self.host_of = host_of
        self.skipped: dict[str, JobState] = {}  # decided here, with the upstream state that caused it
        self.ready: dict[str, None] = {}  # insertion-ordered set of startable jobs
        self.by_host: dict[Hashable, dict[str, None]] = {}
        self.waiting: dict[str, int] = {}
        self.order: dict[str, int] = {}
        #: the skips the first count decided (a parent that did not succeed in an earlier
        #: run), for the engine to apply as it starts
        self.first_skips: list[Skip] = self.recount(graph.nodes)

    def recount(self, jobs: Iterable[str]) -> list[Skip]:
        """Recompute waiting counts and queue or skip ``jobs`` (at start, after a change)."""
        self.order = {job: i for i, job in enumerate(dag.topological_order(self.graph))}
        skips: list[Skip] = []
        for job in jobs:
            self.waiting[job] = sum(1 for p in self.graph.predecessors(job) if self.state(p) is not JobState.DONE)
            if self.state(job) is JobState.READY:
                if self.waiting[job]:
                    self.take(job)
                skips += self.consider(job)
        return skips

    def consider(self, job: str, *, check_parents: bool = True) -> list[Skip]:
        """Queue ``job`` if it may start, or skip it (and its descendants) if it never can.

        ``check_parents=False`` when a parent just succeeded: a failed parent would have
        skipped this job already, so only the waiting count matters (O(1) per edge).
        """
        if self.state(job) is not JobState.READY:
            return []
        if check_parents:
            failed = [p for p in self.graph.predecessors(job) if self.state(p).is_unsuccessful]
            if failed:
                self.take(job)
                self.skipped[job] = JobState.SKIPPED
                return [(job, f"upstream job '{failed[0]}' {self.state(failed[0]).value}"), *self.failed(job)]
        if self.waiting.get(job, 0) == 0:
            self.ready[job] = None
            self.by_host.setdefault(self.host_of(job), {})[job] = None
        return []

    def succeeded(self, job: str) -> list[Skip]:
        """``job`` is DONE: its children wait for one parent less."""
        for child in self.graph.successors(job):
            self.waiting[child] -= 1
            self.consider(child, check_parents=False)
        return []

    def failed(self, job: str) -> list[Skip]:
        """``job`` ended unsuccessfully: every READY descendant is skipped."""
        skips: list[Skip] = []
        cause = self.state(job).value
        for child in dag.descendants(self.graph, job):
            if self.state(child) is JobState.READY:
                self.take(child)
                self.skipped[child] = JobState.SKIPPED
                skips.append((child, f"upstream job '{job}' {cause}"))
        return skips

    def state(self, job: str) -> JobState:
        """The job's state, counting the skips decided here and not yet applied."""
        return self.skipped.get(job) or self._state(job)

    def take(self, job: str) -> None:
        """Remove ``job`` from the queues (it starts, or can no longer start)."""
        if self.ready.pop(job, 0) is None:
            del self.by_host[self.host_of(job)][job]

    def clear(self) -> None:
        self.ready.clear()
        self.by_host.clear()

    def candidates(self, slots: Mapping[Hashable, int], *, everything: bool = False) -> list[str]:
        """Jobs to offer a scheduling policy: the head of each host's queue, enough for
        its free ``slots`` (O(slots), not O(ready)); or every ready job."""
        if everything:
            return list(self.ready)
        found: list[str] = []
        for key, queue in self.by_host.items():
            free = slots.get(key, 0)
            if free > 0:
                found.extend(itertools.islice(queue, max(4 * free, 32)))
        return found
