"""REST for watching and fixing a run: run options as the CLI spells them, recorded runs
with their attempts (a timeline), the grouped layout, and log download."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from hybridflow.rounds import NewAttempt
from hybridflow.store.sqlite import Store

from servicesupport import LiveService, wait_idle


def _add(client: httpx.Client, name: str, text: str) -> None:
    created = client.post("/api/v1/workflows", content=text.encode(), params={"name": name},
                          headers={"Content-Type": "application/yaml"})
    assert created.status_code == 201, created.text


def _attempts(client: httpx.Client, name: str) -> dict[str, int]:
    jobs = client.get(f"/api/v1/workflows/{name}").json()["jobs"]
    return {job["name"]: len(client.get(f"/api/v1/workflows/{name}/jobs/{job['name']}").json()["attempts"])
            for job in jobs}


def _run(client: httpx.Client, name: str, body: dict[str, object]) -> dict[str, object]:
    answer = client.post(f"/api/v1/workflows/{name}/run", json=body)
    assert answer.status_code == 202, answer.text
    return wait_idle(client, name)


def test_run_options_rerun_failed_from_and_force(client: httpx.Client, service: LiveService) -> None:
    flag = service.home / "fixed"
    _add(client, "opts2", "workflow:\n  nodes:\n    a: {exec: 'true'}\n"
                          f"    b: {{exec: 'test -e {flag}'}}\n    c: {{exec: 'true'}}\n    d: {{exec: 'true'}}\n"
                          "  dependencies: ['a,b,c', 'a,d']\n")
    assert _run(client, "opts2", {})["state"] == "failed"
    assert _attempts(client, "opts2") == {"a": 1, "b": 1, "c": 0, "d": 1}
    flag.touch()
    assert _run(client, "opts2", {"rerun_failed": True})["state"] == "done"
    assert _attempts(client, "opts2") == {"a": 1, "b": 2, "c": 1, "d": 1}  # only b and its dependant
    _run(client, "opts2", {"from": ["c"]})
    assert _attempts(client, "opts2") == {"a": 1, "b": 2, "c": 2, "d": 1}
    _run(client, "opts2", {"force": True})
    assert _attempts(client, "opts2") == {"a": 2, "b": 3, "c": 3, "d": 2}
    for body, word in (({"force": True, "rerun_failed": True}, "only one of"),
                       ({"from": ["c"], "force": True}, "only one of"),
                       ({"from": ["ghost"]}, "ghost"),
                       ({"from": "c d"}, "from")):
        refused = client.post("/api/v1/workflows/opts2/run", json=body)
        assert refused.status_code == 422 and word in refused.text, (body, refused.text)

    runs = client.get("/api/v1/workflows/opts2/runs").json()
    assert [r["number"] for r in runs] == [4, 3, 2, 1]
    assert [r["state"] for r in runs] == ["done", "done", "done", "failed"]
    assert runs[3]["counts"] == {"done": 2, "failed": 1, "skipped": 1}
    assert runs[0]["options"]["rerun"] == "force" and runs[1]["options"]["from"] == ["c"]
    assert all(r["started_by"].endswith("(service)") and r["duration"] >= 0 for r in runs)
    second = client.get("/api/v1/workflows/opts2/runs/2").json()
    assert sorted((a["job"], a["number"]) for a in second["attempts"]) == [("b", 2), ("c", 1)]
    assert all(a["host"] == "localhost" and a["ended"] >= a["created"] for a in second["attempts"])
    missing = client.get("/api/v1/workflows/opts2/runs/9")
    assert missing.status_code == 404 and "no run 9" in missing.json()["detail"]


def test_layout_groups_a_bracket_expansion_and_is_cached_per_change(client: httpx.Client) -> None:
    deps = "\n".join(f"    - start,part{i},end" for i in range(1, 1001))
    _add(client, "fan", f"workflow:\n  nodes:\n    start: {{exec: 'true'}}\n    part[1-1000]: {{exec: 'true'}}\n"
                        f"    end: {{exec: 'true'}}\n  dependencies:\n{deps}\n")
    started = time.monotonic()
    answer = client.get("/api/v1/workflows/fan/layout")
    assert answer.status_code == 200 and time.monotonic() - started < 10
    layout = answer.json()
    nodes = {n["id"]: n for n in layout["nodes"]}
    assert set(nodes) == {"start", "fam:part[1-1000]", "end"}
    family = nodes["fam:part[1-1000]"]
    assert family["kind"] == "bracket" and len(family["members"]) == 1000
    assert nodes["start"]["y"] < family["y"] < nodes["end"]["y"]  # layered top-down
    assert {(e["source"], e["target"]) for e in layout["edges"]} == {("start", "fam:part[1-1000]"),
                                                                     ("fam:part[1-1000]", "end")}
    again = client.get("/api/v1/workflows/fan/layout", headers={"If-None-Match": answer.headers["etag"]})
    assert again.status_code == 304
    big = client.get("/api/v1/workflows/fan/layout", params={"expand": "fam:part[1-1000]"})
    assert big.status_code == 422 and "has 1000 jobs: too many to draw one by one" in big.json()["detail"]
    unknown = client.get("/api/v1/workflows/fan/layout", params={"expand": "fam:nope"})
    assert unknown.status_code == 422 and "no family 'fam:nope' to expand" in unknown.json()["detail"]


def test_log_download_and_job_host_of_this_run(client: httpx.Client) -> None:
    _add(client, "logged", "workflow:\n  nodes:\n    talk: {exec: 'echo hello from the log'}\n    later: {exec: 'true'}\n"
                           "  dependencies: ['talk,later']\n")
    listed = client.get("/api/v1/workflows/logged").json()["jobs"]
    assert [(j["host"], j["attempt"]) for j in listed] == [(None, 0), (None, 0)]
    none = client.get("/api/v1/workflows/logged/jobs/talk/log/download")
    assert none.status_code == 404 and "has not started" in none.json()["detail"]
    _run(client, "logged", {})
    listed = client.get("/api/v1/workflows/logged").json()["jobs"]
    assert [(j["host"], j["attempt"]) for j in listed] == [("localhost", 1), ("localhost", 1)]
    log = client.get("/api/v1/workflows/logged/jobs/talk/log/download")
    assert log.status_code == 200 and log.text == "hello from the log\n"
    assert "logged-talk.log" in log.headers["content-disposition"]


def test_the_log_of_a_job_on_a_host_that_cannot_be_reached_is_a_502(client: httpx.Client, service: LiveService,
                                                                    tmp_path: Path) -> None:
    _add(client, "far", "hosts:\n  gone: {kind: ssh, address: 127.0.0.1, port: 1, user: nobody}\n"
                        "workflow:\n  nodes:\n    talk: {kind: ssh, host: gone, exec: 'echo hi'}\n")
    store = Store(service.home / "hybridflow.db")  # an attempt as a coordinator recorded it
    try:
        store.apply(store.workflow_id("far"), [NewAttempt("talk", 1, "hf-far-1", "ssh", "gone",
                                                          str(tmp_path / "nowhere"), "talk", time.time())])
    finally:
        store.close()
    for url in ("/api/v1/workflows/far/jobs/talk/log", "/api/v1/workflows/far/jobs/talk/log/download"):
        answer = client.get(url)
        assert answer.status_code == 502, (url, answer.text)
        detail = answer.json()["detail"]
        assert "job 'talk': cannot read its log on host 'gone'" in detail and "\n" not in detail
    assert not (tmp_path / "nowhere").exists()
