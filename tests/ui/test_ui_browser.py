"""The web UI in headless Chromium: login, upload, run, live colours, logs, cancel (big workflows:
test_ui_scale.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from servicesupport import LiveService, wait_for
from uisupport import login

FLOW = textwrap.dedent("""
    workflow:
      nodes:
        fetch: {exec: "echo fetching; sleep 0.5", label: "{name}\\n{status}"}
        part[1-3]: {exec: "echo \\"part $HF_JOB\\"; echo '# cloudmesh status=running progress=50 pid=1'; sleep 0.5"}
        merge: {exec: "echo merged all parts", shape: box}
      dependencies:
        - fetch,part1,merge
        - fetch,part2,merge
        - fetch,part3,merge
""").lstrip()


def node_state(page: Any, job: str) -> str | None:
    return page.get_attribute(f'#graph g.node[data-job="{job}"]', "data-state")


def test_login_upload_run_watch_log(page: Any, service: LiveService, tmp_path: Path, artifacts: Path) -> None:
    login(page, service)
    page.wait_for_selector("#workflows tbody tr")
    path = tmp_path / "flow.yaml"
    path.write_text(FLOW)
    page.set_input_files("#upload-file", str(path))
    page.click("#upload-button")
    page.wait_for_selector("#open-uploaded")
    assert "Stored workflow flow (5 jobs)" in page.inner_text("#upload-message")
    page.wait_for_selector('#workflows tr[data-name="flow"]')
    page.screenshot(path=str(artifacts / "01-workflows.png"), full_page=True)

    page.click("#open-uploaded")
    page.wait_for_selector("body[data-ready='1']")
    assert page.locator("#graph g.node").count() == 5
    assert node_state(page, "merge") == "ready"
    page.click("#run-button")
    page.wait_for_selector("#graph g.node[data-job='merge'][data-state='done']", timeout=60_000)
    for job in ("fetch", "part1", "part2", "part3"):
        assert node_state(page, job) == "done"
    fill = page.get_attribute("#graph g.node[data-job='merge'] .node-shape", "fill")
    colors = json.loads(page.get_attribute("#graph svg", "data-state-colors"))
    assert fill == colors["done"]
    assert page.locator("#jobs tr[data-state='done']").count() == 5
    page.wait_for_selector("#wf-state[data-state='done']")

    page.click("#graph g.node[data-job='part2']")
    page.wait_for_selector("#log-panel:not([hidden])")
    wait_for(lambda: "part part2" in page.inner_text("#log-text"), 10, what="part2's log")
    assert page.inner_text("#log-state") == "done"
    page.screenshot(path=str(artifacts / "02-workflow-done.png"), full_page=True)


def test_cancel_a_long_job(page: Any, service: LiveService, artifacts: Path) -> None:
    with service.client() as client:
        text = 'workflow:\n  nodes:\n    warmup: {exec: "echo warm"}\n    long: {exec: "echo long job starts; sleep 120"}\n' \
               '  dependencies: ["warmup,long"]\n'
        assert client.post("/api/v1/workflows", params={"name": "slow"}, content=text).status_code == 201
    login(page, service, "/workflows/slow")
    page.wait_for_selector("body[data-ready='1']")
    page.click("#run-button")
    page.wait_for_selector("#graph g.node[data-job='long'][data-state='running']", timeout=30_000)
    page.click("#jobs tr[data-job='long']")
    wait_for(lambda: "long job starts" in page.inner_text("#log-text"), 15, what="the long job's log")
    assert page.is_enabled("#cancel-button")
    page.click("#cancel-button")
    page.wait_for_selector("#graph g.node[data-job='long'][data-state='canceled']", timeout=30_000)
    page.wait_for_selector("#wf-state[data-state='canceled']")
    page.wait_for_function("!document.getElementById('run-button').disabled")
    page.screenshot(path=str(artifacts / "03-canceled.png"), full_page=True)


def test_docs_page_served_without_cdn(page: Any, service: LiveService, artifacts: Path) -> None:
    outside: list[str] = []
    page.on("request", lambda request: outside.append(request.url) if not request.url.startswith(service.url) else None)
    login(page, service, "/docs")
    page.wait_for_selector(".swagger-ui .opblock", timeout=30_000)
    assert page.locator(".opblock").count() >= 12
    page.screenshot(path=str(artifacts / "06-docs.png"))
    assert not [url for url in outside if not url.startswith("data:")], outside


@pytest.mark.testbed
def test_the_page_shows_the_runs_slurm_charge(page: Any, service: LiveService, tmp_path: Path) -> None:
    """A workflow with a real Slurm job: the header shows this run's units and node-hours,
    the same figures as ``/cost``; a workflow of local jobs shows no cost at all."""
    if subprocess.run(["scontrol", "ping"], capture_output=True, text=True, timeout=20).returncode != 0:
        pytest.skip("no Slurm testbed here (start ../shared/testbed/start-testbed)")
    path = tmp_path / "billed.yaml"
    path.write_text("workflow:\n  nodes:\n    s: {kind: slurm, cpus: 1, exec: 'sleep 1'}\n")
    ran = subprocess.run([sys.executable, "-c", "from hybridflow.cli import main; main()", "workflow", "run",
                          str(path), "-q"], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "HYBRIDFLOW_HOME": str(service.home)})  # playwright holds the loop
    assert ran.returncode == 0, ran.stdout + ran.stderr
    login(page, service, "/workflows/billed")
    page.wait_for_selector("#wf-cost:not([hidden])")
    with service.client() as client:
        run = client.get("/api/v1/workflows/billed/cost").json()["run"]
    assert run["attempts"] == 1 and run["units"] > 0
    assert page.inner_text("#wf-cost-units") == f"{run['units']:.3f} SU · {run['node_hours']:.3f} node-h"


def test_a_function_nodes_result_is_shown_beside_its_log(page: Any, service: LiveService, tmp_path: Path) -> None:
    folder = tmp_path / "fn"
    folder.mkdir()
    (folder / "uimod.py").write_text("def square(x):\n    return {'square': x * x}\n")
    (folder / "wf.yaml").write_text("name: uifn\nworkflow:\n  nodes:\n    sq: {call: 'uimod:square', args: [7]}\n")
    ran = subprocess.run([sys.executable, "-c", "from hybridflow.cli import main; main()", "workflow", "run",
                          str(folder / "wf.yaml"), "-q"], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "HYBRIDFLOW_HOME": str(service.home)})
    assert ran.returncode == 0, ran.stdout + ran.stderr
    login(page, service, "/workflows/uifn")
    page.wait_for_selector("body[data-ready='1']")
    page.click("#graph g.node[data-job='sq']")
    page.wait_for_selector("#log-result:not([hidden])")
    assert page.inner_text("#log-result") == 'result: {"square":49}'  # JSON.stringify
