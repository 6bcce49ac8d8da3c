"""Files a job left are served only when they are regular files inside its run directory.

Issue 10 item 7: a job that runs ``ln -sf SECRET "$HF_RUN_DIR/a.log"`` made the log route
return SECRET. These tests run the job for real (through the service's run route), then
read the log every way the route allows; and read an SSH attempt's log whose workdir is
a path on this machine, through the same reader.
"""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import httpx
import pytest

from hybridflow.service.files import UnsafeFile, open_inside
from hybridflow.service.logs import read_chunk
from hybridflow.snapshot import AttemptView
from hybridflow.states import JobState

from servicesupport import wait_idle

SECRET = "top-secret-0600-content"


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    folder = tmp_path / "private"
    folder.mkdir()
    path = folder / "secret"
    path.write_text(SECRET + "\n")
    path.chmod(0o600)
    (folder / "a.log").write_text(SECRET + " (a.log in another folder)\n")
    return path


def _run(client: httpx.Client, name: str, command: str) -> dict[str, object]:
    text = f"workflow:\n  nodes:\n    a: {{exec: '{command}', retries: 0}}\n"
    created = client.post("/api/v1/workflows", content=text.encode(), params={"name": name},
                          headers={"Content-Type": "application/yaml"})
    assert created.status_code == 201, created.text
    assert client.post(f"/api/v1/workflows/{name}/run", json={}).status_code == 202
    return wait_idle(client, name)


def _log_answers(client: httpx.Client, name: str) -> list[httpx.Response]:
    url = f"/api/v1/workflows/{name}/jobs/a/log"
    return [client.get(url), client.get(url, params={"tail": 100}), client.get(url, params={"offset": 0}),
            client.get(url, params={"attempt": 1})]


def _assert_refused(answers: list[httpx.Response]) -> None:
    for answer in answers:
        assert SECRET not in answer.text
        assert answer.status_code == 403, answer.text
        assert "not served" in answer.json()["detail"] and "\n" not in answer.json()["detail"]


def test_log_symlinked_by_the_job_is_refused(client: httpx.Client, secret: Path) -> None:
    _run(client, "linklog", f'echo visible; ln -sf {secret} "$HF_RUN_DIR/a.log"')
    detail = client.get("/api/v1/workflows/linklog/jobs/a").json()
    log = Path(detail["attempts"][0]["log"])
    assert log.is_symlink() and os.readlink(log) == str(secret)  # the job really did it
    _assert_refused(_log_answers(client, "linklog"))


def test_log_replaced_by_a_fifo_is_refused_without_blocking(client: httpx.Client) -> None:
    # made after the run: a job that makes it blocks its own coordinator's log reader today
    _run(client, "fifolog", "echo hi")
    log = Path(client.get("/api/v1/workflows/fifolog/jobs/a").json()["attempts"][0]["log"])
    log.unlink()
    os.mkfifo(log)
    answers: list[httpx.Response] = []
    reader = threading.Thread(target=lambda: answers.extend(_log_answers(client, "fifolog")), daemon=True)
    reader.start()
    reader.join(20)
    assert not reader.is_alive(), "the log route blocked on a FIFO"
    for answer in answers:
        assert answer.status_code == 403 and "not a regular file" in answer.json()["detail"]


def test_run_directory_replaced_by_a_symlink_is_refused(client: httpx.Client, secret: Path) -> None:
    command = f'cd /; rm -rf "$HF_RUN_DIR"; ln -s {secret.parent} "$HF_RUN_DIR"'
    _run(client, "linkdir", command)
    _assert_refused(_log_answers(client, "linkdir"))


def test_ordinary_logs_are_still_served(client: httpx.Client) -> None:
    _run(client, "plainlog", "echo plain output")
    answer = client.get("/api/v1/workflows/plainlog/jobs/a/log")
    assert answer.status_code == 200 and answer.json()["data"] == "plain output\n"


def _ssh_attempt(workdir: Path, stem: str = "a") -> AttemptView:
    return AttemptView(job="a", number=1, token="t", kind="ssh", host="far-away", workdir=str(workdir), stem=stem,
                       native_id="1", state=JobState.DONE, exit_code=0, log_offset=0, created=0.0, started=0.0,
                       ended=0.0, message=None)


def test_ssh_attempt_whose_workdir_is_local_is_read_the_same_way(tmp_path: Path, secret: Path) -> None:
    run_dir = tmp_path / "remote-runs" / "wf"
    run_dir.mkdir(parents=True)
    (run_dir / "b.log").write_text("ssh job output\n")
    assert read_chunk(_ssh_attempt(run_dir, "b"), offset=None, tail=None, limit=1000).data == "ssh job output\n"
    (run_dir / "a.log").symlink_to(secret)
    with pytest.raises(UnsafeFile, match="symbolic link"):
        read_chunk(_ssh_attempt(run_dir), offset=None, tail=None, limit=1000)
    os.mkfifo(run_dir / "c.log")
    with pytest.raises(UnsafeFile, match="not a regular file"):
        read_chunk(_ssh_attempt(run_dir, "c"), offset=0, tail=None, limit=1000)


def test_open_inside_contract(tmp_path: Path, secret: Path) -> None:
    run_dir = tmp_path / "runs" / "wf"
    run_dir.mkdir(parents=True)
    (run_dir / "ok.log").write_bytes(b"fine")
    with open_inside(run_dir, "ok.log") as handle:
        assert handle.read() == b"fine"
    for bad in ("", ".", "..", "../private/secret", "sub/ok.log", "nul\0"):
        with pytest.raises(UnsafeFile):
            open_inside(run_dir, bad)
    with pytest.raises(FileNotFoundError):
        open_inside(run_dir, "missing.log")
    with pytest.raises(FileNotFoundError):
        open_inside(tmp_path / "no-such-dir", "ok.log")
    (run_dir / "dir.log").mkdir()
    with pytest.raises(UnsafeFile, match="not a regular file"):
        open_inside(run_dir, "dir.log")
    linked_parent = tmp_path / "alias"
    linked_parent.symlink_to(tmp_path / "runs")  # links above the run directory are the user's layout
    with open_inside(linked_parent / "wf", "ok.log") as handle:
        assert handle.read() == b"fine"
    (tmp_path / "runs" / "linked").symlink_to(secret.parent)
    with pytest.raises(UnsafeFile, match="run directory .* is a symbolic link"):
        open_inside(tmp_path / "runs" / "linked", "a.log")
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
