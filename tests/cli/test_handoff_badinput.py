"""Bad input to the hand-off and array ways in (``--detach``, ``handoff:``, a Slurm host's
``arrays:``): one line naming the problem, exit 2, no job run. No Slurm needed: each is
refused before any host is asked anything."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from hybridflow.coordinator import RequestError, RunRequest
from hybridflow.errors import SpecError
from hybridflow.hostconfig import HostConfig
from hybridflow.hosts.slurm import SlurmHost

from support import hflow

LOCAL = """\
{top}
workflow:
  nodes:
    a:
      kind: local
      exec: touch ran
"""


def _refused(path: Path, *args: str) -> str:
    result = hflow("workflow", "run", str(path), *args)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert not (path.parent / "ran").exists() and not list(path.parent.rglob("ran"))
    return result.stderr


@pytest.mark.parametrize("value", ["maybe", "3"])
@pytest.mark.parametrize("detach", [False, True])
def test_handoff_key_not_true_or_false(home: Path, write_workflow: Callable[..., Path], value: str,
                                       detach: bool) -> None:
    path = write_workflow(LOCAL.format(top=f"handoff: {value}"))
    err = _refused(path, *(["--detach"] if detach else []))
    assert "field 'handoff'" in err and "is not true or false" in err


def test_detach_with_job_is_refused_before_anything_is_stored(home: Path,
                                                              write_workflow: Callable[..., Path]) -> None:
    path = write_workflow(LOCAL.format(top="name: wf"))
    assert "--detach cannot go with --job" in _refused(path, "--detach", "--job", "a")
    assert not home.exists()


@pytest.mark.parametrize(("top", "args", "named"), [
    ("handoff: true", (), "field 'handoff': true, but no job runs on a host that hands off"),
    ("name: wf", ("--detach",), "--detach, but no job runs on a host that hands off"),
])
def test_handoff_asked_where_no_host_hands_off(home: Path, write_workflow: Callable[..., Path], top: str,
                                               args: tuple[str, ...], named: str) -> None:
    path = write_workflow(LOCAL.format(top=top))
    assert named in _refused(path, *args)


@pytest.mark.parametrize("value", [3, "no", None])
def test_slurm_arrays_option_must_be_true_or_false(value: object) -> None:
    with pytest.raises(SpecError, match=r"field 'hosts\.c\.arrays': .* is not true or false"):
        SlurmHost(HostConfig(name="c", kind="slurm", options={"arrays": value}))
    assert not SlurmHost(HostConfig(name="c", kind="slurm", options={"arrays": False})).arrays


SLURM = """\
hosts:
  c:
    kind: slurm
    {option}
workflow:
  nodes:
    a:
      kind: slurm
      host: c
      exec: touch ran
"""


@pytest.mark.parametrize(("option", "named"), [
    ("arrays: 3", "field 'hosts.c.arrays': 3 is not true or false"),
    ("arays: true", "field 'hosts.c.arays': unknown key; did you mean 'arrays'?"),
])
def test_bad_arrays_option_in_a_workflow_host_entry(home: Path, write_workflow: Callable[..., Path], option: str,
                                                    named: str) -> None:
    assert named in _refused(write_workflow(SLURM.format(option=option)))


def test_run_request_refuses_detach_with_single_jobs_or_not_a_bool() -> None:
    """The REST run body and the CLI share RunRequest: both refuse these (422 / exit 2)."""
    with pytest.raises(RequestError, match="--detach cannot go with --job"):
        RunRequest("wf", only_jobs=("a",), detach=True)
    with pytest.raises(RequestError, match="detach must be true or false"):
        RunRequest("wf", detach="yes")  # type: ignore[arg-type]
    assert RunRequest("wf", from_jobs=("a",), detach=True).detach
