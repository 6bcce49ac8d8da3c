"""Functions as jobs without the testbed: local calls, function nodes, errors, import cost."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

import pytest

import hybridflow as hf
from hybridflow.functions import CallError, RemoteResult, bundle
from hybridflow.functions.runner import MISMATCH
from hybridflow.load import load

from support import hflow


def square(x: int) -> int:
    return x * x


def big(n: int) -> bytes:
    return b"x" * n


def sleepy(seconds: float) -> str:
    time.sleep(seconds)
    return "woke"


def test_import_hybridflow_loads_no_cloudpickle() -> None:
    code = "import sys, hybridflow; print('cloudpickle' in sys.modules, 'hybridflow.functions' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False"]
    code = "import sys, hybridflow; hybridflow.remote; print('cloudpickle' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "True"


def test_submit_records_the_call_before_it_returns(home: Path) -> None:
    future = hf.remote(sleepy).submit(0.5)
    from hybridflow.store.sqlite import Store

    store = Store(home / "hybridflow.db")
    assert store.exists(future.workflow)
    assert not future.done()
    assert future.result(timeout=60) == "woke"
    assert hf.Future.attach(future.id).result() == "woke"


def test_map_ships_one_bundle_and_one_args_file_per_call(home: Path) -> None:
    futures = hf.map(square, range(5))
    assert [f.result(timeout=60) for f in futures] == [0, 1, 4, 9, 16]
    folder = home / "calls" / futures[0].workflow
    assert len(list(folder.glob("fn-*.py"))) == 1
    assert len(list(folder.glob("args-*.pkl"))) == 5
    assert hf.Future.attach(futures[3].id).result() == 9
    # the same function gives the same (content-addressed) bundle name
    assert bundle.write_bundle(home / "b1", square).name == bundle.write_bundle(home / "b2", square).name


def test_result_over_the_limit_stays_on_the_host(home: Path) -> None:
    value = hf.remote(big, result_limit=1000)(5000)
    assert isinstance(value, RemoteResult)
    assert value.host == "localhost" and value.size > 5000
    assert Path(value.path).stat().st_size == value.size


def test_cancel_stops_a_running_call(home: Path) -> None:
    future = hf.remote(sleepy).submit(60)
    deadline = time.monotonic() + 30
    while future.state is not hf.JobState.RUNNING and time.monotonic() < deadline:
        time.sleep(0.05)
    assert future.cancel()
    with pytest.raises(CallError, match="canceled"):
        future.result(timeout=30)
    assert future.state is hf.JobState.CANCELED


def test_cancel_of_one_call_of_a_map_leaves_the_others_running(home: Path) -> None:
    futures = hf.map(hf.remote(sleepy), [3, 60, 1, 60])  # two at a time here: the last one waits
    deadline = time.monotonic() + 30
    while futures[1].state is not hf.JobState.RUNNING and time.monotonic() < deadline:
        time.sleep(0.05)
    started = time.monotonic()
    assert futures[1].cancel() and futures[3].cancel()  # one running, one (maybe) not started
    assert [futures[0].result(timeout=60), futures[2].result(timeout=60)] == ["woke", "woke"]
    assert time.monotonic() - started < 30  # the 60 s calls did not hold the others up
    for future in (futures[1], futures[3]):
        with pytest.raises(CallError, match="canceled"):
            future.result(timeout=30)
        assert future.state is hf.JobState.CANCELED
    assert not futures[0].cancel()  # it had finished


def test_result_timeout_leaves_the_call_running(home: Path) -> None:
    future = hf.remote(sleepy).submit(1.5)
    with pytest.raises(TimeoutError):
        future.result(timeout=0.2)
    assert future.result(timeout=60) == "woke"


def _run_runner(bundle_path: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(bundle_path)], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "HF_JOB": "j", "HF_TOKEN": "t1"})


def test_runner_refuses_another_python_in_one_line(tmp_path: Path) -> None:
    path = bundle.write_bundle(tmp_path, square, args=bundle.pickle_arguments([3], {}))
    assert _run_runner(path, tmp_path).returncode == 0
    with zipfile.ZipFile(path) as archive:
        entries = {name: archive.read(name) for name in archive.namelist()}
    manifest = json.loads(entries["manifest.json"])
    manifest.update(python="3.99", python_full="3.99.0")
    entries["manifest.json"] = json.dumps(manifest).encode()
    forged = tmp_path / "forged.py"
    with zipfile.ZipFile(forged, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    done = _run_runner(forged, tmp_path)
    assert done.returncode == MISMATCH
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Python 3.99.0" in lines[0] and f"Python {sys.version_info.major}.{sys.version_info.minor}" in lines[0]
    header = json.loads((tmp_path / "j.result").read_bytes().split(b"\n")[1])
    assert header["kind"] == "mismatch" and header["token"] == "t1"


def test_manifest_names_modules_used_by_reference() -> None:
    import numpy

    def uses_numpy() -> float:
        return float(numpy.zeros(2).sum())

    modules = bundle.referenced_modules(bundle.pickle_function(uses_numpy))
    assert modules == {"numpy": numpy.__version__}
    assert bundle.referenced_modules(bundle.pickle_function(square)) == {}


MODULE = '''
def scale(x, factor=1):
    return int(x) * factor

def total(*parts):
    return sum(parts)
'''


def test_sweep_of_function_nodes_feeds_a_join(home: Path, tmp_path: Path) -> None:
    folder = tmp_path / "wf"
    folder.mkdir()
    (folder / "sweepmod.py").write_text(MODULE)
    (folder / "wf.yaml").write_text(textwrap.dedent("""
        name: sweepfn
        workflow:
          nodes:
            s:
              call: 'sweepmod:scale'
              experiments: {x: [1, 2, 3]}
              args: ['{x}']
              kwargs: {factor: 10}
            join: {call: 'sweepmod:total', inputs: {'0': s-x_1, '1': s-x_2, '2': s-x_3}}
    """))
    run = hflow("workflow", "run", str(folder / "wf.yaml"), "-q")
    assert run.returncode == 0, run.stdout + run.stderr
    shown = hflow("workflow", "result", "sweepfn", "join")
    assert shown.stdout.strip() == "60"
    assert hflow("workflow", "result", "sweepfn", "s-x_2", "-o", "json").stdout.strip() == "20"


@pytest.mark.parametrize(("node", "message"), [
    ({"cal": "m:f"}, "unknown key; did you mean 'call'?"),
    ({"call": "m:f", "kwarg": {}}, "did you mean 'kwargs'?"),
    ({"call": "not a target"}, "field 'call': 'not a target' is not 'module:function'"),
    ({"call": "m:f", "inputs": {"x": "prepar"}}, "'prepar' is not another job of the workflow (did you mean 'prepare'?)"),
    ({"call": "m:f", "kwargs": ["a"]}, "field 'kwargs': must be a mapping"),
    ({"call": "m:f", "exec": "echo"}, "remove 'exec'"),
])
def test_bad_function_nodes_are_one_line(tmp_path: Path, node: dict[str, object], message: str) -> None:
    import yaml

    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({"workflow": {"nodes": {"prepare": {"call": "m:f"}, "train": node}}}))
    with pytest.raises(hf.SpecError) as info:
        load(path)
    assert message in str(info.value) and "\n" not in str(info.value)
    added = hflow("workflow", "add", "--filename", str(path))
    assert added.returncode == 2 and len(added.stderr.strip().splitlines()) == 1


def test_remote_option_typo_is_one_line(home: Path) -> None:
    with pytest.raises(hf.SpecError, match="did you mean 'partition'"):
        hf.remote(square, kind="slurm", partiton="debug").submit(1)


def test_call_node_word_is_base64_json(home: Path, tmp_path: Path) -> None:
    (tmp_path / "wf.yaml").write_text("workflow:\n  nodes:\n    a: {call: 'os.path:join', args: ['x', 'y']}\n")
    job = load(tmp_path / "wf.yaml").jobs["a"]
    word = job.script_args[0]
    call = json.loads(base64.urlsafe_b64decode(word.removeprefix("call:")))
    assert call["target"] == "os.path:join" and call["args"] == ["x", "y"]
    assert job.stage_out == ("a.result",)
    assert hflow("workflow", "run", str(tmp_path / "wf.yaml"), "-q").returncode == 0
    assert hflow("workflow", "result", "wf", "a").stdout.strip() == "'x/y'"


def raiser() -> None:
    raise KeyError("nope")


def test_cli_result_of_a_failed_call_is_one_line(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # the workflow's folder: results come back into it
    wf = hf.Workflow("failing")
    wf.add_call(raiser)
    assert wf.run() is hf.WorkflowState.FAILED
    with pytest.raises(KeyError):
        wf.result("raiser")
    shown = hflow("workflow", "result", "failing", "raiser")
    assert shown.returncode == 1
    assert shown.stderr.strip().splitlines() == [
        "error: job 'raiser' raised KeyError: 'nope' (traceback: hflow workflow logs failing raiser)"]


def test_rest_route_shows_a_result(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "service"))
    from servicesupport import live_service

    wf = hf.Workflow("restfn")
    wf.add_call(square, 12)
    wf.add_call(raiser)
    wf.run()
    with live_service(home) as service, service.client() as client:
        answer = client.get("/api/v1/workflows/restfn/jobs/square/result").json()
        assert answer["ready"] and answer["text"] == "144" and answer["data"] == 144
        failed = client.get("/api/v1/workflows/restfn/jobs/raiser/result").json()
        assert failed["error"] == "KeyError: 'nope'" and "in raiser" in failed["traceback"]
        assert client.get("/api/v1/workflows/restfn/jobs/nosuch/result").status_code == 404


def test_call_node_module_named_like_a_runner_module(home: Path, tmp_path: Path) -> None:
    """The runner's own folder (hybridflow/functions) is not on the call's path: a user's
    module named ``results`` or ``bundle`` is the one imported."""
    (tmp_path / "results.py").write_text("def value():\n    return 'users'\n")
    (tmp_path / "wf.yaml").write_text("workflow:\n  nodes:\n    a: {call: 'results:value'}\n")
    assert hflow("workflow", "run", str(tmp_path / "wf.yaml"), "-q").returncode == 0
    assert hflow("workflow", "result", "wf", "a").stdout.strip() == "'users'"


def flaky(folder: str) -> str:
    if os.environ["HF_ATTEMPT"] == "1":
        raise RuntimeError("first attempt fails")
    return f"attempt {os.environ['HF_ATTEMPT']}"


def test_retried_call_returns_the_latest_attempts_result(home: Path) -> None:
    future = hf.remote(flaky, retries=1, retry_on=["exit"], retry_delay="0s").submit("x")
    assert future.result(timeout=60) == "attempt 2"


def test_timeout_option_ends_the_call(home: Path) -> None:
    future = hf.remote(sleepy, timeout="1s").submit(30)
    with pytest.raises(CallError, match="timeout"):
        future.result(timeout=60)
