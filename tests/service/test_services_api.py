"""Analytics services through httpx against the real app: publish typed functions, call
them (real coordinator processes), 422 naming the field, results, errors, progress, call
tokens and their scopes, retention."""

from __future__ import annotations

import os
import signal
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import cloudpickle
import httpx
import pytest

from hybridflow.service import scopes
from hybridflow.service.servicedb import ServiceDB
from hybridflow.service.snapshots import read_version
from hybridflow.store.sqlite import Store

from servicesupport import LiveService, env_home, live_service, wait_for

HERE = str(Path(__file__).resolve().parent)
API = "/api/v1/services"


@pytest.fixture(scope="module")
def svc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveService]:
    home = tmp_path_factory.mktemp("services") / "home"
    with env_home(home), live_service(home) as live, live.client() as http:
        for name in ("forecast", "blob", "boom", "slow"):
            answer = http.post(API, json={"function": f"svcfuncs:{name}", "path": HERE})
            assert answer.status_code == 201, answer.text
        yield live


@pytest.fixture
def admin(svc: LiveService) -> Iterator[httpx.Client]:
    with svc.client() as http:
        yield http


def call(http: httpx.Client, name: str, body: dict[str, object], wait: float = 60) -> httpx.Response:
    return http.post(f"{API}/{name}/calls", json=body, params={"wait": wait})


def test_a_typed_function_is_described_and_documented(admin: httpx.Client) -> None:
    info = admin.get(f"{API}/forecast").json()
    assert info["kind"] == "function" and info["description"].startswith("Forecast the temperature")
    params = {p["name"]: p for p in info["parameters"]}
    assert params["region"]["required"] and not params["days"]["required"] and params["days"]["default"] == 7
    assert params["days"]["type"] == "integer"
    document = admin.get("/openapi.json").json()
    operation = document["paths"][f"{API}/forecast/calls"]["post"]
    assert operation["description"].startswith("Forecast the temperature")
    body = operation["requestBody"]["content"]["application/json"]["schema"]
    assert body["properties"]["unit"]["enum"] == ["C", "F"] and body["required"] == ["region"]
    region = body["properties"]["region"]["$ref"].rsplit("/", 1)[-1]
    assert document["components"]["schemas"][region]["required"] == ["name"]


def test_call_returns_the_value_with_nested_types_built(admin: httpx.Client) -> None:
    answer = call(admin, "forecast", {"region": {"name": "SoCal", "lat": 3}, "days": 3, "unit": "F",
                                      "weights": [1, 0.5], "options": {"smooth": True}})
    assert answer.status_code == 200, answer.text
    data = answer.json()
    assert data["state"] == "done" and data["done"] and data["error"] is None
    assert data["result"] == {"region": "SoCal", "kind": "Region", "days": [68.0, 69.5, 71.0], "smooth": True}
    assert data["id"].startswith("call-") and data["user"] == "admin"
    again = admin.get(f"{API}/forecast/calls/{data['id']}", params={"log": True}).json()
    assert again["result"] == data["result"] and "# hybridflow progress=50" in again["log"]


@pytest.mark.parametrize(("body", "field"), [
    ({"region": {"name": "x"}, "days": "3"}, "days"),
    ({"region": {"name": 1}}, "region.name"),
    ({"region": {"name": "x"}, "unit": "K"}, "unit"),
    ({"region": {"name": "x"}, "dayz": 3}, "dayz"),
    ({}, "region"),
    ({"region": {"name": "x"}, "weights": ["a"]}, "weights.0"),
])
def test_wrong_types_give_422_naming_the_field(admin: httpx.Client, body: dict[str, object], field: str) -> None:
    answer = admin.post(f"{API}/forecast/calls", json=body)
    assert answer.status_code == 422
    assert answer.json()["detail"].startswith(f"{field}: ")
    if field == "dayz":
        assert "(did you mean 'days'?)" in answer.json()["detail"]


def test_body_that_is_not_an_object_or_json_is_422(admin: httpx.Client) -> None:
    assert admin.post(f"{API}/forecast/calls", content=b"[1]").status_code == 422
    assert admin.post(f"{API}/forecast/calls", content=b"{nope").status_code == 422
    missing = admin.post(f"{API}/forcast/calls", json={})
    assert missing.status_code == 404 and "did you mean 'forecast'" in missing.json()["detail"]
    listed = admin.get(f"{API}/forcast/calls")  # no such service, no calls left of one
    assert listed.status_code == 404 and "did you mean 'forecast'" in listed.json()["detail"]


def test_wait_out_of_range_is_422_and_starts_nothing(admin: httpx.Client) -> None:
    before = len(admin.get(f"{API}/forecast/calls").json()["calls"])
    for wait in ("61", "-1", "soon"):
        answer = admin.post(f"{API}/forecast/calls", json={"region": {"name": "SoCal"}}, params={"wait": wait})
        assert answer.status_code == 422 and "wait" in answer.text, answer.text
        assert admin.get(f"{API}/forecast/calls/call-none", params={"wait": wait}).status_code == 422
    assert len(admin.get(f"{API}/forecast/calls").json()["calls"]) == before


def test_a_body_over_the_limit_is_413(admin: httpx.Client) -> None:
    answer = admin.post(f"{API}/forecast/calls", content=b" " * ((1 << 20) + 1))
    assert answer.status_code == 413 and "over the limit" in answer.json()["detail"], answer.text


def test_a_value_that_is_not_json_is_a_download(admin: httpx.Client) -> None:
    data = call(admin, "blob", {"n": 4}).json()
    assert data["state"] == "done" and data["result"] is None
    assert data["result_type"].endswith("Blob") and data["result_repr"] == "Blob(4)"
    download = admin.get(data["result_url"])
    assert download.status_code == 200 and download.headers["content-type"] == "application/octet-stream"
    assert cloudpickle.loads(download.content).n == 4


def test_an_exception_is_the_error_with_its_remote_traceback(admin: httpx.Client) -> None:
    data = call(admin, "boom", {"x": 3}).json()
    assert data["state"] == "failed" and data["error"] == "ValueError: bad x 3"
    assert "in boom" in data["traceback"]
    assert admin.get(f"{API}/boom/calls/{data['id']}/result").status_code == 404


def test_long_poll_progress_events_and_listing(admin: httpx.Client) -> None:
    started = admin.post(f"{API}/slow/calls", json={"seconds": 2.5, "x": 41})
    assert started.status_code == 202 and not started.json()["done"]
    call_id = started.json()["id"]
    early = admin.get(f"{API}/slow/calls/{call_id}", params={"wait": 0.5})
    assert early.status_code == 200 and not early.json()["done"]
    events: list[str] = []
    with admin.stream("GET", f"{API}/slow/calls/{call_id}/events") as stream:
        for line in stream.iter_lines():
            if line.startswith("event: "):
                events.append(line.removeprefix("event: "))
            if events and events[-1] == "done":
                break
    assert events[0] == "progress" and events[-1] == "done"
    done = admin.get(f"{API}/slow/calls/{call_id}", params={"wait": 30}).json()
    assert done["result"] == 42 and done["progress"] == 100
    listed = admin.get(f"{API}/slow/calls").json()["calls"]
    assert call_id in [c["id"] for c in listed]
    assert admin.get(f"{API}/slow/calls", params={"user": "token:nobody"}).json()["calls"] == []


def test_call_token_calls_its_service_and_nothing_else(svc: LiveService, admin: httpx.Client) -> None:
    db = ServiceDB(svc.home)
    token, row = scopes.create(db, "forecast", 3600)
    theirs = call(admin, "forecast", {"region": {"name": "admin"}, "days": 1}).json()["id"]
    with httpx.Client(base_url=svc.url, headers={"Authorization": f"Bearer {token}"}, timeout=60) as http:
        mine = call(http, "forecast", {"region": {"name": "mine"}, "days": 1})
        assert mine.status_code == 200 and mine.json()["user"] == f"token:{row.id}"
        assert http.get(f"{API}/forecast").status_code == 200
        assert http.get(f"{API}/forecast/calls/{mine.json()['id']}").json()["result"]["region"] == "mine"
        assert [c["id"] for c in http.get(f"{API}/forecast/calls").json()["calls"]] == [mine.json()["id"]]
        assert http.get(f"{API}/forecast/calls/{theirs}").status_code == 403
        for method, path in [("GET", "/api/v1/workflows"), ("POST", API), ("GET", API), ("GET", f"{API}/slow/calls"),
                             ("POST", f"{API}/boom/calls"), ("DELETE", f"{API}/forecast"), ("GET", "/openapi.json")]:
            answer = http.request(method, path, json={"function": "svcfuncs:boom"} if method == "POST" else None)
            assert answer.status_code == 403, (method, path, answer.text)
        assert db.revoke_token(row.id)
        assert http.get(f"{API}/forecast").status_code == 401
    expired, _ = scopes.create(db, "forecast", 0.01)
    time.sleep(0.05)
    assert httpx.get(f"{svc.url}{API}/forecast", headers={"Authorization": f"Bearer {expired}"}).status_code == 401
    with sqlite3.connect(db.path) as raw:
        stored = " ".join(str(v) for row in raw.execute("SELECT * FROM call_tokens") for v in row)
    assert token not in stored and token.split("_", 2)[2] not in stored and scopes.digest(token) in stored
    db.close()


def test_old_calls_expire_with_their_files(svc: LiveService, admin: httpx.Client) -> None:
    call_id = call(admin, "forecast", {"region": {"name": "old"}, "days": 1}).json()["id"]
    folder = svc.home / "calls" / call_id
    assert folder.is_dir()
    calls = svc.app.state.hf_services.calls
    store = svc.app.state.hf.stores.get()
    assert call_id not in calls.expire(store, now=time.time(), force=True)  # younger than the retention
    assert call_id in calls.expire(store, now=time.time() + calls.retention + 1, force=True)
    assert not folder.exists() and not store.exists(call_id)
    assert admin.get(f"{API}/forecast/calls/{call_id}").status_code == 404


def test_a_call_whose_coordinator_died_is_resumed_when_read(svc: LiveService, admin: httpx.Client) -> None:
    call_id = admin.post(f"{API}/slow/calls", json={"seconds": 3, "x": 1}).json()["id"]
    store = Store(svc.home / "hybridflow.db")

    def coordinator() -> int | None:
        version = read_version(store, call_id)
        return version.lock_pid if version.lock_alive() and store.attempts(call_id) else None

    pid = wait_for(coordinator, 30, 0.05, "the call's coordinator to start it")
    os.kill(pid, signal.SIGKILL)
    data = admin.get(f"{API}/slow/calls/{call_id}", params={"wait": 45}).json()
    assert data["state"] == "done" and data["result"] == 2, data
    assert read_version(store, call_id).lock_pid != pid
    assert len(store.attempts(call_id)) == 1  # re-attached to, not run again
