"""Running the service as a process: serve, start in the background, find, stop.

A serving process records itself in ``$HYBRIDFLOW_HOME/service.json`` (pid, process start
time, URL) once it listens, and removes the record when it exits; ``hflow service
stop|status|doc`` and ``hflow workflow service ...`` find it there. A record whose
process is gone (or whose pid was reused: start time checked) counts as no service.

Binding: a loopback address (127.0.0.0/8, ::1, localhost) is always allowed; any other
address only when a token is configured beforehand (``hflow service token`` created the
file, or ``$HYBRIDFLOW_SERVICE_TOKEN`` is set), never with a token generated on the fly.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from ..errors import HybridflowError
from ..processes import same_process, start_stamp
from . import tokens

log = logging.getLogger(__name__)

RECORD = "service.json"
LOG = "service.log"


class ServiceError(HybridflowError):
    """The service cannot be started, found or stopped (one-line message)."""


@dataclass(frozen=True, slots=True)
class ServiceRecord:
    pid: int
    ctime: float
    host: str
    port: int
    url: str
    started: float

    def alive(self) -> bool:
        return same_process(self.pid, self.ctime)


def url_for(host: str, port: int) -> str:
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else "[::1]" if host == "::" else host
    if ":" in shown and not shown.startswith("["):
        shown = f"[{shown}]"
    return f"http://{shown}:{port}"


def read_record(home: Path) -> ServiceRecord | None:
    """The live service of ``home``, or None (a stale record is removed)."""
    path = home / RECORD
    try:
        record = ServiceRecord(**json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        return None
    except (ValueError, TypeError) as exc:
        log.warning("ignoring unreadable %s: %s", path, exc)
        return None
    if record.alive():
        return record
    path.unlink(missing_ok=True)
    return None


def _write_record(home: Path, record: ServiceRecord) -> None:
    tmp = home / f".{RECORD}.{os.getpid()}"
    tmp.write_text(json.dumps(asdict(record)), encoding="utf-8")
    os.replace(tmp, home / RECORD)


def _remove_record(home: Path, pid: int) -> None:
    path = home / RECORD
    try:
        if json.loads(path.read_text(encoding="utf-8")).get("pid") == pid:
            path.unlink()
    except (FileNotFoundError, ValueError):
        return


def check_bind(host: str, home: Path) -> str:
    """The token to serve with; refuses a non-loopback ``host`` without a configured token."""
    configured = tokens.read_token(home)
    if configured is None and not tokens.is_loopback(host):
        raise ServiceError(
            f"refusing to listen on {host} without a configured token: run 'hflow service token' "
            f"first (it creates one) or set {tokens.TOKEN_ENV}"
        )
    return configured or tokens.create_token(home)


def serve(home: Path, host: str = "127.0.0.1", port: int = 8000, *, reload: bool = False,
          log_level: str = "info") -> None:
    """Serve in this process until SIGINT/SIGTERM (the foreground of ``hflow service start``)."""
    import uvicorn

    check_bind(host, home)
    os.environ["HYBRIDFLOW_HOME"] = str(home)
    # snapshot rebuilds run in a thread; switching the GIL more often than every 5 ms keeps
    # the event loop (and so every cached answer) responsive while one runs
    sys.setswitchinterval(0.001)
    if reload:
        package = Path(__file__).resolve().parents[1]
        _write_record(home, _record(host, port))
        try:
            uvicorn.run("hybridflow.service.app:create_app_from_env", factory=True, host=host, port=port,
                        reload=True, reload_dirs=[str(package)], log_level=log_level, server_header=False)
        finally:
            _remove_record(home, os.getpid())
        return
    from .app import create_app

    config = uvicorn.Config(create_app(home), host=host, port=port, log_level=log_level,
                            timeout_graceful_shutdown=3, lifespan="on", server_header=False)
    server = uvicorn.Server(config)
    asyncio.run(_serve(server, home, host))


def _record(host: str, port: int) -> ServiceRecord:
    pid = os.getpid()
    return ServiceRecord(pid, start_stamp(pid) or time.time(), host, port, url_for(host, port), time.time())


async def _serve(server: object, home: Path, host: str) -> None:
    import uvicorn

    assert isinstance(server, uvicorn.Server)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started and not task.done():
            await asyncio.sleep(0.05)
        if server.started:
            port = server.servers[0].sockets[0].getsockname()[1]
            _write_record(home, _record(host, port))
            log.info("hybridflow service listening on %s", url_for(host, port))
        await task
    finally:
        _remove_record(home, os.getpid())
    if not server.started:
        raise ServiceError(f"the service could not listen on {host} (see the messages above)")


def start_background(home: Path, host: str, port: int, *, timeout: float = 30.0) -> ServiceRecord:
    """Start a detached serving process; returns its record once it listens."""
    existing = read_record(home)
    if existing:
        raise ServiceError(f"a service already runs at {existing.url} (pid {existing.pid}); 'hflow service stop' it first")
    check_bind(host, home)
    home.mkdir(parents=True, exist_ok=True)
    log_path = home / LOG
    argv = [sys.executable, "-m", "hybridflow.service", "--host", host, "--port", str(port)]
    env = {**os.environ, "HYBRIDFLOW_HOME": str(home)}
    with log_path.open("ab") as out:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                env=env, start_new_session=True, close_fds=True)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        record = read_record(home)
        if record and record.pid == proc.pid:
            return record
        if proc.poll() is not None:
            raise ServiceError(f"the service exited at start: {_last_line(log_path)} (log: {log_path})")
        time.sleep(0.1)
    raise ServiceError(f"the service did not start listening within {timeout:.0f} s (log: {log_path})")


def _last_line(path: Path) -> str:
    try:
        lines = [line for line in path.read_text(encoding="utf-8", errors="replace").splitlines() if line.strip()]
    except OSError:
        return "no output"
    errors = [line for line in lines if "error" in line.lower()]
    return (errors or lines or ["no output"])[-1].strip()


def stop(home: Path, *, timeout: float = 10.0) -> ServiceRecord | None:
    """Stop the service of ``home`` (SIGTERM, then SIGKILL after ``timeout``); None if none ran.

    Runs it started are detached coordinators and go on.
    """
    record = read_record(home)
    if record is None:
        return None
    os.kill(record.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not record.alive():
            _remove_record(home, record.pid)
            return record
        time.sleep(0.1)
    log.warning("service pid %d did not stop in %.0f s; killing it", record.pid, timeout)
    os.kill(record.pid, signal.SIGKILL)
    _remove_record(home, record.pid)
    return record
