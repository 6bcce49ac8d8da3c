"""Bad input to the services' ways in (``hflow service publish|token create|call``,
services.yaml) is one line naming the problem, exit 2, and nothing published or started."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from hybridflow.errors import SpecError
from hybridflow.service import daemon
from hybridflow.service.publish import function_row, load_file
from hybridflow.service.servicedb import ServiceDB

HERE = Path(__file__).resolve().parent


def hflow(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HYBRIDFLOW_HOME": str(home), "COLUMNS": "200"}
    env.pop("HYBRIDFLOW_SERVICE_TOKEN", None)
    return subprocess.run([sys.executable, "-c", "from hybridflow.cli import main; main()", *args],
                          capture_output=True, text=True, timeout=120, env=env, cwd=HERE, check=False)


def refused(result: subprocess.CompletedProcess[str], text: str) -> None:
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert text in result.stderr and "Traceback" not in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


@pytest.mark.parametrize(("args", "text"), [
    (("svcfuncs",), "'svcfuncs' is not 'module:function'"),
    (("nosuchmodule:f",), "cannot import 'nosuchmodule'"),
    (("svcfuncs:slow", "--time", "5x"), "field 'time': '5x' is not a duration"),
    (("svcfuncs:slow", "-o", "retries=many"), "field 'retries': 'many' is not a whole number"),
])
def test_publish_refuses_a_bad_target_or_option(tmp_path: Path, args: tuple[str, ...], text: str) -> None:
    refused(hflow(tmp_path, "service", "publish", *args), text)
    assert ServiceDB(tmp_path).services() == []


@pytest.mark.parametrize(("expires", "text"), [("7q", "'7q' is not a duration"), ("0", "positive duration")])
def test_token_create_refuses_a_bad_lifetime(tmp_path: Path, expires: str, text: str) -> None:
    db = ServiceDB(tmp_path)
    db.put_service(function_row(None, "svcfuncs:slow", {}, str(HERE)))
    refused(hflow(tmp_path, "service", "token", "create", "--service", "slow", "--expires", expires), text)
    assert db.tokens() == []


@pytest.mark.parametrize("pair", ["seconds", "=3", "1x=2"])
def test_call_refuses_a_malformed_pair_before_calling(tmp_path: Path, pair: str) -> None:
    # no service runs for this home and --url is not given: the pair is refused first
    refused(hflow(tmp_path, "service", "call", "slow", pair), f"'{pair}' is not KEY=VALUE")


@pytest.mark.parametrize(("text", "problem", "where"), [
    ("servics: {}", "unknown key 'servics' (did you mean 'services'?)", ""),
    ("services: {a: {fucntion: 'svcfuncs:slow'}}", "(did you mean 'function'?)", "field 'services.a'"),
    ("services: {a: {function: 'svcfuncs:slow', hots: x}}", "did you mean 'host'?", "field 'services.a.hots'"),
    ("services: {a: {workflow: wf.yaml, desciption: x}}", "did you mean 'description'?", "field 'services.a'"),
    ("services: {a: {function: 'svcfuncs:slow', time: 5x}}", "'5x' is not a duration", "field 'services.a.time'"),
    ("retention: 5x\nservices: {a: {function: 'svcfuncs:slow'}}", "'5x' is not a duration", "field 'retention'"),
    ("retention: 1d\nservices: {a: {function: 'svcfuncs:nothing'}}", "has no function 'nothing'", "services.a"),
])
def test_services_yaml_mistakes_name_the_file_and_key(tmp_path: Path, text: str, problem: str, where: str) -> None:
    path = tmp_path / "services.yaml"
    path.write_text(f"{text}\n")
    (tmp_path / "svcfuncs.py").write_text((HERE / "svcfuncs.py").read_text())
    db = ServiceDB(tmp_path / "home")
    with pytest.raises(SpecError) as caught:
        load_file(db, path)
    message = str(caught.value)
    assert problem in message and where in message and str(path) in message and "\n" not in message, message
    assert db.services() == [] and db.meta("retention") is None  # nothing of a bad file is kept


def test_start_with_a_bad_services_yaml_starts_nothing(tmp_path: Path) -> None:
    path = tmp_path / "services.yaml"
    path.write_text("services: {a: {function: 'svcfuncs:slow', retires: 2}}\n")
    home = tmp_path / "home"
    refused(hflow(home, "service", "start", "--port", "0", "--services", str(path)), "did you mean 'retries'?")
    assert daemon.read_record(home) is None and ServiceDB(home).services() == []


def test_publish_options_are_stored_under_their_own_names(tmp_path: Path) -> None:
    published = hflow(tmp_path, "service", "publish", "svcfuncs:slow", "--python", sys.executable, "--time", "30m")
    assert published.returncode == 0, published.stderr
    assert [row.options for row in ServiceDB(tmp_path).services()] == [{"time": "30m", "python": sys.executable}]


def test_call_to_a_service_that_does_not_answer_is_one_line(tmp_path: Path) -> None:
    result = hflow(tmp_path, "service", "call", "slow", "x=1", "--url", "http://127.0.0.1:9")
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert result.stderr.strip() == "error: no service answers at http://127.0.0.1:9 (start one with 'hflow service start')"
