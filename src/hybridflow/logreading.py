"""Reading the logs of running attempts, for progress, on their own cadence.

Not the hosts' polling back-off: progress printed by a long job is recorded within
seconds. What a log read finds is written through :class:`~hybridflow.runstate.RunState`
(the offset read, a changed progress), like every other change of a run.
"""

from __future__ import annotations

import logging

from .errors import HostError
from .hostpool import HostPool
from .hosts.base import Host, gather_limited
from .runstate import Attempt, RunState
from .states import JobState

log = logging.getLogger(__name__)

LOG_INTERVAL = 0.5  # seconds between log reads of one running attempt (at least)


def _interval(host: Host) -> float:
    return max(LOG_INTERVAL, host.log_interval)


def began_running(attempt: Attempt, host: Host, now: float) -> None:
    """The attempt runs from ``now``: its first log read is one interval later (a job that
    ends sooner has its log read once, when it ends; no round is spent on it before)."""
    attempt.running_since = now
    attempt.next_log_read = now + _interval(host)


async def read_due(run_state: RunState, hosts: HostPool, now: float) -> None:
    """Read the logs of the running attempts whose next read is due."""
    due = [a for a in run_state.active.values()
           if a.state is JobState.RUNNING and a.sub is not None and now >= a.next_log_read]
    for attempt in due:
        attempt.next_log_read = now + _interval(hosts[attempt.host_key].host)
    if len(due) == 1:
        await mine(due[0], hosts[due[0].host_key].host, run_state)
    elif due:
        await gather_limited([mine(attempt, hosts[attempt.host_key].host, run_state) for attempt in due])


async def mine(attempt: Attempt, host: Host, run_state: RunState) -> None:
    """Read what is new in the attempt's log and record the progress it reports."""
    assert attempt.sub is not None
    try:
        data, _ = await host.read_log(attempt.sub, attempt.miner.read_offset)
    except HostError as exc:
        log.debug("job %s: log not readable now: %s", attempt.staged.job, exc)
        return
    if not data:
        return
    mark = attempt.miner.feed(data)
    run_state.log_read(attempt)
    job = attempt.staged.job
    if mark is not None and mark.progress is not None and mark.progress != run_state.jobs[job].progress:
        run_state.set_progress(job, mark.progress, mark.message)
