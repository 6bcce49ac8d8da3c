"""``hflow workflow run --job JOBS``: run just these jobs of a stored workflow.

cloudmesh-cc's manual has ``cms cc workflow run [--name=NAME] [--job=JOB]``, but its
``WorkflowCLIManager.run`` takes no job and runs the whole workflow (5.0.3). hybridflow does
what the manual says, through the ordinary engine and coordinator contracts:

- the named jobs run (again, if they ran before) and nothing else starts; jobs that become
  ready meanwhile stay ``ready`` for a later run;
- every parent of a named job must be ``done`` already, or be named too (then the named
  jobs run in dependency order); otherwise nothing runs and one line says which parent;
- as with ``--from``, the finished descendants of a named job go back to ``ready`` (their
  inputs are about to change): a later ``hflow workflow run NAME`` brings them up to date;
- the exit code speaks for the named jobs (0 when they all ended ``done``); the
  workflow's own state stays ``failed`` until every job is done, as after any run that
  left jobs undone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection, Hashable, Mapping, Sequence
from contextlib import AbstractContextManager
from pathlib import Path

from .. import coordinator, dag
from ..api import Workflow
from ..coordinator import ExitCode, RequestError, RunRequest
from ..engine import Engine
from ..policies import ParallelPolicy, SchedulingPolicy, SequentialPolicy
from ..states import JobState, WorkflowState
from ..store.sqlite import Store

Watch = Callable[[Engine], AbstractContextManager[object]]


class OnlyPolicy:
    """A policy that starts only ``jobs``, in the order ``base`` would."""

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


def check(store: Store, workflow: str, jobs: Sequence[str]) -> None:
    """Raise :class:`RequestError` unless ``jobs`` can run alone (see the module)."""
    view = store.view(workflow)
    unknown = [job for job in jobs if job not in view.jobs]
    if unknown:
        raise RequestError(f"--job names unknown job '{unknown[0]}' of workflow '{workflow}'")
    graph = dag.build(view.spec.jobs, view.spec.edges)
    named = set(jobs)
    again = set(named)
    for job in named:
        again |= {d for d in dag.descendants(graph, job) if view.jobs[d].state.is_terminal}
    for job in jobs:
        for parent in sorted(graph.predecessors(job)):
            if parent in named:
                continue
            if parent in again:
                raise RequestError(f"--job {job}: its parent '{parent}' runs again after another named job: name it too")
            state = view.jobs[parent].state
            if state is not JobState.DONE:
                raise RequestError(f"--job {job}: its parent '{parent}' is {state.value}, not done: "
                                   "name it too, or run the whole workflow")


def run(store: Store, workflow: str, jobs: Sequence[str], *, sequential: bool, workdir: Path | None,
        watch: Watch | None) -> tuple[ExitCode, WorkflowState]:
    """Run just ``jobs`` of ``workflow``; the exit code of the named jobs and the run's state."""
    request = RunRequest(workflow, from_jobs=tuple(jobs), workdir=workdir, sequential=sequential)
    coordinator.check(request, store)
    check(store, workflow, jobs)
    named = frozenset(jobs)

    def stop_when_ours_ended(engine: Engine) -> None:
        # called at the end of every round, before the engine asks whether the run is over:
        # once none of our jobs is running, waiting to retry or ready, the rest stay ready
        if not engine.active and not engine.limits.retry_at and named.isdisjoint(engine.readiness.ready):
            engine.readiness.clear()

    base: SchedulingPolicy = SequentialPolicy() if sequential else ParallelPolicy()
    engine = Workflow(workflow, store=store).engine(
        policy=OnlyPolicy(base, named), workdir=workdir, from_jobs=request.from_jobs, on_update=stop_when_ours_ended)
    state = asyncio.run(coordinator._drive(engine, watch))  # its signal handling: Ctrl-C cancels
    if state is WorkflowState.CANCELED:
        return ExitCode.CANCELED, state
    states = store.view(workflow).jobs
    ok = all(states[job].state is JobState.DONE for job in named)
    return (ExitCode.OK if ok else ExitCode.FAILED), state
