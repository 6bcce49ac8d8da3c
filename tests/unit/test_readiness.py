"""Readiness: ready queues per host and skip decisions, without any I/O."""

from __future__ import annotations

from hybridflow import dag
from hybridflow.readiness import Readiness
from hybridflow.states import JobState


def _make(edges, jobs, hosts=None):
    graph = dag.build(jobs, edges)
    states = {job: JobState.READY for job in jobs}
    return Readiness(graph, states.__getitem__, (hosts or {}).get if hosts else (lambda job: "here")), states


def test_children_become_ready_when_all_parents_succeed() -> None:
    ready, states = _make([("a", "c"), ("b", "c")], ["a", "b", "c"])
    assert list(ready.ready) == ["a", "b"]
    for job in ("a", "b"):
        ready.take(job)
        states[job] = JobState.DONE
        ready.succeeded(job)
        assert ("c" in ready.ready) is (job == "b")


def test_failure_skips_descendants_only() -> None:
    ready, states = _make([("a", "b"), ("b", "c"), ("x", "y")], ["a", "b", "c", "x", "y"])
    ready.take("a")
    states["a"] = JobState.FAILED
    skips = ready.failed("a")
    assert sorted(skips) == [("b", "upstream job 'a' failed"), ("c", "upstream job 'a' failed")]
    assert ready.state("b") is JobState.SKIPPED and ready.state("x") is JobState.READY
    assert states["b"] is JobState.READY  # a decision for the engine to apply, not a write
    assert list(ready.ready) == ["x"]


def test_candidates_are_each_hosts_queue_head() -> None:
    jobs = [f"l{i}" for i in range(100)] + [f"r{i}" for i in range(100)]
    hosts = {job: job[0] for job in jobs}
    ready, _ = _make([], jobs, hosts)
    picked = ready.candidates({"l": 1, "r": 0})
    assert picked == [f"l{i}" for i in range(32)]
    assert len(ready.candidates({"l": 0, "r": 0}, everything=True)) == 200


def test_recount_after_new_edge_holds_back_a_queued_job() -> None:
    ready, states = _make([], ["a", "b"])
    ready.graph.add_edge("a", "b")
    ready.recount(["a", "b"])
    assert list(ready.ready) == ["a"] and ready.waiting["b"] == 1


def test_the_first_count_returns_its_skips() -> None:
    """A job whose parent failed in an earlier run (``run --from CHILD``) is skipped at the
    start, and the engine is told so: the decision is not kept to itself."""
    graph = dag.build({"a": None, "b": None, "c": None}, [("a", "b"), ("b", "c")])
    states = {"a": JobState.FAILED, "b": JobState.READY, "c": JobState.READY}
    ready = Readiness(graph, states.__getitem__, lambda job: "here")
    assert sorted(ready.first_skips) == [("b", "upstream job 'a' failed"), ("c", "upstream job 'b' skipped")]
    assert not ready.ready
