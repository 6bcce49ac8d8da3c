"""Cancelling single jobs of a running workflow while the others go on.

What ``Future.cancel()`` of one call of ``hf.map`` asks for (``Store.request_cancel_jobs``):
a job with a running or submitted attempt has it cancelled on its host and is recorded
``canceled``; a job waiting (ready, or between retries) is recorded ``canceled`` without
starting; the jobs below it are skipped, as below any job that did not succeed. A job
that already ended is left as it is. A cancelled job is never retried.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from typing import TYPE_CHECKING

from .hosts.base import Observation
from .states import JobState

if TYPE_CHECKING:
    from .engine import Engine

log = logging.getLogger(__name__)

MESSAGE = "canceled (this job only)"


async def cancel_jobs(engine: Engine, jobs: Collection[str]) -> None:
    """Cancel ``jobs`` of the engine's run (see the module); unknown names are ignored."""
    run_state, readiness = engine.run_state, engine.readiness
    wanted = [job for job in jobs if job in run_state.jobs]
    await engine.hosts.cancel(run_state.active[job] for job in wanted if job in run_state.active)
    for job in wanted:
        if job in run_state.active:
            engine.finish(job, Observation(JobState.CANCELED, message=MESSAGE))
            continue
        state = readiness.state(job)
        if job in engine.limits.retry_at:
            del engine.limits.retry_at[job]
        elif state is not JobState.READY:
            continue  # ended already (or skipped): nothing to cancel
        readiness.take(job)  # out of the ready queue, if it was there
        run_state.move(job, JobState.CANCELED, message=MESSAGE)
        engine.skip(readiness.failed(job))
        log.info("job %s canceled on request", job)
