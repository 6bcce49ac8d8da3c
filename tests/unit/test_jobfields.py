"""Typed policy fields of a job node: parsed and checked at load, written back as loadable YAML."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from hybridflow import jobfields, load as loading, retry, spec as specs
from hybridflow.errors import SpecError
from hybridflow.spec import JobSpec, WorkflowSpec
from hybridflow.store.sqlite import Store

NODE = """
workflow:
  nodes:
    a:
      exec: 'true'
      kind: local
      env: {X: 1, Y: on, Z: text}
      retries: 3
      retry_delay: 30s
      retry_max_delay: 1h30m
      retry_on: exit,lost
      timeout: '00:10:00'
      stage_in: data.txt
      stage_out: [out/*.csv, model.pt]
      stage_follow_links: true
      partition: debug
      gres: 'gpu:1'
"""


def test_policy_keys_are_typed_fields_and_args_keep_the_rest(write_workflow) -> None:
    job = loading.load(write_workflow(NODE)).jobs["a"]
    assert job.env == {"X": "1", "Y": "True", "Z": "text"}
    assert (job.retries, job.retry_delay, job.retry_max_delay, job.timeout) == (3, 30.0, 5400.0, 600.0)
    assert job.retry_on == ("exit", "lost")
    assert job.stage_in == ("data.txt",) and job.stage_out == ("out/*.csv", "model.pt")
    assert job.stage_follow_links is True
    assert (job.sweep, job.sweep_params, job.max_parallel) == (None, {}, None)
    assert dict(job.args) == {"partition": "debug", "gres": "gpu:1"}


def test_round_trip_through_yaml_and_the_store(write_workflow, tmp_path: Path) -> None:
    wf = loading.load(write_workflow(NODE))
    node = wf.jobs["a"].to_dict()
    assert node["retry_delay"] == "30s" and node["retry_max_delay"] == "1h30m" and node["timeout"] == "10m"
    assert node["retry_on"] == ["exit", "lost"] and node["stage_in"] == ["data.txt"]
    assert set(node) == {"name", "exec", "kind", "env", "retries", "retry_delay", "retry_max_delay", "retry_on", "timeout",
                         "stage_in", "stage_out", "stage_follow_links", "partition", "gres"}
    again = loading.loads(specs.dump_yaml(wf), name="x", base_dir=wf.base_dir)
    assert again.jobs == wf.jobs
    store = Store(tmp_path / "db")
    store.save(wf)
    assert store.spec(wf.name).jobs == wf.jobs


def test_defaults_are_left_out_when_written() -> None:
    assert JobSpec(name="a", exec="true").to_dict() == {"name": "a", "kind": "local", "exec": "true"}
    assert JobSpec(name="a", retry_on=(), retries=0).to_dict() == {"name": "a", "kind": "local", "retries": 0,
                                                                   "retry_on": []}


@pytest.mark.parametrize("seconds", [0, 1.5, 30, 90, 300, 5400, 86400, 90061, 0.00001, 1234.25])
def test_durations_are_spelled_so_that_they_load_the_same(seconds: float) -> None:
    text = jobfields.spelled(seconds)
    assert jobfields.PARSERS["timeout"](text) == seconds


@pytest.mark.parametrize(
    ("key", "value", "field", "phrase"),
    [
        ("env", "[X]", "env", "mapping"),
        ("env", "{1X: v}", "env", "not a variable name"),
        ("env", "{X: [1]}", "env.X", "string, number or boolean"),
        ("retries", "-1", "retries", "whole number >= 0"),
        ("retries", "true", "retries", "whole number"),
        ("retries", "1.5", "retries", "whole number"),
        ("retry_delay", "soon", "retry_delay", "not a duration"),
        ("retry_max_delay", ".inf", "retry_max_delay", "finite"),
        ("timeout", "-5", "timeout", "negative"),
        ("retry_on", "[exit, crash]", "retry_on", "unknown failure kind 'crash'"),
        ("retry_on", "{a: 1}", "retry_on", "list of failure kinds"),
        ("stage_in", "[/etc/passwd]", "stage_in", "relative"),
        ("stage_out", "{a: 1}", "stage_out", "path or a list of paths"),
        ("stage_follow_links", "yes please", "stage_follow_links", "true or false"),
        ("max_parallel", "0", "max_parallel", "whole number >= 1"),
        ("sweep", "[a]", "sweep", "sweep node"),
        ("sweep_params", "[a]", "sweep_params", "mapping"),
    ],
)
def test_bad_values_are_one_line_naming_file_job_and_field(write_workflow, key: str, value: str, field: str,
                                                            phrase: str) -> None:
    path = write_workflow(f"workflow:\n  nodes:\n    a: {{exec: 'true', {key}: {value}}}\n")
    with pytest.raises(SpecError) as info:
        loading.load(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: job 'a': field '{field}': "), message
    assert phrase in message


def test_cli_style_text_values_are_read() -> None:
    job = JobSpec.from_dict("a", {"exec": "true", "retries": "2", "timeout": "90", "max_parallel": "3"})
    assert (job.retries, job.timeout, job.max_parallel) == (2, 90.0, 3)


def test_job_fields_override_workflow_defaults(write_workflow) -> None:
    wf = loading.load(write_workflow("""
        retries: 4
        retry_delay: 1m
        retry_on: [exit]
        workflow:
          nodes:
            a: {exec: 'true', retries: 1, timeout: 2h}
            b: {exec: 'true'}
    """))
    a, b = (retry.job_policy(wf, wf.jobs[name]) for name in "ab")
    assert (a.retries, a.retry_delay, a.retry_on, a.timeout) == (1, 60.0, frozenset({"exit"}), 7200.0)
    assert (b.retries, b.retry_delay, b.timeout) == (4, 60.0, None)


def test_bad_workflow_default_names_the_file_and_field(write_workflow) -> None:
    path = write_workflow("retry_delay: never\nworkflow:\n  nodes:\n    a: {exec: 'true'}\n")
    with pytest.raises(SpecError, match=r"wf.yaml: field 'retry_delay': 'never' is not a duration"):
        loading.load(path)


def test_args_cannot_hold_a_typed_key() -> None:
    with pytest.raises(ValueError, match="'timeout' is a JobSpec field"):
        JobSpec(name="a", args={"timeout": "1m"})


def test_sweeps_template_env_and_stage_lists(write_workflow) -> None:
    wf = loading.load(write_workflow("""
        workflow:
          nodes:
            t:
              experiments: {n: [1, 2]}
              exec: 'echo {n}'
              env: {N: 'n={n}'}
              stage_out: ['out-{n}.txt']
              timeout: 5m
              max_parallel: 1
    """))
    job = wf.jobs["t-n_2"]
    assert job.env["N"] == "n=2" and job.stage_out == ("out-2.txt",)
    assert (job.timeout, job.max_parallel, job.sweep, job.sweep_params) == (300.0, 1, "t", {"n": "2"})
    again = loading.loads(yaml.safe_dump(specs.to_document(wf)), name="x", base_dir=wf.base_dir)
    assert again.jobs == wf.jobs


def test_a_spec_built_in_python_is_still_validated() -> None:
    from hybridflow.validate import validate

    bad = WorkflowSpec(name="w", jobs={"a": JobSpec(name="a", exec="true", stage_in=("../x",))})
    with pytest.raises(SpecError, match="job 'a': field 'stage_in'"):
        validate(bad)
