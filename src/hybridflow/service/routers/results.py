"""``/api/v1/workflows/{name}/jobs/{job}/result``: a function node's result, as repr and JSON."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from ...errors import HybridflowError, NotFoundError
from ..deps import StateDep
from .common import API, RESPONSES, JobName, WorkflowName

router = APIRouter(prefix=f"{API}/workflows", tags=["jobs"], responses=RESPONSES)


class ResultOut(BaseModel):
    """``text``: repr() of the return value; ``data``: the value as JSON when it is plain
    data; ``error``: what the call raised, or why it has no value (one line);
    ``traceback``: the remote traceback of a raised exception."""

    job: str
    state: str = Field(description="The job's state when read.")
    ready: bool = Field(description="The job ended: text/data/error tell how.")
    text: str | None = None
    data: Any = None
    error: str | None = None
    traceback: str | None = None


@router.get("/{name}/jobs/{job}/result", response_model=ResultOut, summary="Read a function node's result")
def read_result(name: WorkflowName, job: JobName, hf: StateDep) -> ResultOut:
    """The value a function node returned (``text``: its repr, ``data``: JSON when it is plain data), or
    what it raised (``error`` and ``traceback``). ``ready`` is false until the job ended."""
    from ...functions import results

    view = hf.stores.get().view(name)
    if job not in view.jobs:
        raise NotFoundError(f"workflow '{name}' has no job '{job}'")
    state = view.jobs[job].state
    if not state.is_terminal:
        return ResultOut(job=job, state=state.value, ready=False)
    try:
        value = results.outcome(view, job, f"{name}:{job}")
    except HybridflowError as exc:
        return ResultOut(job=job, state=state.value, ready=True, error=str(exc).splitlines()[0])
    except Exception as exc:  # the function's own exception, re-raised by outcome()
        notes = "\n".join(getattr(exc, "__notes__", []))
        return ResultOut(job=job, state=state.value, ready=True, error=f"{type(exc).__name__}: {exc}",
                         traceback=notes or None)
    try:
        plain: Any = json.loads(json.dumps(value))
    except (TypeError, ValueError):
        plain = None
    return ResultOut(job=job, state=state.value, ready=True, text=repr(value), data=plain)
