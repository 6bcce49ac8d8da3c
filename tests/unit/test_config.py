"""Hosts configuration: the hosts file, inline ``hosts:``, and validation before any run."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from hybridflow import config, load as loading, spec as specs
from hybridflow.errors import SpecError
from hybridflow.validate import CHECKS, check_hosts

HOSTS = """
hosts:
  cluster:
    kind: slurm
    address: login.example.org
    user: alice
    identity: ~/.ssh/id_ed25519
    max_parallel: 20
    partition: gpu
    account: proj42
    python: /opt/conda/bin/python
  box:
    address: 10.0.0.5
    port: 2200
    insecure_host_key: true
"""


def _write_hosts(home: Path, text: str = HOSTS) -> Path:
    home.mkdir(parents=True, exist_ok=True)
    path = home / "hosts.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def _load(text: str, name: str = "wf") -> specs.WorkflowSpec:
    return loading.loads(textwrap.dedent(text), name=name, file=f"{name}.yaml")


def test_paths_follow_hybridflow_home(home: Path) -> None:
    assert config.home() == home and home.is_dir()
    assert config.database_path() == home / "hybridflow.db"
    assert config.default_run_dir("wf") == home / "runs" / "wf"
    assert config.hosts_path() == home / "hosts.yaml"


def test_hosts_file_entries_become_host_configs(home: Path) -> None:
    _write_hosts(home)
    hosts = config.known_hosts()
    cluster = hosts["cluster"]
    assert (cluster.address, cluster.user, cluster.max_parallel, cluster.python) == (
        "login.example.org", "alice", 20, "/opt/conda/bin/python")
    assert dict(cluster.options) == {"partition": "gpu", "account": "proj42"}
    assert hosts["box"].insecure_host_key and hosts["box"].port == 2200
    assert check_hosts in CHECKS


def test_inline_hosts_override_the_file_and_job_user_wins(home: Path) -> None:
    _write_hosts(home)
    spec = _load("""
        hosts:
          cluster: {address: other.example.org, partition: debug}
        workflow:
          nodes:
            train: {kind: slurm, host: cluster, user: bob, exec: 'true'}
            here: {kind: slurm, exec: 'true'}
            plain: {exec: 'true', host: localhost, user: grey}
    """)
    train = config.host_config(spec, spec.jobs["train"])
    assert (train.address, train.user, train.kind, dict(train.options)) == (
        "other.example.org", "bob", "slurm", {"partition": "debug"})
    assert config.host_key(spec.jobs["train"]) == ("slurm", "bob@cluster")
    here = config.host_config(spec, spec.jobs["here"])
    assert here.address is None and here.name == "localhost"
    assert config.host_key(spec.jobs["plain"]) == ("local", "localhost")


def test_unknown_host_is_a_spec_error_naming_file_job_field(home: Path) -> None:
    _write_hosts(home)
    with pytest.raises(SpecError) as info:
        _load("""
            workflow:
              nodes:
                a: {kind: ssh, host: nowhere, exec: 'true'}
        """)
    message = str(info.value)
    assert message.startswith("wf.yaml: job 'a': field 'host': unknown host 'nowhere'")
    assert "box, cluster" in message


@pytest.mark.parametrize(
    ("node", "problem"),
    [
        ("{kind: ssh, exec: 'true'}", "kind 'ssh' needs a 'host:'"),
        ("{kind: ssh, host: nameonly, exec: 'true'}", "has no address"),
        ("{kind: ssh, host: box, exec: 'true', stage_in: ['/etc/passwd']}", "must be relative"),
        ("{kind: ssh, host: box, exec: 'true', stage_out: ['../up.txt']}", "without '..'"),
        ("{kind: ssh, host: box, exec: 'true', stage_out: {a: 1}}", "must be a path or a list"),
    ],
)
def test_bad_host_use_is_rejected_before_running(home: Path, node: str, problem: str) -> None:
    _write_hosts(home, HOSTS + "  nameonly: {kind: ssh}\n")
    with pytest.raises(SpecError) as info:
        _load(f"workflow:\n  nodes:\n    a: {node}\n")
    assert problem in str(info.value)
    assert "job 'a'" in str(info.value)


def test_a_local_job_naming_a_host_runs_here_with_a_warning(home: Path) -> None:
    """cloudmesh-cc runs ``kind: local`` here whatever ``host:`` says; so do we, saying so."""
    _write_hosts(home, HOSTS)
    spec = _load("workflow:\n  nodes:\n    a: {kind: local, host: box, exec: 'true'}\n")
    assert config.host_key(spec.jobs["a"]) == ("local", "localhost")
    [warning] = [w for w in spec.warnings if "host ignored" in w]
    assert "host ignored for a (host 'box')" in warning and "use kind 'ssh'" in warning


def test_local_names_and_compat_files_pass(home: Path) -> None:
    spec = _load("""
        workflow:
          nodes:
            a: {kind: local, host: local, user: grey, exec: 'true'}
            b: {exec: 'true'}
            c: {kind: slurm, host: localhost, exec: 'true'}
    """)
    assert set(spec.jobs) == {"a", "b", "c"}


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("hosts:\n  x: {port: 99999, address: a}\n", "hosts.x.port"),
        ("hosts:\n  x: {max_parallel: 0}\n", "hosts.x.max_parallel"),
        ("hosts:\n  x: {insecure_host_key: maybe}\n", "hosts.x.insecure_host_key"),
        ("hosts: [a, b]\n", "hosts"),
    ],
)
def test_bad_hosts_file_names_file_and_field(home: Path, text: str, field: str) -> None:
    path = _write_hosts(home, text)
    with pytest.raises(SpecError) as info:
        config.known_hosts()
    assert str(info.value).startswith(f"{path}: field '{field}'")


@pytest.mark.parametrize(
    ("text", "field", "meant"),
    [
        ("hosts:\n  x: {adress: a.example}\n", "hosts.x.adress", "address"),
        ("hosts:\n  c: {kind: slurm, partiton: debug}\n", "hosts.c.partiton", "partition"),
        ("localhost: {pol_interval: 3}\n", "hosts.localhost.pol_interval", "poll_interval"),
    ],
)
def test_a_misspelt_key_of_the_hosts_file_is_refused_with_the_key_meant(
        home: Path, text: str, field: str, meant: str) -> None:
    """As in a workflow's ``hosts:``: before, the hosts file kept a typo as a kind option
    that no kind read, without a word."""
    path = _write_hosts(home, text)
    with pytest.raises(SpecError) as info:
        config.known_hosts()
    assert str(info.value) == f"{path}: field '{field}': unknown key; did you mean '{meant}'?"


def test_other_unknown_keys_of_the_hosts_file_are_kept_and_logged(home: Path, caplog) -> None:
    path = _write_hosts(home, "hosts:\n  c: {address: a, kind: slurm, partition: debug, frobnicate: 1}\n")
    with caplog.at_level("WARNING", logger="hybridflow.config"):
        entry = config.known_hosts()["c"]
    assert dict(entry.options) == {"partition": "debug", "frobnicate": 1}
    assert [r.getMessage() for r in caplog.records] == [
        f"{path}: unknown host keys kept as host options (no kind reads them): hosts.c.frobnicate"]


def test_hosts_file_syntax_error_names_line(home: Path) -> None:
    path = _write_hosts(home, "hosts:\n  a: {address: [\n")
    with pytest.raises(SpecError) as info:
        config.known_hosts()
    assert str(info.value).startswith(f"{path}:")
    assert "YAML syntax error" in str(info.value)


def test_hosts_file_without_top_level_key(home: Path) -> None:
    _write_hosts(home, "gpu1: {address: 10.1.1.1, user: me}\n")
    assert config.known_hosts()["gpu1"].user == "me"


def test_inline_hosts_error_names_the_workflow_file(home: Path) -> None:
    with pytest.raises(SpecError) as info:
        _load("""
            hosts:
              bad: {port: nope}
            workflow:
              nodes:
                a: {exec: 'true'}
        """)
    assert str(info.value).startswith("wf.yaml: field 'hosts.bad.port'")
