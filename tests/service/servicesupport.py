"""A real service in a thread (uvicorn on a free loopback port) for API, CLI and UI tests."""

from __future__ import annotations

import io
import os
import tarfile
import textwrap
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from hybridflow.service import create_app

TOKEN = "test-token-0123456789"


@dataclass
class LiveService:
    url: str
    home: Path
    token: str
    app: Any

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers=self.auth, timeout=30)


@contextmanager
def live_service(home: Path, token: str = TOKEN, **limits: Any) -> Iterator[LiveService]:
    """Serve ``create_app(home, token)`` on 127.0.0.1 until the block ends."""
    home.mkdir(parents=True, exist_ok=True)
    app = create_app(home=home, token=token, **limits)
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on",
                            timeout_graceful_shutdown=1, server_header=False)  # as daemon.serve
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("test service did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield LiveService(f"http://127.0.0.1:{port}", home, token, app)
    finally:
        server.should_exit = True
        thread.join(10)


@contextmanager
def env_home(home: Path) -> Iterator[Path]:
    """Point $HYBRIDFLOW_HOME at ``home`` for a module's worth of tests."""
    old = os.environ.get("HYBRIDFLOW_HOME")
    os.environ["HYBRIDFLOW_HOME"] = str(home)
    try:
        yield home
    finally:
        if old is None:
            os.environ.pop("HYBRIDFLOW_HOME", None)
        else:
            os.environ["HYBRIDFLOW_HOME"] = old


def yaml_text(text: str) -> bytes:
    return textwrap.dedent(text).lstrip().encode()


def tar_gz(files: dict[str, bytes | str], *, links: dict[str, str] | None = None, modes: dict[str, int] | None = None) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, content in files.items():
            data = content.encode() if isinstance(content, str) else content
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = (modes or {}).get(name, 0o644)
            archive.addfile(info, io.BytesIO(data))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            archive.addfile(info)
    return buffer.getvalue()


def zip_bytes(files: dict[str, bytes | str], *, links: dict[str, str] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
        for name, target in (links or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (0o120777 << 16)
            archive.writestr(info, target)
    return buffer.getvalue()


def wait_for(predicate: Callable[[], Any], timeout: float = 30.0, interval: float = 0.1, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def wait_idle(client: httpx.Client, name: str, timeout: float = 60.0) -> dict[str, Any]:
    """Wait until no coordinator runs ``name``; returns its detail."""
    def done() -> dict[str, Any] | None:
        detail = client.get(f"/api/v1/workflows/{name}", params={"fresh": "true"}).json()
        return None if detail["running"] or detail["state"] in ("defined", "running") else detail
    return wait_for(done, timeout, 0.2, f"workflow {name} to finish")
