"""``hf.Client`` and ``hflow service publish|call|token`` against a real service."""

from __future__ import annotations

import asyncio
import inspect
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import hybridflow as hf
from hybridflow.client import ServiceCallError, ServiceRequestError

from servicesupport import LiveService, env_home, live_service

HERE = Path(__file__).resolve().parent


def hflow(home: Path, *args: str, cwd: Path = HERE) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HYBRIDFLOW_HOME": str(home), "COLUMNS": "200"}
    env.pop("HYBRIDFLOW_SERVICE_TOKEN", None)
    return subprocess.run([sys.executable, "-c", "from hybridflow.cli import main; main()", *args],
                          capture_output=True, text=True, timeout=120, env=env, cwd=cwd, check=False)


@pytest.fixture(scope="module")
def svc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveService]:
    home = tmp_path_factory.mktemp("client") / "home"
    with env_home(home), live_service(home) as live:
        for target in ("svcfuncs:forecast", "svcfuncs:blob", "svcfuncs:boom"):
            published = hflow(home, "service", "publish", target)
            assert published.returncode == 0, published.stderr
            assert "/calls" in published.stdout
        yield live


@pytest.fixture
def client(svc: LiveService) -> Iterator[hf.Client]:
    with hf.Client(svc.url, svc.token) as client:
        yield client


def test_call_and_acall_return_the_value(client: hf.Client) -> None:
    value = client.call("forecast", region={"name": "SoCal"}, days=2)
    assert value == {"region": "SoCal", "kind": "Region", "days": [20.0, 21.0], "smooth": False}
    assert asyncio.run(client.acall("forecast", region={"name": "Bay"}, days=1))["region"] == "Bay"


def test_service_is_a_callable_with_the_functions_signature(client: hf.Client) -> None:
    forecast = client.service("forecast")
    signature = inspect.signature(forecast)
    assert list(signature.parameters) == ["region", "days", "unit", "weights", "options"]
    assert signature.parameters["days"].default == 7 and signature.parameters["days"].annotation is int
    assert signature.parameters["region"].default is inspect.Parameter.empty
    assert (forecast.__doc__ or "").startswith("Forecast the temperature")
    assert forecast(region={"name": "x"}, days=1)["days"] == [20.0]
    with pytest.raises(TypeError):
        forecast(days=1)  # region missing, as for a local call
    with pytest.raises(TypeError):
        forecast(region={"name": "x"}, dayz=1)


def test_values_errors_and_refusals(client: hf.Client) -> None:
    assert repr(client.call("blob", n=3)) == "Blob(3)"  # not JSON: downloaded, unpickled
    with pytest.raises(ServiceCallError, match="ValueError: bad x 2") as info:
        client.call("boom", x=2)
    assert "in boom" in (info.value.remote_traceback or "")
    with pytest.raises(ServiceRequestError, match="days: Input should be a valid integer") as refused:
        client.call("forecast", region={"name": "x"}, days="many")
    assert refused.value.status == 422
    with pytest.raises(ServiceRequestError, match="did you mean 'forecast'"):
        client.call("forcast")


def test_cli_call_and_call_tokens(svc: LiveService) -> None:
    home = svc.home
    assert hflow(home, "service", "publish", "svcfuncs:slow", "--name", "slow2").returncode == 0
    called = hflow(home, "service", "call", "slow2", "seconds=0.1", "x=4", "--url", svc.url, "--token", svc.token)
    assert called.returncode == 0, called.stderr
    assert called.stdout.strip() == "5"
    created = hflow(home, "service", "token", "create", "--service", "slow2", "--expires", "1h")
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip()
    assert token.startswith("hfc_") and "stored hashed" in created.stderr
    mine = hflow(home, "service", "call", "slow2", "seconds=0", "--url", svc.url, "--token", token)
    assert mine.stdout.strip() == "2", mine.stderr
    other = hflow(home, "service", "call", "forecast", "region={name: x}", "--url", svc.url, "--token", token)
    assert other.returncode == 1 and "may only call service 'slow2'" in other.stderr
    listed = hflow(home, "service", "token", "list").stdout
    token_id = token.split("_")[1]
    assert token_id in listed and "valid" in listed and token not in listed
    assert hflow(home, "service", "token", "revoke", token_id).returncode == 0
    refused = hflow(home, "service", "call", "slow2", "seconds=0", "--url", svc.url, "--token", token)
    assert refused.returncode == 1 and "invalid token" in refused.stderr and "Traceback" not in refused.stderr
    assert "revoked" in hflow(home, "service", "token", "list").stdout
    admin = hflow(home, "service", "token")
    assert admin.returncode == 0 and admin.stdout.strip() == (home / "service-token").read_text().strip()


def test_cli_refuses_bad_input_in_one_line(svc: LiveService, tmp_path: Path) -> None:
    home = svc.home
    for args, text in [
        (("service", "publish", "svcfuncs:nothing"), "has no function 'nothing'"),
        (("service", "publish", "svcfuncs:slow", "--host", "nowhere"), "nowhere"),
        (("service", "publish", "svcfuncs:slow", "-o", "retires=2"), "retries"),
        (("service", "token", "create", "--service", "nope"), "no published service 'nope'"),
        (("service", "call", "slow2", "seconds", "--url", svc.url), "is not KEY=VALUE"),
    ]:
        result = hflow(home, *args)
        assert result.returncode != 0 and text in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_the_client_imports_neither_the_service_nor_cloudpickle() -> None:
    code = ("import sys, hybridflow; hybridflow.Client; "
            "print(sorted({'fastapi', 'uvicorn', 'cloudpickle', 'httpx'} & {m.split('.')[0] for m in sys.modules}))")
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert shown.stdout.strip() == "['httpx']"
    plain = subprocess.run([sys.executable, "-c", "import sys, hybridflow; print('httpx' in sys.modules)"],
                           capture_output=True, text=True, timeout=60, check=True)
    assert plain.stdout.strip() == "False"


def test_the_default_token_is_the_services_and_an_empty_file_is_named(
        svc: LiveService, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a token argument the client reads what ``hflow service`` uses; a broken
    token file is one error naming it, not a request sent without a token."""
    monkeypatch.delenv("HYBRIDFLOW_SERVICE_TOKEN", raising=False)
    monkeypatch.setenv("HYBRIDFLOW_HOME", str(tmp_path))
    (tmp_path / "service-token").write_text(svc.token + "\n", encoding="utf-8")
    (tmp_path / "service-token").chmod(0o600)
    with hf.Client(svc.url) as client:
        assert client.call("forecast", region={"name": "x"}, days=1)["days"] == [20.0]
    (tmp_path / "service-token").write_text("", encoding="utf-8")
    with pytest.raises(hf.HybridflowError, match="service-token is empty"):
        hf.Client(svc.url)
    called = hflow(tmp_path, "service", "call", "forecast", "region={\"name\": \"x\"}", "--url", svc.url)
    assert called.returncode == 1 and called.stdout == ""
    assert called.stderr.strip().splitlines() == [
        f"error: {tmp_path / 'service-token'} is empty: delete it or run 'hflow service token --rotate'"]
