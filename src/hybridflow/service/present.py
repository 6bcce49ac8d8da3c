"""Snapshots turned into API bodies (pure functions: view in, schema out)."""

from __future__ import annotations

import time

from ..labels import label_for
from ..render.graph import state_colors
from ..snapshot import AttemptView, JobView, WorkflowView
from .logs import log_path
from .schemas import AttemptOut, JobDetail, JobOut, WorkflowDetail, WorkflowSummary
from .snapshots import Version


def _span(start: float | None, end: float | None) -> float | None:
    return end - start if start is not None and end is not None else None


def summary(view: WorkflowView) -> WorkflowSummary:
    return WorkflowSummary(
        name=view.name, state=view.state.value, running=view.running_pid is not None,
        pid=view.running_pid or view.dead_pid, job_count=len(view.jobs), counts=view.counts(),
        created=view.created, modified=view.modified, t0=view.t0, t1=view.t1,
        duration=_span(view.t0, view.t1), run_dir=view.run_dir,
    )


def _parents(view: WorkflowView) -> dict[str, list[str]]:
    parents: dict[str, list[str]] = {name: [] for name in view.jobs}
    for parent, child in view.edges:
        parents.setdefault(child, []).append(parent)
    return parents


def job_out(job: JobView, view: WorkflowView, parents: list[str], now: float) -> JobOut:
    """The job as listed: host and attempt are this run's (none for a job not started in it)."""
    attempt = view.attempts.get(job.name)
    return JobOut(
        name=job.name, kind=job.spec.kind, host=attempt.host if attempt is not None else job.spec.host,
        label=label_for(job, view, now), state=job.state.value, progress=job.progress,
        message=job.message or (attempt.message if attempt is not None else None),
        attempt=attempt.number if attempt is not None else 0,
        exit_code=job.exit_code, tstart=job.tstart, tend=job.tend,
        duration=_span(job.tstart, job.tend), parents=parents,
    )


def detail(view: WorkflowView, version: Version) -> WorkflowDetail:
    now = time.time()
    parents = _parents(view)
    return WorkflowDetail(
        **summary(view).model_dump(),
        jobs=[job_out(job, view, parents.get(job.name, []), now) for job in view.jobs.values()],
        edges=list(view.edges),
        colors={k: str(v) for k, v in state_colors(view.spec).items()},
        generation=version.generation, last_event=version.last_event, source=view.spec.source,
    )


def attempt_out(attempt: AttemptView) -> AttemptOut:
    return AttemptOut(
        number=attempt.number, state=attempt.state.value, exit_code=attempt.exit_code,
        kind=attempt.kind, host=attempt.host, workdir=attempt.workdir, log=str(log_path(attempt)),
        native_id=attempt.native_id, created=attempt.created, started=attempt.started,
        ended=attempt.ended, message=attempt.message,
    )


def job_detail(view: WorkflowView, name: str, attempts: list[AttemptView]) -> JobDetail:
    job = view.jobs[name]
    parents = _parents(view)
    children = [child for parent, child in view.edges if parent == name]
    base = job_out(job, view, parents.get(name, []), time.time())
    return JobDetail(**base.model_dump(), spec=job.spec.to_dict(), children=children,
                     attempts=[attempt_out(a) for a in attempts])
