"""Resuming a run's open attempts: re-attach the recorded ones, confirm the unconfirmed.

Crash safety rests here: an attempt is recorded (with a unique token) before its host is
asked to start it, so a restarted engine re-attaches to it by native id when one was stored,
otherwise asks the host to find the token (``Host.recover``); only an attempt the host
never saw is started again.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from .errors import HostError
from .hosts.base import Submission
from .progress import LogMiner
from .runstate import Attempt
from .states import JobState

if TYPE_CHECKING:
    from .engine import Engine

log = logging.getLogger(__name__)


def reattach(engine: Engine) -> None:
    """Take over the attempts the store holds open (at start-up)."""
    for record in engine.store.open_attempts(engine.wid):
        job = record.job
        if job not in engine.spec.jobs:
            continue
        staged = engine.hosts.stage(engine.spec, job, record.number, record.token, engine.run_dir)
        key, slot = engine.hosts.slot_for(engine.spec, engine.spec.jobs[job])
        attempt = Attempt(staged, key, JobState(record.state), miner=LogMiner(record.log_offset))
        if record.started is not None:  # its time limit keeps counting across the restart
            attempt.running_since = time.monotonic() - max(0.0, time.time() - record.started)
        if record.native_id:
            attempt.sub = Submission(job, record.number, record.token, slot.host.name, record.native_id,
                                     record.workdir, record.stem)
            slot.host.reattach(attempt.sub)
        engine.run_state.reattach(attempt, record.number)
        log.info("re-attaching job %s attempt %d (%s)", job, record.number, record.native_id or "unconfirmed")


async def confirm_unsubmitted(engine: Engine) -> None:
    """Attempts recorded but not confirmed: find them by token or start them now.

    The ones the host never saw start together once (so that a sweep's tasks still make
    one array), then one by one: a batch that failed again (a permanent error in a batch
    is reported transient, see ``guard_batch``) must let the faulty attempt fail alone."""
    unseen = []
    for job, attempt in list(engine.run_state.active.items()):
        if attempt.sub is not None:
            continue
        slot = engine.hosts[attempt.host_key]
        try:
            sub = await slot.host.recover(attempt.staged)
        except HostError as exc:
            log.warning("job %s: cannot look up attempt %s: %s", job, attempt.staged.token, exc)
            continue
        if sub is not None:
            attempt.sub = sub
            slot.host.reattach(sub)
            engine.run_state.confirmed(attempt)
        elif attempt.resubmitted_together:
            await engine.submit([attempt.staged])
        else:
            attempt.resubmitted_together = True
            unseen.append(attempt.staged)
    if unseen:
        await engine.submit(unseen)
