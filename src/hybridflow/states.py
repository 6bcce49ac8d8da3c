"""Job and workflow states, and the one table of allowed transitions.

Names follow cloudmesh-cc where it had one (``ready``, ``running``, ``done``, ``failed``)
so that its ``colors: status:`` maps apply unchanged. States only move forward within an
attempt; a rerun starts a new attempt from ``ready``.

A job the infrastructure lost (host unreachable, scheduler forgot it) becomes ``unknown``
while it may still come back, ``lost`` once it is known to be gone: never silently
``failed`` or ``done``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from .usage import Usage


class JobState(StrEnum):
    """State of one job in a run."""

    READY = "ready"  # declared, waiting for its parents or a free slot
    SUBMITTED = "submitted"  # attempt recorded and handed to the host
    PENDING = "pending"  # accepted by a batch scheduler, waiting for resources
    RUNNING = "running"
    UNKNOWN = "unknown"  # the host cannot tell us right now (unreachable, vanished)
    RETRYING = "retrying"  # an attempt failed; the next one starts after a delay
    DONE = "done"
    FAILED = "failed"  # the payload exited non-zero
    TIMEOUT = "timeout"
    CANCELED = "canceled"
    SKIPPED = "skipped"  # an upstream job did not succeed
    LOST = "lost"  # the infrastructure lost it (node failure, process vanished)

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL

    @property
    def is_active(self) -> bool:
        """Handed to a host and not yet finished."""
        return self in ACTIVE

    @property
    def is_unsuccessful(self) -> bool:
        return self in TERMINAL and self is not JobState.DONE


TERMINAL = frozenset(
    {
        JobState.DONE,
        JobState.FAILED,
        JobState.TIMEOUT,
        JobState.CANCELED,
        JobState.SKIPPED,
        JobState.LOST,
    }
)
ACTIVE = frozenset({JobState.SUBMITTED, JobState.PENDING, JobState.RUNNING, JobState.UNKNOWN})


_FINISH = {JobState.DONE, JobState.FAILED, JobState.TIMEOUT, JobState.CANCELED, JobState.LOST}
TRANSITIONS: dict[JobState, frozenset[JobState]] = {
    JobState.READY: frozenset({JobState.SUBMITTED, JobState.SKIPPED, JobState.CANCELED}),
    # a handed-off attempt (hybridflow.handoff) whose upstream failed is withdrawn: skipped
    JobState.SUBMITTED: frozenset({JobState.PENDING, JobState.RUNNING, JobState.UNKNOWN, JobState.RETRYING,
                                   JobState.SKIPPED} | _FINISH),
    JobState.PENDING: frozenset({JobState.RUNNING, JobState.UNKNOWN, JobState.RETRYING, JobState.SKIPPED} | _FINISH),
    JobState.RUNNING: frozenset({JobState.UNKNOWN, JobState.RETRYING} | _FINISH),
    JobState.UNKNOWN: frozenset({JobState.PENDING, JobState.RUNNING, JobState.RETRYING, JobState.SKIPPED} | _FINISH),
    JobState.RETRYING: frozenset({JobState.SUBMITTED, JobState.CANCELED, JobState.TIMEOUT, JobState.SKIPPED}),
    JobState.DONE: frozenset(),
    JobState.FAILED: frozenset(),
    JobState.TIMEOUT: frozenset(),
    JobState.CANCELED: frozenset(),
    JobState.SKIPPED: frozenset(),
    JobState.LOST: frozenset(),
}


def predecessors(state: JobState) -> frozenset[JobState]:
    """The states a job may be in when it moves to ``state`` (``state`` itself included).

    The store enforces this on every write of a job's state; a new run or attempt starts
    again from READY (``Store.start_run``), which is the only way backwards.
    """
    return frozenset({old for old, new in TRANSITIONS.items() if state in new} | {state})


class WorkflowState(StrEnum):
    """State of a workflow run as a whole."""

    DEFINED = "defined"  # never run
    RUNNING = "running"
    DONE = "done"  # every job done
    FAILED = "failed"  # finished, some job did not succeed
    CANCELED = "canceled"
    INTERRUPTED = "interrupted"  # shown, never stored: 'running' whose coordinator died
    HANDED_OFF = "handed-off"  # the coordinator left the rest to Slurm (run --detach); not ended


@dataclass(frozen=True, slots=True)
class Observation:
    """A fact seen on a host about one attempt: its state, exit code and a message; for a
    finished attempt of a batch kind, what it used (:mod:`hybridflow.usage`)."""

    state: JobState
    exit_code: int | None = None
    message: str | None = None
    usage: Usage | None = None
