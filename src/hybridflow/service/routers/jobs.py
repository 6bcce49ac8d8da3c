"""``/api/v1/workflows/{name}/jobs``: add, inspect and remove jobs, and read their logs."""

from __future__ import annotations

from typing import Annotated

from anyio import from_thread
from fastapi import APIRouter, Query, Response
from fastapi.responses import FileResponse, StreamingResponse

from ...errors import LockedError, NotFoundError, SpecError
from ...logsource import is_here
from ...names import split_list
from ...spec import JobSpec
from ...states import JobState
from ...store.sqlite import Store
from ...validate import validate
from .. import present
from ..archive import TooLarge
from ..deps import ServiceState, StateDep
from ..files import open_inside
from ..limits import check_names
from ..logs import log_path, read_chunk
from ..schemas import JobDetail, JobIn, JobsAdded, LogOut
from .common import API, RESPONSES, JobName, WorkflowName

router = APIRouter(prefix=f"{API}/workflows", tags=["jobs"], responses=RESPONSES)


def job_states(hf: ServiceState, store: Store, name: str) -> dict[str, JobState]:
    """Every job's current state, from the snapshot cache (rebuilt only when it changed)."""
    return hf.cache.get(store, name, "states", lambda view, _: {n: j.state for n, j in view.jobs.items()},
                        exact=True)[1]


@router.post("/{name}/jobs", status_code=201, response_model=JobsAdded, summary="Add jobs")
def add_jobs(name: WorkflowName, body: JobIn, hf: StateDep) -> JobsAdded:
    """Add one job, or several when ``name`` expands (``train[1-3]``); all or nothing.

    Works while the workflow runs: the coordinator starts new jobs when they are ready.
    422 when a job is invalid (bad name, unknown kind, missing script...), 409 when a job
    of that name exists.
    """
    store = hf.stores.get()
    check_names(body.name, hf.settings.max_jobs, "job name")
    names = split_list(body.name)
    if not names:
        raise SpecError("no job name given")
    fields = body.model_dump(exclude={"name", "args"}, exclude_none=True)
    jobs = [JobSpec.from_dict(job, {**body.args, **fields}) for job in names]
    with hf.name_lock(name):
        current = store.spec(name)
        taken = [job.name for job in jobs if job.name in current.jobs]
        if taken:
            raise LockedError(f"workflow '{name}' already has job '{taken[0]}' (delete it first)")
        if len(current.jobs) + len(jobs) > hf.settings.max_jobs:
            raise TooLarge(f"workflow would have more than {hf.settings.max_jobs} jobs")
        updated = validate(current.with_jobs(jobs), limits=hf.settings.limits())
        store.add_jobs(name, [updated.jobs[job.name] for job in jobs])
    hf.cache.forget(name)
    return JobsAdded(name=name, added=[job.name for job in jobs])


@router.get("/{name}/jobs/{job}", response_model=JobDetail, summary="Get a job")
def get_job(name: WorkflowName, job: JobName, hf: StateDep) -> JobDetail:
    """The job's spec, state, times, parents, children and every attempt (with log paths)."""
    store = hf.stores.get()
    view = store.view(name)
    if job not in view.jobs:
        raise NotFoundError(f"workflow '{name}' has no job '{job}'")
    return present.job_detail(view, job, store.attempts(name, job))


@router.delete("/{name}/jobs/{job}", status_code=204, summary="Remove a job")
def remove_job(name: WorkflowName, job: JobName, hf: StateDep) -> Response:
    """Remove a job that is not running, with its edges (409 while it runs)."""
    with hf.name_lock(name):
        hf.stores.get().remove_job(name, job)
    hf.cache.forget(name)
    return Response(status_code=204)


@router.get("/{name}/jobs/{job}/log", response_model=LogOut, summary="Read a job's log")
def read_log(
    name: WorkflowName,
    job: JobName,
    hf: StateDep,
    offset: Annotated[int | None, Query(ge=0, le=2**53, description="Byte offset to read from.")] = None,
    tail: Annotated[int | None, Query(ge=1, le=2**30, description="Without offset: the last N bytes.")] = None,
    limit: Annotated[int, Query(ge=1, le=2**30, description="At most this many bytes.")] = 65536,
    attempt: Annotated[int | None, Query(ge=1, le=2**31, description="Attempt number (default: latest).")] = None,
) -> LogOut:
    """A piece of the job's log; follow it by passing ``next_offset`` back as ``offset``.

    Before the job ever started the answer is empty (``attempt`` null).
    """
    store = hf.stores.get()
    states = job_states(hf, store, name)
    if job not in states:
        raise NotFoundError(f"workflow '{name}' has no job '{job}'")
    state = states[job]
    attempts = store.attempts(name, job)
    if attempt is not None:
        attempts = [a for a in attempts if a.number == attempt]
        if not attempts:
            raise NotFoundError(f"job '{job}' has no attempt {attempt}")
    if not attempts:
        start = offset or 0
        return LogOut(job=job, attempt=None, offset=0, next_offset=0, size=0, data="",
                      state=state.value, complete=state.is_terminal and start == 0)
    chosen = attempts[-1]
    limit = min(limit, hf.settings.max_log_chunk)
    if is_here(chosen):
        chunk = read_chunk(chosen, offset=offset, tail=tail, limit=limit)
    else:  # through the job's host; a remote tail starts at the beginning (see remotelogs)
        chunk = from_thread.run(hf.remote_logs.read, store.spec(name), chosen, offset or 0, limit)
    ended = chosen.state.is_terminal if attempt is not None else state.is_terminal
    return LogOut(job=job, attempt=chosen.number, offset=chunk.offset, next_offset=chunk.next_offset,
                  size=chunk.size, data=chunk.data, state=state.value,
                  complete=ended and chunk.next_offset >= chunk.size)


@router.get("/{name}/jobs/{job}/log/download", summary="Download a job's log", response_class=FileResponse,
            responses={200: {"content": {"text/plain": {}}, "description": "The whole log file."}})
def download_log(
    name: WorkflowName,
    job: JobName,
    hf: StateDep,
    attempt: Annotated[int | None, Query(ge=1, le=2**31, description="Attempt number (default: latest).")] = None,
) -> Response:
    """The attempt's whole log as a file (``JOB.log``, ``JOB.attempt2.log``...), read through
    its host when it lies on a remote one; 404 before the job started."""
    store = hf.stores.get()
    spec = store.spec(name)
    if job not in spec.jobs:
        raise NotFoundError(f"workflow '{name}' has no job '{job}'")
    attempts = [a for a in store.attempts(name, job) if attempt is None or a.number == attempt]
    if not attempts:
        raise NotFoundError(f"job '{job}' has no attempt {attempt}" if attempt else f"job '{job}' has not started")
    chosen = attempts[-1]
    filename = f"{name}-{chosen.log_name}"
    if not is_here(chosen):
        return StreamingResponse(from_thread.run(hf.remote_logs.download, spec, chosen), media_type="text/plain; charset=utf-8",
                                 headers={"Content-Disposition": f'attachment; filename="{filename}"'})
    path = log_path(chosen)
    try:
        with open_inside(chosen.workdir, chosen.log_name):
            pass
    except FileNotFoundError:
        raise NotFoundError(f"job '{job}': no log at {path}") from None
    return FileResponse(path, media_type="text/plain; charset=utf-8", filename=filename)
