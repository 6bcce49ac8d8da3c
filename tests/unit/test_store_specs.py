"""A workflow's spec is parsed once per version of it, and never served stale."""

from __future__ import annotations

from pathlib import Path

from hybridflow.spec import JobSpec, WorkflowSpec
from hybridflow.store.sqlite import PARSED_SPECS, Store


def _spec(*jobs: str, options: dict[str, object] | None = None) -> WorkflowSpec:
    return WorkflowSpec(name="w", jobs={j: JobSpec(j, exec=f"echo {j}") for j in jobs}, options=options or {})


def test_a_spec_is_parsed_once_per_version(tmp_path: Path) -> None:
    store = Store(tmp_path / "db")
    store.save(_spec("a", "b"))
    first = store.view("w").spec
    assert store.view("w").spec is first and store.spec("w") is first  # not parsed again


def test_every_change_is_seen_by_the_same_store_and_by_another(tmp_path: Path) -> None:
    store, other = Store(tmp_path / "db"), Store(tmp_path / "db")
    store.save(_spec("a"))
    assert list(store.view("w").spec.jobs) == list(other.view("w").spec.jobs) == ["a"]
    other.add_jobs("w", [JobSpec("b", exec="echo b")], [("a", "b")])
    assert list(store.view("w").spec.jobs) == ["a", "b"] and store.spec("w").edges == (("a", "b"),)
    other.remove_job("w", "b")
    assert list(store.spec("w").jobs) == ["a"]
    other.save(_spec("a", options={"strict": True}))
    assert store.spec("w").options == {"strict": True}
    other.delete("w")
    other.save(_spec("x"))  # the same name again, maybe the same row id
    assert list(store.spec("w").jobs) == ["x"]


def test_a_long_lived_store_keeps_only_the_latest_specs(tmp_path: Path) -> None:
    store = Store(tmp_path / "db")
    for i in range(PARSED_SPECS + 10):
        store.save(WorkflowSpec(name=f"w{i}", jobs={"a": JobSpec("a", exec="true")}))
        store.spec(f"w{i}")
    assert len(store._parsed) == PARSED_SPECS
    latest = store.spec(f"w{PARSED_SPECS + 9}")
    assert store.spec(f"w{PARSED_SPECS + 9}") is latest
