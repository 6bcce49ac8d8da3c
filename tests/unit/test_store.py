"""The store enforces the state transition table on every job state write."""

from __future__ import annotations

from pathlib import Path

import pytest

from hybridflow.errors import StateError
from hybridflow.spec import JobSpec, WorkflowSpec
from hybridflow.states import TRANSITIONS, JobState, predecessors
from hybridflow.store.sqlite import Store


def test_predecessors_mirror_the_table() -> None:
    for new in JobState:
        for old in JobState:
            assert (old in predecessors(new)) is (old is new or new in TRANSITIONS[old])


def test_forbidden_moves_are_refused_and_nothing_is_written(tmp_path: Path) -> None:
    store = Store(tmp_path / "db")
    store.save(WorkflowSpec(name="w", jobs={"a": JobSpec("a", exec="true")}))
    wid = store.workflow_id("w")
    with store.transaction():
        store.set_job_state(wid, "a", JobState.SUBMITTED)
        store.set_job_state(wid, "a", JobState.DONE)
    events = len(store.events("w"))
    with pytest.raises(StateError, match="job 'a': cannot go from done to running"):
        with store.transaction():
            store.set_job_state(wid, "a", JobState.RUNNING)
    assert store.view("w").jobs["a"].state is JobState.DONE
    assert len(store.events("w")) == events
