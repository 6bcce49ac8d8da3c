"""Typos must not pass silently: misspelt keys, options of another kind, wrong types and
unknown keys (``hybridflow.keys``, through the whole ``hybridflow.load`` pipeline)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hybridflow import keys
from hybridflow.errors import SpecError
from hybridflow.load import load, loads

from support import COMPAT, EXAMPLES, hflow

NODE = "workflow:\n  nodes: {a: {exec: echo, %s}}\n"
TOP = "%s\nworkflow:\n  nodes: {a: {exec: echo}}\n"


def _error(text: str, **kwargs: object) -> str:
    with pytest.raises(SpecError) as exc:
        loads(text, name="wf", file="wf.yaml", **kwargs)  # type: ignore[arg-type]
    message = str(exc.value)
    assert "\n" not in message
    return message


BAD = [
    # misspelt keys: the top level, workflow:, policies, hosts, notify, nodes
    ("workflow:\n  nodes: {a: {exec: echo}}\n  dependecies: [a]\n",
     "wf.yaml: field 'workflow.dependecies': unknown key; did you mean 'dependencies'?"),
    (TOP % "dependecies: [a]",
     "wf.yaml: field 'dependecies': unknown key; did you mean 'dependencies'? (under 'workflow:')"),
    (TOP % "dependencies: [a]", "wf.yaml: field 'dependencies': 'dependencies' belongs under 'workflow:'"),
    (TOP % "retires: 2", "wf.yaml: field 'retires': unknown key; did you mean 'retries'?"),
    (TOP % "timout: 5s", "wf.yaml: field 'timout': unknown key; did you mean 'timeout'?"),
    (TOP % "deadlin: 1h", "wf.yaml: field 'deadlin': unknown key; did you mean 'deadline'?"),
    (TOP % "colours: {}", "wf.yaml: field 'colours': unknown key; did you mean 'colors'?"),
    (TOP % "workflows: {}", "wf.yaml: field 'workflows': unknown key; did you mean 'workflow'?"),
    ("workflow:\n  nodez: {a: {exec: echo}}\n  nodes: {a: {exec: echo}}\n",
     "wf.yaml: field 'workflow.nodez': unknown key; did you mean 'nodes'?"),
    (TOP % "hosts: {c: {adress: x.org}}", "wf.yaml: field 'hosts.c.adress': unknown key; did you mean 'address'?"),
    (TOP % "hosts: {c: {partiton: gpu}}",
     "wf.yaml: field 'hosts.c.partiton': unknown key; did you mean 'partition'?"),
    (TOP % "notify: {comand: x}", "wf.yaml: field 'notify.comand': unknown key; did you mean 'command'?"),
    (TOP % "notify: {page: x}", "wf.yaml: field 'notify.page': unknown key (valid: command, webhook, on)"),
    (NODE % "retires: 2", "wf.yaml: job 'a': field 'retires': unknown key; did you mean 'retries'?"),
    (NODE % "timout: 5s", "wf.yaml: job 'a': field 'timout': unknown key; did you mean 'timeout'?"),
    (NODE % "srcipt: x.sh", "wf.yaml: job 'a': field 'srcipt': unknown key; did you mean 'script'?"),
    (NODE % "enviroment: {}", None),  # far from every key: a warning, not an error
    (NODE % "kind: slurm, gpu: 1", "wf.yaml: job 'a': field 'gpu': unknown key; did you mean 'gpus'?"),
    (NODE % "kind: slurm, partiton: gpu",
     "wf.yaml: job 'a': field 'partiton': unknown key; did you mean 'partition'?"),
    (NODE % "stage-in: [x]", "wf.yaml: job 'a': field 'stage-in': unknown key; did you mean 'stage_in'?"),
    # a known option of another batch kind
    (NODE % "kind: slurm, queue: short",
     "wf.yaml: job 'a': field 'queue': 'queue' is an option of kind lsf, not of kind 'slurm'; "
     "did you mean 'partition'?"),
    (NODE % "kind: lsf, partition: gpu",
     "wf.yaml: job 'a': field 'partition': 'partition' is an option of kind slurm, not of kind 'lsf'; "
     "did you mean 'queue'?"),
    (NODE % "kind: lsf, gres: 'gpu:1'",
     "wf.yaml: job 'a': field 'gres': 'gres' is an option of kind slurm, not of kind 'lsf' "
     "(lsf takes: queue, time, cpus, mem, project, gpus, bsub)"),
    # wrong types
    (NODE % "env: [1, 2]", "wf.yaml: job 'a': field 'env': must be a mapping of variable to value"),
    (NODE % "env: {X: [1]}", "wf.yaml: job 'a': field 'env.X': value must be a string, number or boolean"),
    (NODE % "retries: 'x'", "wf.yaml: job 'a': field 'retries': 'x' is not a whole number >= 0"),
    (NODE % "retries: -1", "wf.yaml: job 'a': field 'retries': '-1' is not a whole number >= 0"),
    (NODE % "timeout: -3", "wf.yaml: job 'a': field 'timeout': '-3' is negative"),
    (NODE % "timeout: [1]",
     "wf.yaml: job 'a': field 'timeout': '[1]' is not a duration (use e.g. 30s, 5m, 2h, 1h30m, 00:10:00)"),
    (NODE % "retry_on: 5", "wf.yaml: job 'a': field 'retry_on': must be a list of failure kinds "
     "(exit, lost, node_fail, preempted, timeout)"),
    (NODE % "stage_in: 5", "wf.yaml: job 'a': field 'stage_in': must be a path or a list of paths"),
    (NODE % "stage_follow_links: 3", "wf.yaml: job 'a': field 'stage_follow_links': '3' is not true or false"),
    (NODE % "max_parallel: 0", "wf.yaml: job 'a': field 'max_parallel': '0' is not a whole number >= 1"),
    (NODE % "label: [1]", "wf.yaml: job 'a': field 'label': must be a string"),
    (NODE % "kind: [1]", "wf.yaml: job 'a': field 'kind': must be a string"),
    (NODE % "experiments: 5", "wf.yaml: job 'a': field 'experiments': must be a mapping of parameter to values"),
    ("workflow:\n  nodes: {a: [1]}\n", "wf.yaml: job 'a': a node must be a mapping of keys"),
    ("workflow:\n  nodes: [a]\n", "wf.yaml: field 'nodes': must be a mapping of job name to job"),
    ("workflow: [a]\n", "wf.yaml: expected a top-level 'workflow:' mapping with 'nodes:'"),
    (TOP % "hosts: [a, b]", "wf.yaml: field 'hosts': must be a mapping"),
    (TOP % "colors: 5", "wf.yaml: field 'colors': must be a mapping"),
    (TOP % "hosts: {c: [1]}", "wf.yaml: field 'hosts.c': Input should be a valid dictionary or instance of HostEntry"),
    ("workflow:\n  nodes: {a: {exec: echo}}\n  dependencies: 5\n",
     "wf.yaml: field 'dependencies': must be a list of 'a,b,c' chains"),
    ("workflow:\n  nodes: {a: {exec: echo}}\n  dependencies: [5]\n",
     "wf.yaml: field 'dependencies': chain 5 must be a string"),
    (TOP % "retries: x", "wf.yaml: field 'retries': 'x' is not a whole number >= 0"),
    (TOP % "deadline: -1", "wf.yaml: field 'deadline': '-1' is negative"),
    (TOP % "notify: [1]", "wf.yaml: field 'notify': must be a mapping with 'command' and/or 'webhook'"),
    (TOP % "notify: {on: 5}", "wf.yaml: field 'notify.on': must be a list of states or one 'done,failed' string"),
    (TOP % "notify: {command: [x]}", "wf.yaml: field 'notify.command': must be a string"),
    (TOP % "strict: maybe", "wf.yaml: field 'strict': 'maybe' is not true or false"),
]


@pytest.mark.parametrize(("text", "message"), BAD)
def test_bad_input_is_one_line_naming_file_job_and_field(text: str, message: str | None) -> None:
    if message is None:
        assert loads(text, name="wf", file="wf.yaml").warnings
    else:
        assert _error(text) == message


def test_unknown_node_keys_are_kept_with_one_warning_line() -> None:
    spec = loads("workflow:\n  nodes:\n    a: {exec: echo, seed: 1, output: a.log}\n    b: {exec: echo, lr: 2}\n",
                 name="wf", file="wf.yaml")
    assert spec.jobs["a"].args == {"seed": 1, "output": "a.log"}
    assert spec.jobs["b"].args == {"lr": 2}
    assert spec.warnings == (
        "wf.yaml: unknown node keys kept as job arguments (hybridflow does not read them; --strict refuses "
        "them): job 'a': seed, output; job 'b': lr",)


def test_strict_refuses_what_would_be_a_warning() -> None:
    text = "workflow:\n  nodes:\n    a: {exec: echo, seed: 1}\n    b: {exec: echo, lr: 2}\n"
    expected = "wf.yaml: job 'a': field 'seed': unknown node key: strict mode refuses unknown keys (1 more)"
    assert _error(text, strict=True) == expected
    assert _error("strict: true\n" + text) == expected
    assert loads("strict: false\n" + text, name="wf", file="wf.yaml").warnings


def test_workflow_variables_warn_only_when_no_placeholder_uses_them() -> None:
    unused = loads("project: {seed: 42}\n" + NODE % "label: x", name="wf", file="wf.yaml")
    assert unused.warnings == ("wf.yaml: workflow variables that no placeholder uses: project",)
    assert unused.options["project"] == {"seed": 42}
    used = ("project: {seed: 42}\nworkflow:\n  extra: 1\n  nodes:\n"
            "    s: {experiments: {k: '1,2'}, exec: 'echo {project.seed} {k} {extra}'}\n")
    assert loads(used, name="wf", file="wf.yaml").warnings == ()
    assert _error("project: {seed: 42}\n" + NODE % "label: x", strict=True) == (
        "wf.yaml: field 'project': workflow variable that no placeholder uses: strict mode refuses unknown keys")


def test_unknown_host_keys_warn_and_known_ones_do_not() -> None:
    text = TOP % "hosts: {c: {address: x.org, partition: gpu, accounting: 'no', sbatch: '-x', colour: red}}"
    assert loads(text, name="wf", file="wf.yaml").warnings == (
        "wf.yaml: unknown host keys kept as host options (no kind reads them): hosts.c.colour",)


def test_batch_options_on_other_kinds_are_kept_silently() -> None:
    spec = loads(NODE % "partition: gpu, gres: 'gpu:1', queue: q", name="wf", file="wf.yaml")
    assert spec.warnings == ()
    assert spec.jobs["a"].args == {"partition": "gpu", "gres": "gpu:1", "queue": "q"}


def test_cloudmesh_saved_attributes_and_yaml_on_key() -> None:
    node = ("status: ready, progress: 0, created: '2022-07-28', modified: '2022-07-28', instance: null, "
            "parent: [], label_format: x, format: x, number: 1")
    assert loads(NODE % node, name="wf", file="wf.yaml").warnings == ()
    spec = loads(TOP % "notify: {command: 'true', on: [failed]}", name="wf", file="wf.yaml")
    assert spec.options["notify"] == {"command": "true", "on": ["failed"]}


def test_near_is_an_edit_distance_scaled_for_short_keys() -> None:
    assert keys.distance("retires", "retries") == 1  # a swap counts once
    assert keys.near("dependecies", "dependencies") and keys.near("timout", "timeout")
    assert keys.near("gpu", "gpus") and not keys.near("size", "time") and not keys.near("mode", "nodes")
    assert keys.suggestion("seed", keys.NODE_KEYS) is None


def test_kind_option_tables_match_the_kinds() -> None:
    from hybridflow.hosts import KINDS, lsf, slurm

    assert set(keys.KIND_OPTIONS) == set(KINDS)
    assert keys.KIND_OPTIONS["slurm"] == (*slurm.OPTIONS, "sbatch")
    assert keys.KIND_OPTIONS["lsf"] == (*lsf.OPTIONS, "gpus", "bsub")
    assert not set(keys.NODE_KEYS) & {k for opts in keys.KIND_OPTIONS.values() for k in opts}


SAMPLES = sorted([*COMPAT.glob("*.yaml"), *EXAMPLES.glob("**/*.yaml")])


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_samples_load_without_warnings(path: Path) -> None:
    assert load(path).warnings == ()


def test_cli_typo_is_exit_2_and_one_line(home: Path, write_workflow) -> None:
    path = write_workflow("workflow:\n  nodes:\n    a: {exec: echo, retires: 2}\n")
    for command in ("add", "run"):
        args = ("--filename", str(path)) if command == "add" else (str(path),)
        result = hflow("workflow", command, *args)
        assert result.returncode == 2, result.stderr
        assert "Traceback" not in result.stderr
        assert result.stderr.strip().splitlines() == [
            f"error: {path}: job 'a': field 'retires': unknown key; did you mean 'retries'?"]


def test_cli_warns_in_one_line_and_strict_refuses(home: Path, write_workflow) -> None:
    path = write_workflow("workflow:\n  nodes:\n    a: {exec: 'true', seed: 1, lr: 2}\n")
    added = hflow("workflow", "add", "--filename", str(path))
    assert added.returncode == 0, added.stderr
    assert added.stderr.strip().splitlines() == [
        f"warning: {path}: unknown node keys kept as job arguments (hybridflow does not read them; "
        "--strict refuses them): job 'a': seed, lr"]
    for args in (("add", "--strict", "--filename", str(path)), ("run", "--strict", "-q", str(path))):
        refused = hflow("workflow", *args)
        assert refused.returncode == 2, refused.stderr
        assert "Traceback" not in refused.stderr
        assert refused.stderr.strip().splitlines() == [
            f"error: {path}: job 'a': field 'seed': unknown node key: strict mode refuses unknown keys (1 more)"]
