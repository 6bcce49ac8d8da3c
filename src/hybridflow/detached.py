"""A handed-off run with no coordinator: found, carried on, cancelled.

After ``hflow workflow run --detach`` (:mod:`hybridflow.handoff`) the run's open attempts
sit in Slurm and no process holds the workflow. ``hflow workflow status`` calls
:func:`reconcile`: a coordinator that re-attaches, polls Slurm once per host, records what
ended, withdraws what can never start, hands off what now can and detaches again (it
starts nothing on other hosts). ``hflow workflow cancel`` calls :func:`cancel`: the same
re-attach, then scancel of every open attempt.
"""

from __future__ import annotations

import asyncio

from .api import Workflow
from .hosts import host_class
from .states import WorkflowState
from .store.sqlite import Store


def handed_off(store: Store, name: str) -> bool:
    """``name`` has a run that no live coordinator holds, whose open attempts are all on
    hosts that hand off (Slurm): a detached run, or one whose coordinator died while it
    handed off (cheap when the workflow is not running). A run that did not hand off and
    was interrupted is left to ``hflow workflow run`` (``status`` only shows it)."""
    state = store.state(name)  # the stored state, not a whole snapshot
    if state not in (WorkflowState.RUNNING, WorkflowState.HANDED_OFF) or store.running_pid(name) is not None:
        return False
    if state is WorkflowState.RUNNING:  # its coordinator died: only one that handed off is carried on
        runs = store.runs(name)
        if not runs or not runs[0].options.get("handoff"):
            return False
    attempts = store.open_attempts(store.workflow_id(name))
    kinds = {attempt.kind for attempt in attempts}
    return bool(attempts) and all(host_class(kind).capabilities.hands_off for kind in kinds)


def reconcile(store: Store, name: str) -> WorkflowState:
    """Carry a detached run on until only Slurm holds work again (or it ended)."""
    engine = Workflow(name, store=store).engine(detach=True, reconcile=True)
    return asyncio.run(engine.run())


def cancel(store: Store, name: str) -> WorkflowState:
    """Cancel a detached run: scancel every attempt it handed off."""
    engine = Workflow(name, store=store).engine()
    engine.request_cancel()
    return asyncio.run(engine.run())
