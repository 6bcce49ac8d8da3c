"""The REST API through httpx against the real app served by uvicorn on loopback."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest
import yaml

from hybridflow.api import Workflow, open_store

from servicesupport import (
    LiveService,
    tar_gz,
    wait_for,
    wait_idle,
    yaml_text,
    zip_bytes,
)

QUICK = yaml_text("""
    workflow:
      nodes:
        a: {exec: "echo hello from a"}
        b: {exec: "echo '# cloudmesh status=running progress=50 pid=1'; echo b done", label: "{name} {progress}%"}
        c: {exec: "echo c"}
      dependencies: ["a,b,c"]
""")

LONG = yaml_text("""
    workflow:
      nodes:
        first: {exec: "echo started"}
        long: {exec: "echo sleeping; sleep 60"}
        after: {exec: "echo never"}
      dependencies: ["first,long,after"]
""")


def upload(client: httpx.Client, data: bytes, **params: str) -> httpx.Response:
    kind = "application/yaml" if data[:2] not in (b"\x1f\x8b", b"PK") else "application/octet-stream"
    return client.post("/api/v1/workflows", content=data, params=params, headers={"Content-Type": kind})


def names(client: httpx.Client) -> set[str]:
    return {wf["name"] for wf in client.get("/api/v1/workflows").json()}


def test_upload_get_list_delete(client: httpx.Client, service: LiveService) -> None:
    created = upload(client, QUICK, name="crud")
    assert created.status_code == 201, created.text
    assert created.json()["job_count"] == 3 and created.json()["state"] == "defined"
    assert "crud" in names(client)
    detail = client.get("/api/v1/workflows/crud")
    assert detail.status_code == 200
    body = detail.json()
    assert [j["name"] for j in body["jobs"]] == ["a", "b", "c"]
    assert body["edges"] == [["a", "b"], ["b", "c"]]
    assert body["jobs"][1]["parents"] == ["a"] and body["colors"]["done"]
    again = client.get("/api/v1/workflows/crud", headers={"If-None-Match": detail.headers["ETag"]})
    assert again.status_code == 304
    assert upload(client, QUICK, name="crud").status_code == 409
    assert upload(client, QUICK, name="crud", replace="true").status_code == 201
    assert client.delete("/api/v1/workflows/crud").status_code == 204
    assert "crud" not in names(client)
    assert client.get("/api/v1/workflows/crud").status_code == 404
    assert not (service.home / "uploads" / "crud").exists()


def test_unknown_keys_warn_in_the_answer_and_strict_refuses_them(client: httpx.Client) -> None:
    text = b"workflow:\n  nodes:\n    a: {exec: 'true', flavour: vanilla}\n"
    refused = upload(client, text, name="strictly", strict="true")
    assert refused.status_code == 422, refused.text
    detail = refused.json()["detail"]
    assert "strict mode refuses unknown keys" in detail and "flavour" in detail and "\n" not in detail
    assert "strictly" not in names(client), "nothing stored"
    kept = upload(client, text, name="leniently")
    assert kept.status_code == 201, kept.text
    assert any("flavour" in line for line in kept.json()["warnings"])
    typo = upload(client, b"workflow:\n  nodes:\n    a: {exec: 'true', retires: 2}\n", name="typo")
    assert typo.status_code == 422 and "did you mean 'retries'" in typo.json()["detail"]


def test_uploaded_folder_is_where_its_jobs_run(client: httpx.Client, service: LiveService) -> None:
    """README "Where jobs run", through REST: ``exec: python3 train.py`` finds the uploaded
    train.py, and its output lands in the upload's folder, the log in the run directory."""
    archive = tar_gz({
        "place/workflow.yaml": "workflow:\n  nodes:\n    train: {exec: 'python3 train.py; echo $HF_WORKFLOW_DIR'}\n",
        "place/train.py": "open('model.txt', 'w').write('ok')\nprint('trained')\n",
    })
    assert upload(client, archive).status_code == 201
    assert client.post("/api/v1/workflows/place/run", json={}).status_code == 202
    assert wait_idle(client, "place")["state"] == "done"
    folder = Path(Workflow("place", store=open_store(service.home)).spec.base_dir)
    assert folder.is_relative_to(service.home) and (folder / "model.txt").read_text() == "ok"
    log = client.get("/api/v1/workflows/place/jobs/train/log").json()["data"]
    assert log == f"trained\n{folder}\n"


def test_archive_with_scripts_runs_and_reports(client: httpx.Client, service: LiveService) -> None:
    archive = tar_gz({
        "demo/workflow.yaml": "workflow:\n  nodes:\n    prep: {script: prep.sh}\n    use: {script: tools/use.py}\n"
                              "  dependencies: ['prep,use']\n",
        "demo/prep.sh": "echo 'prepared' > data.txt\necho prep ran\n",
        "demo/tools/use.py": "print('read', open('data.txt').read().strip())\n",
    })
    created = upload(client, archive)
    assert created.status_code == 201, created.text
    assert created.json()["name"] == "demo"
    run = client.post("/api/v1/workflows/demo/run", json={})
    assert run.status_code == 202, run.text
    detail = wait_idle(client, "demo")
    assert detail["state"] == "done", detail
    assert all(j["exit_code"] == 0 and j["duration"] is not None for j in detail["jobs"])
    log = client.get("/api/v1/workflows/demo/jobs/use/log").json()
    assert log["data"] == "read prepared\n" and log["complete"] is True
    table = client.get("/api/v1/workflows/demo/status", params={"format": "table"})
    assert table.headers["content-type"].startswith("text/plain") and "prep" in table.text and "done" in table.text
    as_json = client.get("/api/v1/workflows/demo/status").json()
    assert {j["name"]: j["state"] for j in as_json["jobs"]} == {"prep": "done", "use": "done"}
    as_yaml = yaml.safe_load(client.get("/api/v1/workflows/demo/status", params={"format": "yaml"}).text)
    assert as_yaml["state"] == "done"
    svg = client.get("/api/v1/workflows/demo/graph")
    assert svg.headers["content-type"].startswith("image/svg+xml")
    assert 'data-job="prep"' in svg.text and 'data-state="done"' in svg.text
    dot = client.get("/api/v1/workflows/demo/graph", params={"format": "dot"}).text
    assert '"prep" -> "use"' in dot
    job = client.get("/api/v1/workflows/demo/jobs/use").json()
    assert job["parents"] == ["prep"] and job["attempts"][0]["log"].endswith("use.log")


BAD_UPLOADS = [
    ("syntax", yaml_text("workflow:\n  nodes:\n    a: {exec: 'x'\n"), {}, 422, "YAML syntax error"),
    ("cycle", yaml_text("workflow:\n  nodes:\n    a: {exec: x}\n    b: {exec: x}\n  dependencies: ['a,b,a']\n"), {}, 422, "cycle"),
    ("unknown-dep", yaml_text("workflow:\n  nodes:\n    a: {exec: x}\n  dependencies: ['a,zz']\n"), {}, 422, "unknown job 'zz'"),
    ("unknown-kind", yaml_text("workflow:\n  nodes:\n    a: {exec: x, kind: teleport}\n"), {}, 422, "unknown kind 'teleport'"),
    ("bad-job-name", yaml_text("workflow:\n  nodes:\n    '-a': {exec: x}\n"), {}, 422, "invalid job name"),
    ("no-payload", yaml_text("workflow:\n  nodes:\n    a: {label: x}\n"), {}, 422, "neither 'script' nor 'exec'"),
    ("not-a-workflow", b"just: text\n", {}, 422, "workflow:"),
    ("binary", b"\xff\xfe\x00garbage", {}, 422, "neither UTF-8 YAML"),
    ("dotdot", tar_gz({"workflow.yaml": "workflow: {nodes: {a: {exec: x}}}", "../evil.sh": "x"}), {}, 422, "'..' in path"),
    ("absolute", tar_gz({"workflow.yaml": "workflow: {nodes: {a: {exec: x}}}", "/tmp/evil.sh": "x"}), {}, 422, "absolute path"),
    ("tar-link", tar_gz({"workflow.yaml": "workflow: {nodes: {a: {exec: x}}}"}, links={"l.sh": "/etc/passwd"}), {}, 422, "is a link"),
    ("zip-link", zip_bytes({"workflow.yaml": "workflow: {nodes: {a: {exec: x}}}"}, links={"l.sh": "/etc/passwd"}), {}, 422, "is a link"),
    ("zip-dotdot", zip_bytes({"workflow.yaml": "workflow: {nodes: {a: {exec: x}}}", "x/../../e": "x"}), {}, 422, "'..' in path"),
    ("no-yaml", tar_gz({"run.sh": "echo"}), {}, 422, "no workflow YAML"),
    ("oversized", b"# " + b"x" * (300 * 1024), {}, 413, "over the limit"),
    ("bomb-nodes", yaml_text("workflow:\n  nodes:\n    'x[1-1000000000]': {exec: x}\n"), {}, 413, "jobs (limit"),
    ("bomb-chain", yaml_text("workflow:\n  nodes:\n    a: {exec: x}\n  dependencies: ['a,b[1-99999999]']\n"), {}, 413, "expands to"),
    ("bomb-alias", yaml_text("a: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
                             "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
                             "f: [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\nworkflow: {nodes: {a: {exec: x}}}\n"), {}, 413, "values"),
    ("bad-query-name", QUICK, {"name": "-bad"}, 422, "name"),
]


@pytest.mark.parametrize(("case", "data", "params", "status", "phrase"), BAD_UPLOADS, ids=[c[0] for c in BAD_UPLOADS])
def test_bad_uploads_are_refused_whole(client: httpx.Client, service: LiveService, case: str, data: bytes,
                                       params: dict[str, str], status: int, phrase: str) -> None:
    before = names(client)
    answer = upload(client, data, name=params.get("name", f"bad-{case}"))
    assert answer.status_code == status, answer.text
    detail = answer.json()["detail"]
    assert phrase in detail and "\n" not in detail, detail
    assert names(client) == before
    assert not (service.home / "uploads" / f"bad-{case}").exists()
    assert not [p for p in (service.home / "uploads").glob(".*")], "staging directory left behind"
    assert not Path("/tmp/evil.sh").exists()


def test_jobs_and_dependencies(client: httpx.Client) -> None:
    assert upload(client, QUICK, name="edit").status_code == 201
    added = client.post("/api/v1/workflows/edit/jobs", json={"name": "x[1-3]", "exec": "echo x"})
    assert added.status_code == 201, added.text
    assert added.json()["added"] == ["x1", "x2", "x3"]
    assert client.post("/api/v1/workflows/edit/jobs", json={"name": "x1", "exec": "echo"}).status_code == 409
    bad = client.post("/api/v1/workflows/edit/jobs", json={"name": "y", "kind": "nope", "exec": "e"})
    assert bad.status_code == 422 and "unknown kind" in bad.json()["detail"]
    bomb = client.post("/api/v1/workflows/edit/jobs", json={"name": "z[1-999999999]", "exec": "e"})
    assert bomb.status_code == 413
    deps = client.post("/api/v1/workflows/edit/dependencies", json={"chains": ["c,x[1-3]"]})
    assert deps.status_code == 201, deps.text
    assert deps.json()["added"] == [["c", "x1"], ["x1", "x2"], ["x2", "x3"]]
    cycle = client.post("/api/v1/workflows/edit/dependencies", json={"chains": ["x3,a"]})
    assert cycle.status_code == 422 and "cycle" in cycle.json()["detail"]
    unknown = client.post("/api/v1/workflows/edit/dependencies", json={"chains": ["a,ghost"]})
    assert unknown.status_code == 422 and "ghost" in unknown.json()["detail"]
    edges = client.get("/api/v1/workflows/edit").json()["edges"]
    assert ["x3", "a"] not in edges and ["c", "x1"] in edges
    assert client.delete("/api/v1/workflows/edit/jobs/x2").status_code == 204
    detail = client.get("/api/v1/workflows/edit").json()
    assert "x2" not in [j["name"] for j in detail["jobs"]] and ["x1", "x2"] not in detail["edges"]
    assert client.delete("/api/v1/workflows/edit/jobs/x2").status_code == 404
    assert client.post("/api/v1/workflows/missing/jobs", json={"name": "a", "exec": "e"}).status_code == 404
    assert "missing" not in names(client)


def test_event_stream_and_log_offsets(client: httpx.Client) -> None:
    assert upload(client, QUICK, name="stream").status_code == 201
    assert client.post("/api/v1/workflows/stream/run").status_code == 202
    seen: list[tuple[str, dict]] = []
    with client.stream("GET", "/api/v1/workflows/stream/events", timeout=30) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        event = None
        for line in response.iter_lines():
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: ") and event:
                seen.append((event, json.loads(line[6:])))
                if event == "workflow" and seen[-1][1]["state"] != "running":
                    break
    states = [(d["job"], d["state"]) for e, d in seen if e == "state"]
    assert ("a", "done") in states and ("c", "done") in states
    assert states.index(("a", "done")) < states.index(("c", "running"))
    assert any(e == "progress" and d["job"] == "b" and d["progress"] == 50 for e, d in seen)
    last_id = max(d["id"] for _, d in seen)
    backlog = client.get("/api/v1/workflows/stream/events", params={"follow": "false", "after": last_id - 2})
    ids = [int(line[4:]) for line in backlog.text.splitlines() if line.startswith("id: ")]
    assert ids and min(ids) == last_id - 1
    wait_idle(client, "stream")
    text, offset = "", 0
    while True:
        chunk = client.get("/api/v1/workflows/stream/jobs/b/log", params={"offset": offset, "limit": 7}).json()
        text += chunk["data"]
        if chunk["next_offset"] == offset:
            break
        offset = chunk["next_offset"]
    assert text == "# cloudmesh status=running progress=50 pid=1\nb done\n" and chunk["complete"]
    tail = client.get("/api/v1/workflows/stream/jobs/b/log", params={"tail": 7}).json()
    assert tail["data"] == "b done\n" and tail["offset"] == tail["size"] - 7


def test_run_cancel_long_job(client: httpx.Client) -> None:
    assert upload(client, LONG, name="long").status_code == 201
    run = client.post("/api/v1/workflows/long/run", json={"sequential": False})
    assert run.status_code == 202 and run.json()["running"], run.text
    assert client.post("/api/v1/workflows/long/run").status_code == 409
    wait_for(lambda: client.get("/api/v1/workflows/long/jobs/long").json()["state"] == "running", 30, what="long running")
    assert client.delete("/api/v1/workflows/long").status_code == 409
    assert upload(client, LONG, name="long", replace="true").status_code == 409
    log = wait_for(lambda: client.get("/api/v1/workflows/long/jobs/long/log").json()["data"], 10, what="log")
    assert log == "sleeping\n"
    started = time.monotonic()
    cancel = client.post("/api/v1/workflows/long/cancel")
    assert cancel.status_code == 202 and cancel.json()["running"] is True
    detail = wait_idle(client, "long", 30)
    assert time.monotonic() - started < 20
    states = {j["name"]: j["state"] for j in detail["jobs"]}
    assert detail["state"] == "canceled" and states["long"] == "canceled" and states["after"] != "done", states
    assert client.post("/api/v1/workflows/long/cancel").json()["running"] is False
    assert client.delete("/api/v1/workflows/long").status_code == 204


def test_cli_and_service_see_the_same_store(client: httpx.Client, service: LiveService) -> None:
    store = open_store(service.home)
    wf = Workflow("from-api", store=store)
    wf.add_job("one", exec="echo one")
    listed = client.get("/api/v1/workflows/from-api").json()
    assert [j["name"] for j in listed["jobs"]] == ["one"]
    assert upload(client, QUICK, name="from-service").status_code == 201
    assert "from-service" in store.names()
    wf.run()  # another writer: the service sees it on its next reads (cached answers refresh)
    wait_for(lambda: client.get("/api/v1/workflows/from-api").json()["state"] == "done", 5, what="the run")


def test_bad_parameters_are_one_line_4xx(client: httpx.Client) -> None:
    assert upload(client, QUICK, name="params").status_code == 201
    for path, params in [
        ("/api/v1/workflows/params/status", {"format": "xml"}),
        ("/api/v1/workflows/params/graph", {"format": "png"}),
        ("/api/v1/workflows/params/jobs/a/log", {"offset": "-1"}),
        ("/api/v1/workflows/-bad", {}),
    ]:
        answer = client.get(path, params=params)
        assert answer.status_code == 422, (path, answer.text)
        assert "\n" not in answer.json()["detail"]
    assert client.get("/api/v1/workflows/params/jobs/zz/log").status_code == 404
    assert client.post("/api/v1/workflows/params/run", json={"bogus": 1}).status_code == 422
    assert client.post("/api/v1/workflows/params/dependencies", json={"chains": []}).status_code == 422
    assert client.post("/api/v1/workflows/params/dependencies", json={"chains": ["a,[b"]}).status_code == 422
