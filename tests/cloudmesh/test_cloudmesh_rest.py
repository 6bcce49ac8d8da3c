"""cloudmesh-cc's REST routes on the hybridflow service, modelled on cloudmesh-cc's
test_012_service_localhost and test_660/661_service (local jobs only), with the token."""

from __future__ import annotations

import io
import shutil
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from hybridflow.service import create_app

DATA = Path(__file__).resolve().parents[1] / "data" / "cloudmesh"
TOKEN = "cloudmesh-rest-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cc") / "home"


@pytest.fixture(scope="module")
def client(home: Path) -> Iterator[TestClient]:
    app = create_app(home=home, token=TOKEN)
    with TestClient(app, headers=AUTH) as http:
        yield http


@pytest.fixture(scope="module")
def example(home: Path) -> Path:
    """cloudmesh's workflow-example folder, placed inside the service's home."""
    target = home / "incoming" / "workflow-example"
    shutil.copytree(DATA / "workflow-example", target)
    return target


def wait_done(client: TestClient, name: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        nodes = client.get(f"/workflow/{name}").json()[name]["graph"]["nodes"]
        running = client.get(f"/api/v1/workflows/{name}", params={"fresh": "true"}).json()["running"]
        if not running and all(n["status"] in ("done", "failed", "skipped", "canceled") for n in nodes.values()):
            return nodes
        assert time.monotonic() < deadline, nodes
        time.sleep(0.2)


def one_line(answer: Any, status: int, text: str) -> None:
    assert answer.status_code == status, answer.text
    detail = answer.json()["detail"]
    assert text in detail and "\n" not in detail, detail


def test_token_is_needed(client: TestClient) -> None:
    with TestClient(client.app) as anon:
        assert anon.get("/workflows", headers={"Accept": "application/json"}).status_code == 401
        # a script (curl sends */*) gets 401, not the login page: these are API routes
        assert anon.get("/workflows", headers={"Accept": "*/*"}).status_code == 401
        assert anon.get("/workflow/run/wf", headers={"Accept": "*/*"}).status_code == 401
        assert anon.post("/workflow/upload").status_code == 401
        assert anon.get("/workflows", headers={"Authorization": "Bearer wrong"}).status_code == 401


def test_list_empty(client: TestClient) -> None:
    answer = client.get("/workflows")
    assert answer.status_code == 200 and answer.json() == {"workflows": []}


def test_server_paths_outside_home_are_refused(client: TestClient, home: Path, tmp_path: Path) -> None:
    outside = DATA / "workflow-example"
    one_line(client.post("/workflow", params={"directory": str(outside)}), 403, "is outside the service's home")
    one_line(client.post("/workflow/upload", params={"yaml": str(outside / "workflow-example.yaml")}), 403,
             "is outside the service's home")
    archive = tmp_path / "wf.tar.gz"
    archive.write_bytes(b"x")
    one_line(client.post("/workflow/upload", params={"archive": str(archive)}), 403, "is outside the service's home")
    one_line(client.post("/workflow/upload", params={"directory": "~"}), 403, "is outside the service's home")
    one_line(client.post("/workflow/upload", params={"directory": "../.."}), 403, "is outside the service's home")
    link = home / "sneaky"
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(outside)
    one_line(client.post("/workflow/upload", params={"directory": str(link)}), 403, "is outside the service's home")
    one_line(client.post("/workflow/x", params={"directory": str(outside)}), 403, "is outside the service's home")
    one_line(client.post("/workflow/upload", params={"directory": "a\x00b"}), 422, "cannot use directory path")
    assert client.get("/workflows").json() == {"workflows": []}


def test_upload_directory_and_name(client: TestClient, example: Path) -> None:
    answer = client.post("/workflow", params={"directory": str(example)})
    assert answer.status_code == 200 and "Successfully uploaded" in answer.json()["message"]
    assert answer.json()["name"] == "workflow-example"
    two = client.post("/workflow/upload", params={"directory": str(example), "name": "imtesting"})
    assert two.status_code == 200 and two.json()["name"] == "imtesting"
    assert sorted(client.get("/workflows").json()["workflows"]) == ["imtesting", "workflow-example"]


def test_retrieve_workflow_and_job(client: TestClient) -> None:
    job = client.get("/workflow/workflow-example/job/start")
    workflow = client.get("/workflow/workflow-example")
    assert job.status_code == 200 and "echo hello" in job.json()["start"]["exec"]
    nodes = workflow.json()["workflow-example"]["graph"]["nodes"]
    assert {"compute", "fetch-data"} <= set(nodes)
    assert nodes["compute"]["parent"] == ["fetch-data"] and nodes["start"]["status"] == "ready"
    as_json = client.get("/workflow/workflow-example", params={"output": "json"}).json()
    assert "start-fetch-data" in as_json["dependencies"]
    graph = client.get("/workflow/workflow-example", params={"output": "graph"})
    assert graph.headers["content-type"].startswith("image/svg+xml") and "<svg" in graph.text
    everything = client.get("/workflows", params={"output": "json"}).json()
    assert set(everything) == {"imtesting", "workflow-example"}
    one_line(client.get("/workflow/nope"), 404, "nope")
    one_line(client.get("/workflow/workflow-example/job/nope"), 404, "Job 'nope' not in workflow 'workflow-example'")
    one_line(client.get("/workflows", params={"output": "csv"}), 422, "output 'csv' is not served")


def test_run_workflow(client: TestClient) -> None:
    answer = client.get("/workflow/run/workflow-example", follow_redirects=False)
    assert answer.status_code == 307 and answer.headers["location"] == "/workflows/workflow-example"
    nodes = wait_done(client, "workflow-example")
    assert nodes["end"]["progress"] == 100 and {n["status"] for n in nodes.values()} == {"done"}
    page = client.get("/workflow/run/imtesting", params={"run_type": "parallel"})  # follows to the page
    assert page.status_code == 200 and page.headers["content-type"] == "text/html; charset=utf-8"
    wait_done(client, "imtesting")
    one_line(client.get("/workflow/run/imtesting", params={"run_type": "sideways"}), 422, "run_type")


def test_add_and_remove_job(client: TestClient) -> None:
    job = "theAddJobWorked"
    added = client.post(f"/workflow/workflow-example/job/{job}",
                        params={"user": "string", "host": "local", "label": "string", "kind": "local",
                                "status": "string", "progress": 2, "exec": "echo added", "parent": "end"})
    assert added.status_code == 200, added.text
    jobs = added.json()["jobs"]
    assert job in jobs and jobs[job]["exec"] == "echo added" and jobs[job]["parent"] == []
    updated = client.post(f"/workflow/workflow-example/job/{job}", params={"label": "{name}!"}).json()["jobs"][job]
    assert updated["label"] == "{name}!" and updated["exec"] == "echo added"
    # cloudmesh-cc's test_660 posts kind=string: here that is a one-line 422, and nothing changes
    one_line(client.post("/workflow/workflow-example/job/bad", params={"kind": "string", "exec": "x"}), 422,
             "unknown kind 'string'")
    # a missing script is stored (as cloudmesh-cc does); a run of the workflow refuses it
    assert client.post("/workflow/workflow-example/job/bad2", params={"kind": "local", "script": "nope.sh"}).is_success
    client.delete("/workflow/workflow-example/job/bad2")
    assert "bad" not in client.get("/workflow/workflow-example").json()["workflow-example"]["graph"]["nodes"]
    deleted = client.delete("/workflow/workflow-example", params={"job": job})
    assert deleted.status_code == 200 and "was deleted" in deleted.json()["message"]
    client.post("/workflow/workflow-example/job/again", params={"exec": "echo again", "kind": "local"})
    remaining = client.delete("/workflow/workflow-example/job/again").json()["jobs"]
    assert "again" not in remaining and "end" in remaining


def test_archive_yaml_and_body_uploads(client: TestClient, example: Path, home: Path) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        archive.add(str(example), arcname="workflow-example")
    tgz = home / "incoming" / "packed.tar.gz"
    tgz.write_bytes(buffer.getvalue())
    answer = client.post("/workflow/upload", params={"archive": str(tgz)})
    assert answer.status_code == 200 and answer.json()["name"] == "packed", answer.text
    by_yaml = client.post("/workflow/upload", params={"yaml": str(example / "workflow-example.yaml"),
                                                      "workflow_name": "fromyaml"})
    assert by_yaml.status_code == 200 and by_yaml.json()["name"] == "fromyaml", by_yaml.text
    named = client.post("/workflow/older", params={"directory": str(example)})  # cloudmesh-cc 4.x form
    assert named.status_code == 200 and named.json()["name"] == "older"
    body = b"workflow:\n  nodes:\n    hi: {exec: 'echo hi'}\n"
    sent = client.post("/workflow/upload", params={"name": "sent"}, content=body)
    assert sent.status_code == 200 and sent.json()["name"] == "sent"
    one_line(client.post("/workflow/upload", params={"directory": str(example), "yaml": "x.yaml"}), 422,
             "only one of directory, archive and yaml")
    one_line(client.post("/workflow/upload"), 422, "give directory=, archive= or yaml=")
    one_line(client.post("/workflow/upload", params={"directory": str(home / "missing")}), 422, "is not a directory")
    one_line(client.post("/workflow/upload", params={"name": "broken"},
                         content=b"workflow:\n  nodes:\n    a: {kind: nope, exec: x}\n"), 422, "unknown kind 'nope'")
    assert "broken" not in client.get("/workflows").json()["workflows"]


def test_delete_workflows(client: TestClient, home: Path) -> None:
    for name in ("workflow-example", "imtesting", "packed", "fromyaml", "older", "sent"):
        answer = client.delete(f"/workflow/{name}")
        assert answer.status_code == 200 and "was deleted" in answer.json()["message"], answer.text
        assert not (home / "uploads" / name).exists()
    assert client.get("/workflows").json() == {"workflows": []}
    one_line(client.delete("/workflow/workflow-example"), 404, "workflow-example")
