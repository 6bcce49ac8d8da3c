"""``Engine.tick()`` driven round by round against a fake host: no processes, no sleeps.

The fake host keeps attempts in memory and reports whatever the test sets; the store is
the real SQLite one, so every round's writes go through ``Store.apply``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

import pytest

from hybridflow import JobState, Workflow, WorkflowState
from hybridflow.engine import Engine
from hybridflow.errors import HostError
from hybridflow.hosts.base import Capabilities, Host, HostConfig, Observation, StagedJob, Submission
from hybridflow.store.sqlite import Store

KEY = ("local", "localhost")


class FakeHost(Host):
    """Attempts in a dict; ``states[token]`` is what the next poll reports."""

    kind = "local"
    capabilities = Capabilities(external=False)

    def __init__(self) -> None:
        super().__init__(HostConfig(name="localhost", max_parallel=2))
        self.started: list[str] = []  # job names, in start order
        self.states: dict[str, Observation] = {}
        self.known: dict[str, Submission] = {}  # what recover() finds, by token
        self.fail_submit: HostError | None = None
        self.canceled: list[str] = []

    async def submit(self, jobs: Sequence[StagedJob]) -> list[Submission]:
        subs = [Submission(j.job, j.attempt, j.token, self.name, f"n{len(self.started) + i}", j.workdir, j.stem)
                for i, j in enumerate(jobs)]
        for sub in subs:
            self.known[sub.token] = sub
            self.started.append(sub.job)
        if self.fail_submit is not None:
            error, self.fail_submit = self.fail_submit, None
            raise error
        return subs

    async def poll(self, subs: Sequence[Submission]) -> dict[str, Observation]:
        return {s.token: self.states[s.token] for s in subs if s.token in self.states}

    async def cancel(self, subs: Sequence[Submission]) -> None:
        self.canceled += [s.job for s in subs]

    async def read_log(self, sub: Submission, offset: int, limit: int = 1 << 20) -> tuple[bytes, int]:
        return b"", offset

    async def recover(self, job: StagedJob) -> Submission | None:
        return self.known.get(job.token)

    def token(self, engine: Engine, job: str) -> str:
        return engine.active[job].staged.token


def _engine(home: Path, write_workflow, text: str, host: FakeHost) -> Engine:
    wf = Workflow.load(write_workflow(text))
    return Engine(Store(home / "hybridflow.db"), wf.name, hosts={KEY: host})


async def _begin(engine: Engine) -> None:
    engine.wid = engine.store.acquire(engine.name)
    await engine.start()


CHAIN = """
workflow:
  nodes:
    a: {exec: 'true'}
    b: {exec: 'true'}
    c: {exec: 'true'}
  dependencies: ['a,b', 'a,c']
"""


def test_a_round_starts_ready_jobs_and_a_success_releases_children(home: Path, write_workflow) -> None:
    host = FakeHost()
    engine = _engine(home, write_workflow, CHAIN, host)

    async def scenario() -> None:
        await _begin(engine)
        assert await engine.tick() is False
        assert host.started == ["a"]
        assert engine.states["a"] is JobState.RUNNING
        assert engine.store.view("wf").jobs["a"].state is JobState.SUBMITTED  # learned: next round
        host.states[host.token(engine, "a")] = Observation(JobState.DONE, 0)
        engine.hosts[KEY].notified = True
        await engine.tick()
        assert sorted(host.started) == ["a", "b", "c"]
        view = engine.store.view("wf")
        assert (view.jobs["a"].state, view.jobs["a"].exit_code) == (JobState.DONE, 0)
        for job in ("b", "c"):
            host.states[host.token(engine, job)] = Observation(JobState.FAILED, 3, "exit code 3")
        engine.hosts[KEY].notified = True
        assert await engine.tick() is True

    asyncio.run(scenario())
    view = engine.store.view("wf")
    assert {j: (v.state, v.exit_code) for j, v in view.jobs.items()} == {
        "a": (JobState.DONE, 0), "b": (JobState.FAILED, 3), "c": (JobState.FAILED, 3)}
    assert [a.number for a in engine.store.attempts("wf")] == [1, 1, 1]


def test_a_failure_skips_descendants_in_the_same_round(home: Path, write_workflow) -> None:
    host = FakeHost()
    engine = _engine(home, write_workflow, CHAIN, host)

    async def scenario() -> None:
        await _begin(engine)
        await engine.tick()
        host.states[host.token(engine, "a")] = Observation(JobState.FAILED, 1)
        engine.hosts[KEY].notified = True
        assert await engine.tick() is True

    asyncio.run(scenario())
    jobs = engine.store.view("wf").jobs
    assert [jobs[j].state for j in "abc"] == [JobState.FAILED, JobState.SKIPPED, JobState.SKIPPED]
    assert jobs["b"].message == "upstream job 'a' failed" and host.started == ["a"]


def test_an_uncertain_submit_is_looked_up_not_repeated(home: Path, write_workflow) -> None:
    host = FakeHost()
    engine = _engine(home, write_workflow, "workflow:\n  nodes:\n    a: {exec: 'true'}\n", host)

    async def scenario() -> None:
        await _begin(engine)
        host.fail_submit = HostError("connection dropped mid-submit", transient=True)
        await engine.tick()
        assert engine.states["a"] is JobState.UNKNOWN
        await engine.tick()  # recover() finds the token: adopted, not submitted again
        assert host.started == ["a"]
        host.states[host.token(engine, "a")] = Observation(JobState.DONE, 0)
        engine.hosts[KEY].notified = True
        assert await engine.tick() is True

    asyncio.run(scenario())
    assert engine.store.view("wf").jobs["a"].state is JobState.DONE
    [attempt] = engine.store.attempts("wf")
    assert attempt.native_id == "n0"


def test_a_lost_attempt_is_retried_as_a_new_attempt(home: Path, write_workflow) -> None:
    host = FakeHost()
    engine = _engine(home, write_workflow, "retry_delay: 0s\nworkflow:\n  nodes:\n    a: {exec: 'true'}\n", host)

    async def scenario() -> None:
        await _begin(engine)
        await engine.tick()
        host.states[host.token(engine, "a")] = Observation(JobState.LOST, None, "vanished")
        engine.hosts[KEY].notified = True
        await engine.tick()
        assert engine.states["a"] is JobState.RETRYING
        await engine.tick()  # the delay (0 s) is over
        assert host.started == ["a", "a"]
        host.states[host.token(engine, "a")] = Observation(JobState.DONE, 0)
        engine.hosts[KEY].notified = True
        assert await engine.tick() is True

    asyncio.run(scenario())
    first, second = engine.store.attempts("wf")
    assert (first.number, first.state, first.message) == (1, JobState.LOST, "vanished")
    assert (second.number, second.state, second.exit_code) == (2, JobState.DONE, 0)
    job = engine.store.view("wf").jobs["a"]
    assert (job.state, job.attempt, job.exit_code) == (JobState.DONE, 2, 0)


def test_a_restarted_engine_reattaches_instead_of_starting_again(home: Path, write_workflow) -> None:
    host = FakeHost()
    engine = _engine(home, write_workflow, "workflow:\n  nodes:\n    a: {exec: 'true'}\n", host)

    async def first() -> str:
        await _begin(engine)
        await engine.tick()  # recorded and started...
        token = host.token(engine, "a")
        engine.store.release(engine.wid)  # ...then the coordinator is gone
        return token

    token = asyncio.run(first())
    again = Engine(Store(home / "hybridflow.db"), "wf", hosts={KEY: host})

    async def second() -> None:
        await _begin(again)
        assert again.active["a"].staged.token == token
        host.states[token] = Observation(JobState.DONE, 0)
        again.hosts[KEY].notified = True
        assert await again.tick() is True

    asyncio.run(second())
    assert host.started == ["a"]
    assert again.store.view("wf").jobs["a"].state is JobState.DONE


def test_cancel_stops_active_attempts_and_skips_the_rest(home: Path, write_workflow) -> None:
    host = FakeHost()
    engine = _engine(home, write_workflow, CHAIN, host)

    async def scenario() -> None:
        await _begin(engine)
        await engine.tick()
        engine.request_cancel()
        assert await engine.tick() is True

    asyncio.run(scenario())
    assert host.canceled == ["a"]
    jobs = engine.store.view("wf").jobs
    assert jobs["a"].state is JobState.CANCELED
    assert {jobs[j].state for j in "bc"} == {JobState.SKIPPED}


def test_a_round_is_one_transaction(home: Path, write_workflow) -> None:
    """A forbidden move in a round leaves the store as it was before the round."""
    from hybridflow.errors import StateError
    from hybridflow.rounds import ProgressChange, StateChange

    Workflow.load(write_workflow(CHAIN))
    store = Store(home / "hybridflow.db")
    wid = store.workflow_id("wf")
    with pytest.raises(StateError):
        store.apply(wid, [ProgressChange("a", 40, None, 1.0), StateChange("a", JobState.DONE, 1.0)])
    job = store.view("wf").jobs["a"]
    assert (job.state, job.progress) == (JobState.READY, 0)


def test_final_state_after_run(home: Path, write_workflow) -> None:
    host = FakeHost()
    engine = _engine(home, write_workflow, "workflow:\n  nodes:\n    a: {exec: 'true'}\n", host)

    async def scenario() -> WorkflowState:
        task = asyncio.ensure_future(engine.run())
        while not host.started:
            await asyncio.sleep(0.01)
        host.states[host.token(engine, "a")] = Observation(JobState.DONE, 0)
        engine._notified(KEY)
        return await task

    assert asyncio.run(scenario()) is WorkflowState.DONE
    assert engine.store.view("wf").state is WorkflowState.DONE


def test_a_started_attempts_log_is_first_read_one_interval_later(home: Path, write_workflow) -> None:
    """A job that ends within the interval costs no extra round for its log; a longer one
    has its log read once the interval passed (and the engine wakes up for it)."""
    from hybridflow import logreading

    host = FakeHost()
    reads: list[str] = []

    async def read_log(sub: Submission, offset: int, limit: int = 1 << 20) -> tuple[bytes, int]:
        reads.append(sub.job)
        return b"", offset

    host.read_log = read_log  # type: ignore[method-assign]
    engine = _engine(home, write_workflow, CHAIN, host)

    async def scenario() -> None:
        await _begin(engine)
        await engine.tick()
        started = engine.active["a"].running_since
        assert started is not None
        assert engine.active["a"].next_log_read == pytest.approx(started + logreading.LOG_INTERVAL)
        await engine.tick()
        assert reads == []
        assert 0 < engine._next_wait() <= logreading.LOG_INTERVAL
        engine.active["a"].next_log_read = 0.0  # the interval passed
        await engine.tick()
        assert reads == ["a"]

    asyncio.run(scenario())
