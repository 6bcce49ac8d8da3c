"""``hflow workflow logs`` of jobs that ran on the testbed: the log is read on the job's host
(SFTP/shell over SSH), not from this machine's file system, where it does not exist."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from support import hflow

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
