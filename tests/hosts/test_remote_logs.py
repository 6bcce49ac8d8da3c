"""Logs of jobs that ran on the testbed, through ``hflow workflow logs`` and the service's log
routes (what the web UI's viewer reads): the log is read on the job's host (SFTP/shell
over SSH), not from this machine's file system, where it does not exist."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from support import hflow

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "service"))
from servicesupport import live_service  # noqa: E402

pytestmark = pytest.mark.testbed


@pytest.mark.parametrize("host,kind", [("testbed", "ssh"), ("cluster", "slurm")])
def test_logs_of_a_remote_job_are_read_on_its_host(home: Path, hosts_file: Path, make_workflow, host: str,
                                                   kind: str) -> None:
    path = make_workflow({"talk": {"kind": kind, "host": host,
                                   "exec": "echo remote hello; echo second line; exit 5"}})
    assert hflow("workflow", "run", str(path), "-q", timeout=300).returncode == 1
    job = json.loads(hflow("workflow", "status", "wf", "-o", "json").stdout)["jobs"][0]
    assert (job["state"], job["exit_code"]) == ("failed", 5)
    attempt = json.loads(hflow("workflow", "list", "wf", "-o", "json").stdout)[0]
    assert attempt["host"] == host
    logs = hflow("workflow", "logs", "wf", "talk", timeout=120)
    assert logs.returncode == 0, logs.stderr
    assert logs.stdout.endswith("remote hello\nsecond line\n")
    assert f"attempt 1 on {host} ({kind})" in logs.stderr and "[failed]" in logs.stderr
    remote_dir = logs.stderr.split(": ", 1)[1].rsplit("/", 1)[0]
    assert not Path(remote_dir).exists()  # not on this machine: it came from the host
    followed = hflow("workflow", "logs", "wf", "talk", "-f", timeout=120)  # an ended job: -f returns
    assert followed.stdout == logs.stdout

    with live_service(home) as service, service.client() as client:
        log_url = "/api/v1/workflows/wf/jobs/talk/log"
        first = client.get(log_url, params={"tail": 65536, "limit": 7})  # the UI's first read
        assert first.status_code == 200, first.text
        chunk = first.json()
        assert (chunk["data"], chunk["attempt"], chunk["next_offset"]) == ("remote ", 1, 7)
        assert not chunk["complete"] and chunk["size"] > 7  # more to come
        rest = client.get(log_url, params={"offset": chunk["next_offset"]}).json()
        assert rest["data"] == "hello\nsecond line\n" and rest["complete"]
        download = client.get(log_url + "/download")
        assert download.status_code == 200 and download.text == logs.stdout
        assert "wf-talk.log" in download.headers["content-disposition"]
