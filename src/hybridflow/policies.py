"""Scheduling policies: which ready jobs to start now. Pluggable: pass your own to the engine."""

from __future__ import annotations

from collections.abc import Callable, Collection, Hashable, Mapping, Sequence
from typing import Protocol


class SchedulingPolicy(Protocol):
    """Chooses jobs to start among the ready ones.

    ``ready`` is in the order jobs became ready (the head of each host's queue, unless the
    policy sets ``needs_all_ready = True``); ``host_of(job)`` names the job's host and
    ``slots[host]`` how many more attempts that host accepts now (never exceed it);
    ``running`` counts the run's active attempts; ``order(job)`` is the job's position in
    a topological order.

    ``needs_all_ready``: True when :meth:`select` must see every ready job, not just each
    host's queue head (a global order, as :class:`SequentialPolicy` needs).
    """

    needs_all_ready: bool

    def select(
        self,
        ready: Sequence[str],
        host_of: Callable[[str], Hashable],
        slots: Mapping[Hashable, int],
        running: int,
        order: Callable[[str], int],
    ) -> list[str]: ...


class ParallelPolicy:
    """Start every ready job whose host has a free slot, first ready first."""

    needs_all_ready = False

    def select(
        self,
        ready: Sequence[str],
        host_of: Callable[[str], Hashable],
        slots: Mapping[Hashable, int],
        running: int,
        order: Callable[[str], int],
    ) -> list[str]:
        free = dict(slots)
        chosen: list[str] = []
        for job in ready:
            host = host_of(job)
            if free.get(host, 0) > 0:
                free[host] -= 1
                chosen.append(job)
        return chosen


class SequentialPolicy:
    """One job at a time, in topological order (ties broken by name)."""

    needs_all_ready = True  # the engine passes every ready job, not just each host's queue head

    def select(
        self,
        ready: Sequence[str],
        host_of: Callable[[str], Hashable],
        slots: Mapping[Hashable, int],
        running: int,
        order: Callable[[str], int],
    ) -> list[str]:
        if running or not ready:
            return []
        job = min(ready, key=order)
        return [job] if slots.get(host_of(job), 0) > 0 else []


class OnlyPolicy:
    """Start only ``jobs`` (``hflow workflow run --job``), in the order ``base`` would."""

    needs_all_ready = True  # see every ready job: the head of a host's queue may not be one of ours

    def __init__(self, base: SchedulingPolicy, jobs: Collection[str]) -> None:
        self.base = base
        self.jobs = frozenset(jobs)

    def select(
        self,
        ready: Sequence[str],
        host_of: Callable[[str], Hashable],
        slots: Mapping[Hashable, int],
        running: int,
        order: Callable[[str], int],
    ) -> list[str]:
        ours = [job for job in ready if job in self.jobs]
        return self.base.select(ours, host_of, slots, running, order) if ours else []
