"""``/api/v1/workflows/{name}/run`` and ``/cancel``: start and stop runs.

A run is a detached coordinator process (see :mod:`hybridflow.service.runner`), the same
as ``hflow workflow run``; cancelling goes through the store, as ``hflow workflow cancel``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body

from ...coordinator import RunRequest
from ...rerun import RerunMode
from ..deps import StateDep
from ..schemas import CancelOut, RunIn, RunOut
from .common import API, RESPONSES, WorkflowName

router = APIRouter(prefix=f"{API}/workflows", tags=["runs"], responses=RESPONSES)


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
    request = RunRequest(name, rerun=RerunMode(options.rerun), from_jobs=tuple(options.from_jobs),
                         sequential=options.sequential, resume=options.resume)
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
