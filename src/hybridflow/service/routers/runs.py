"""``/api/v1/workflows/{name}/run`` and ``/cancel``: start and stop runs.

A run is a detached coordinator process (see :mod:`hybridflow.service.runner`), the same
as ``hflow workflow run``; cancelling goes through the store, as ``hflow workflow cancel``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Path
from starlette.concurrency import run_in_threadpool

from ...coordinator import RequestError, RunRequest
from ...errors import NotFoundError
from ...rerun import RerunMode
from ...snapshot import RunView
from ..deps import StateDep
from ..schemas import CancelOut, RunIn, RunOut, RunRecordOut, TimelineAttempt, TimelineOut
from .common import API, RESPONSES, WorkflowName

router = APIRouter(prefix=f"{API}/workflows", tags=["runs"], responses=RESPONSES)


def _rerun_mode(options: RunIn) -> RerunMode:
    """``rerun``, or the CLI's spellings of it; more than one of them is a 422."""
    chosen = [mode for mode, on in ((RerunMode.FAILED, options.rerun_failed), (RerunMode.FORCE, options.force),
                                    (RerunMode(options.rerun), options.rerun != "default")) if on]
    if len(set(chosen)) > 1 or (chosen and (options.from_ or options.from_jobs)) or (options.from_ and options.from_jobs):
        raise RequestError("use only one of rerun_failed, force, from (from_jobs) and rerun")
    return chosen[0] if chosen else RerunMode.DEFAULT


def _record(run: RunView) -> RunRecordOut:
    return RunRecordOut(number=run.number, started=run.started, ended=run.ended, duration=run.duration,
                        state=run.state.value, started_by=run.started_by, pid=run.pid,
                        options=dict(run.options), counts=dict(run.counts))


@router.get("/{name}/runs", response_model=list[RunRecordOut], summary="List the runs of a workflow")
async def list_runs(name: WorkflowName, hf: StateDep) -> list[RunRecordOut]:
    """Every run, newest first: start, end, state (``interrupted`` when its coordinator died),
    who started it, its options and the jobs per state when it ended."""
    runs = await run_in_threadpool(lambda: hf.stores.get().runs(name))
    return [_record(run) for run in runs]


@router.get("/{name}/runs/{number}", response_model=TimelineOut, summary="One run with its attempts")
async def get_run(name: WorkflowName, number: Annotated[int, Path(ge=1, le=2**31)], hf: StateDep) -> TimelineOut:
    """The run and every attempt started during it (job, host, times, state): a timeline."""
    def read() -> TimelineOut:
        store = hf.stores.get()
        runs = {run.number: run for run in store.runs(name)}
        if number not in runs:
            raise NotFoundError(f"workflow '{name}' has no run {number}")
        run = runs[number]
        later = [r.started for n, r in runs.items() if n > number]
        until = min(later) if later else float("inf")
        attempts = [TimelineAttempt(job=a.job, number=a.number, state=a.state.value, host=a.host, kind=a.kind,
                                    created=a.created, started=a.started, ended=a.ended, exit_code=a.exit_code)
                    for a in store.attempts(name) if run.started <= a.created < until]
        return TimelineOut(run=_record(run), attempts=attempts)
    return await run_in_threadpool(read)


@router.post("/{name}/run", status_code=202, response_model=RunOut, summary="Run a workflow")
def run_workflow(name: WorkflowName, hf: StateDep, options: Annotated[RunIn | None, Body()] = None) -> RunOut:
    """Start (or resume) a run in a coordinator process that outlives the service.

    The options are those of ``hflow workflow run``, checked by the same
    :class:`~hybridflow.coordinator.RunRequest`. Answers once the coordinator holds the
    workflow's lock; 409 when it already runs, 422 when the options cannot run
    (``resume: false``, an unknown ``from_jobs`` job) or the coordinator refused the
    workflow (its one-line error).
    """
    options = options or RunIn.model_validate({})
    request = RunRequest(name, rerun=_rerun_mode(options), from_jobs=tuple(options.from_jobs or options.from_),
                         sequential=options.sequential, resume=options.resume, detach=options.detach)
    started = hf.runner.start(hf.stores.get(), request)
    hf.cache.forget(name)
    return RunOut(name=name, pid=started.pid, running=started.running, exit_code=started.exit_code)


@router.post("/{name}/cancel", status_code=202, response_model=CancelOut, summary="Cancel a run")
def cancel_workflow(name: WorkflowName, hf: StateDep) -> CancelOut:
    """Ask the running coordinator (started by the service or the CLI) to cancel.

    Its running jobs are terminated and recorded as canceled; ``running`` is false when
    no coordinator was running (nothing to cancel).
    """
    running = hf.stores.get().request_cancel(name)
    return CancelOut(name=name, requested=True, running=running)
