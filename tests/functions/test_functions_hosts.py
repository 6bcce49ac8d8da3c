"""Functions as jobs on the real testbed: local, SSH (hfuser, its own home) and Slurm.

No stand-ins: the SSH host is a real OpenSSH server whose user shares no home with the
coordinator, Slurm is a real single-node cluster reached here and over SSH.
"""

from __future__ import annotations

import getpass
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import hybridflow as hf
from hybridflow.functions import CallError
from hybridflow.hosts.shell import SshShell
from hybridflow.store.sqlite import Store

from hostsupport import Testbed, wait_for
from support import hflow

pytestmark = pytest.mark.testbed


def where(x: int) -> dict[str, object]:
    """Who and where ran the call, and a value computed from the argument."""
    return {"user": getpass.getuser(), "cwd": os.getcwd(), "slurm": os.environ.get("SLURM_JOB_ID"), "x": x * 2}


def fails(message: str) -> None:
    def inner() -> None:
        raise ValueError(f"remote says {message}")

    inner()


def reports(steps: int) -> int:
    hf.progress(40, "warming up")
    time.sleep(1.5)  # long enough for the coordinator's log reads (every 0.5 s)
    return steps


def test_local_call_returns_value_and_progress(home: Path) -> None:
    fn = hf.remote(reports)
    future = fn.submit(3)
    assert future.id.startswith("call-")
    assert fn(4) == 4
    assert future.result(timeout=60) == 3
    events = Store(home / "hybridflow.db").events(future.workflow)
    assert 40 in [e["progress"] for e in events if e["kind"] == "progress"]
    assert "# hybridflow progress=40" in future.log()


def test_ssh_call_runs_as_the_ssh_user_in_its_home(fn_hosts: Path, testbed: Testbed) -> None:
    value = hf.remote(where, host="testbed")(21)
    assert value["x"] == 42
    assert value["user"] == testbed.ssh_user != getpass.getuser()
    assert str(value["cwd"]).startswith(f"/home/{testbed.ssh_user}/.hybridflow-tests/")


def test_slurm_over_ssh_call_returns_value(fn_hosts: Path, testbed: Testbed) -> None:
    value = hf.remote(where, host="cluster", time="1m")(5)
    assert value["x"] == 10 and value["user"] == testbed.ssh_user
    assert value["slurm"], "the call did not run inside a Slurm job"


def test_slurm_here_call_returns_value(fn_hosts: Path) -> None:
    value = hf.remote(where, kind="slurm")(1)
    assert value["slurm"] and value["x"] == 2


def test_exception_comes_back_with_the_remote_traceback(fn_hosts: Path) -> None:
    future = hf.remote(fails, host="testbed").submit("no")
    with pytest.raises(ValueError, match="remote says no") as info:
        future.result(timeout=120)
    notes = "\n".join(getattr(info.value, "__notes__", []))
    assert "remote traceback" in notes and "in inner" in notes and "in fails" in notes
    assert future.state is hf.JobState.FAILED


CALLER = """
import sys, time
import hybridflow as hf

def slow(x):
    import time
    time.sleep(6)
    return x + 1

future = hf.remote(slow, host="cluster", time="2m").submit(41)
print(future.id, flush=True)
time.sleep(600)
"""


def test_kill_9_between_submit_and_result_then_attach(fn_hosts: Path, home: Path, tmp_path: Path,
                                                      slurm_names) -> None:
    script = tmp_path / "caller.py"
    script.write_text(textwrap.dedent(CALLER))
    caller = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "HYBRIDFLOW_HOME": str(home)})
    assert caller.stdout is not None
    call_id = caller.stdout.readline().strip()
    store = Store(home / "hybridflow.db")

    def submitted() -> str | None:
        attempts = store.attempts(call_id)
        return attempts[0].native_id if attempts and attempts[0].native_id else None

    native = wait_for(submitted, 60, "the Slurm job id recorded")
    os.kill(caller.pid, signal.SIGKILL)
    caller.wait(10)
    assert not hf.Future.attach(call_id).done()
    assert hf.Future.attach(call_id).result(timeout=180) == 42
    attempts = store.attempts(call_id)
    assert [a.native_id for a in attempts] == [native]
    assert slurm_names().count(attempts[0].token) == 1


MISMATCH_VENV = """
set -e
python3 -m venv --clear "$HOME/hf-old-cloudpickle"
site=$("$HOME/hf-old-cloudpickle/bin/python" -c 'import site; print(site.getsitepackages()[0])')
mkdir -p "$site/cloudpickle"
printf '__version__ = "2.0.0"\\n' > "$site/cloudpickle/__init__.py"
echo "$HOME/hf-old-cloudpickle/bin/python"
"""


def test_remote_venv_with_another_cloudpickle_gives_one_line(fn_hosts: Path, testbed: Testbed) -> None:
    made = testbed.ssh(MISMATCH_VENV, timeout=120)
    assert made.returncode == 0, made.stderr
    python = made.stdout.strip().splitlines()[-1]
    future = hf.remote(where, host="testbed", python=python).submit(1)
    with pytest.raises(CallError) as info:
        future.result(timeout=120)
    line = str(info.value)
    assert "\n" not in line
    import cloudpickle

    assert f"cloudpickle {cloudpickle.__version__}" in line and "cloudpickle 2.0.0" in line
    assert "Python 3.11" in line and python in line
    assert "cloudpickle mismatch" in future.log()
    assert "Traceback" not in future.log()


def total(array: object) -> float:
    import numpy

    return float(numpy.asarray(array).sum())


def test_50_mb_numpy_argument_travels_as_a_file(fn_hosts: Path, home: Path, testbed: Testbed) -> None:
    import numpy

    array = numpy.ones(50 * 1024 * 1024 // 8)
    future = hf.remote(total, host="testbed").submit(array)
    assert future.result(timeout=180) == float(array.size)
    folder = home / "calls" / future.id
    args = [p for p in folder.glob("args-*.pkl")]
    assert len(args) == 1 and args[0].stat().st_size >= 50 * 1024 * 1024
    attempt = Store(home / "hybridflow.db").attempts(future.id)[0]
    remote = testbed.ssh(f"stat -c %s {attempt.workdir}/{args[0].name} && stat -c %s {attempt.workdir}/{attempt.stem}.hflow.sh")
    moved, wrapper = (int(v) for v in remote.stdout.split())
    assert moved == args[0].stat().st_size  # the argument went over as that file...
    assert wrapper < 8192  # ...and no command line carried it
    again = hf.remote(total, host="testbed").submit(array)  # the same argument, another call
    assert again.result(timeout=180) == float(array.size)
    second = Store(home / "hybridflow.db").attempts(again.id)[0]
    cached = f"{Path(attempt.workdir).parent}/.hfcache/{args[0].name}"
    inodes = testbed.ssh(f"stat -c %i {cached} {attempt.workdir}/{args[0].name} {second.workdir}/{args[0].name}")
    assert len(set(inodes.stdout.split())) == 1, inodes.stdout  # uploaded once: one file, linked twice


def test_map_of_20_on_ssh_uses_one_connection(fn_hosts: Path) -> None:
    before = SshShell.connections_opened
    futures = hf.map(hf.remote(where, host="testbed"), range(20))
    assert [f.result(timeout=240)["x"] for f in futures] == [2 * i for i in range(20)]
    assert SshShell.connections_opened - before == 1
    assert len({f.workflow for f in futures}) == 1


MODULE = '''
def prepare(n):
    return {"weights": list(range(n)), "host": __import__("getpass").getuser()}

def train(model, scale=1):
    return {"sum": sum(model["weights"]) * scale, "from": model["host"],
            "here": __import__("getpass").getuser()}
'''


def test_yaml_function_node_feeds_another_on_a_different_host(fn_hosts: Path, tmp_path: Path,
                                                               testbed: Testbed) -> None:
    folder = tmp_path / "wf"
    folder.mkdir()
    (folder / "fnmod.py").write_text(MODULE)
    (folder / "wf.yaml").write_text(textwrap.dedent("""
        name: fnwf
        workflow:
          nodes:
            prepare: {call: 'fnmod:prepare', kwargs: {n: 4}}
            train: {kind: ssh, host: testbed, call: 'fnmod:train', stage_in: [fnmod.py],
                    kwargs: {model: '{prepare.result}', scale: 10}}
          dependencies: [prepare,train]
    """))
    run = hflow("workflow", "run", str(folder / "wf.yaml"), "-q", timeout=240)
    assert run.returncode == 0, run.stdout + run.stderr
    shown = hflow("workflow", "result", "fnwf", "train", "--output", "json")
    assert shown.returncode == 0, shown.stderr
    import json

    assert json.loads(shown.stdout) == {"sum": 60, "from": getpass.getuser(), "here": testbed.ssh_user}


def test_api_add_call_feeds_a_call_on_ssh(fn_hosts: Path, tmp_path: Path, testbed: Testbed,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # the workflow's folder: results come back into it
    def prepare(n: int) -> list[int]:
        return list(range(n))

    def train(data: list[int], scale: int) -> tuple[int, str]:
        return sum(data) * scale, getpass.getuser()

    wf = hf.Workflow("apiwf")
    wf.add_call(prepare, 5)
    wf.add_call(hf.remote(train, host="testbed"), data="{prepare.result}", scale=3)
    assert ("prepare", "train") in wf.spec.edges
    assert wf.run() is hf.WorkflowState.DONE
    assert wf.result("train") == (30, testbed.ssh_user)


def test_progress_on_a_host_without_hybridflow(fn_hosts: Path, home: Path, testbed: Testbed, fn_python: str) -> None:
    assert testbed.ssh(f"{fn_python} -c 'import hybridflow'").returncode != 0  # not installed there
    future = hf.remote(reports, host="testbed").submit(7)
    assert future.result(timeout=120) == 7
    events = Store(home / "hybridflow.db").events(future.workflow)
    assert 40 in [e["progress"] for e in events if e["kind"] == "progress"]
    assert "# hybridflow progress=40 message='warming up'" in future.log()


def test_venv_option_activates_the_hosts_venv(fn_hosts: Path, fn_python: str) -> None:
    venv = str(Path(fn_python).parents[1])
    value = hf.remote(where, host="testbed", venv=venv, python="/usr/bin/python3")(4)  # plain python3 has no cloudpickle
    assert value["x"] == 8


def dumps(value: object) -> str:
    import yaml  # imported inside: found when the call runs, not by the manifest

    return str(yaml.safe_dump(value))


def test_a_module_missing_on_the_host_is_one_line(fn_hosts: Path, fn_python: str, testbed: Testbed) -> None:
    import yaml

    def uses_yaml() -> str:
        return str(yaml.safe_dump([1]))  # a module global: by reference, in the manifest

    assert testbed.ssh(f"{fn_python} -c 'import yaml'").returncode != 0
    with pytest.raises(CallError) as info:
        hf.remote(uses_yaml, host="testbed")()
    line = str(info.value)
    assert "\n" not in line and f"module 'yaml' missing: the coordinator has yaml {yaml.__version__}" in line
    with pytest.raises(ModuleNotFoundError, match="yaml"):  # not seen before it runs: the import error itself
        hf.remote(dumps, host="testbed")([1])


def test_calls_submitted_one_by_one_share_the_ssh_connection(fn_hosts: Path) -> None:
    before = SshShell.connections_opened
    fn = hf.remote(where, host="testbed")
    futures = [fn.submit(i) for i in range(5)]
    assert len({f.workflow for f in futures}) == 5
    assert [f.result(timeout=120)["x"] for f in futures] == [0, 2, 4, 6, 8]
    assert SshShell.connections_opened - before == 1


def test_result_and_log_from_inside_a_running_event_loop(fn_hosts: Path) -> None:
    """As in a notebook: result() of a failed remote call and log() read the host without
    asyncio.run (which a running loop refuses)."""
    import asyncio

    async def in_a_notebook() -> tuple[str, BaseException | None]:
        future = hf.remote(fails, host="testbed").submit("async")
        error = future.exception(timeout=120)
        return future.log(), error

    text, error = asyncio.run(in_a_notebook())
    assert isinstance(error, ValueError) and "remote says async" in text
