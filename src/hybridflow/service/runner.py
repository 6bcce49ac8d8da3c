"""Starting runs: each as a detached coordinator process, exactly as the CLI runs one.

A run started by the service is ``hflow workflow run NAME --quiet`` in its own session
(``start_new_session``), so it survives the service, takes the workflow's lock in the
store and obeys cancel requests like any other coordinator: the CLI sees the service's
runs and the service the CLI's. Its output goes to ``service/runs/NAME.log`` in the home.

Contract of :meth:`Runner.start`: it returns once the coordinator holds the workflow's
lock (or already finished a short run); it raises :class:`RunConflict` when a
coordinator already runs the workflow and :class:`RunRefused` with the coordinator's own
one-line error when it exited without running (an invalid workflow, say).
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import HybridflowError, LockedError
from ..store.sqlite import Store
from .snapshots import read_version

log = logging.getLogger(__name__)

#: how the service runs the CLI in a child process (no ``__main__`` module is needed)
CLI = [sys.executable, "-c", "from hybridflow.cli import main; main()"]
EXIT_INVALID = 2


class RunConflict(LockedError):
    """The workflow is already being run."""


class RunRefused(HybridflowError):
    """The coordinator exited without running; the message is its own error line."""

    def __init__(self, message: str, *, invalid: bool) -> None:
        super().__init__(message)
        self.invalid = invalid


@dataclass(frozen=True, slots=True)
class RunStarted:
    pid: int
    running: bool  # False when the run already ended by the time we looked
    exit_code: int | None
    log: Path


class Runner:
    """Spawns and reaps coordinator processes for one home."""

    def __init__(self, home: Path, log_dir: Path, *, timeout: float = 15.0) -> None:
        self.home = home
        self.log_dir = log_dir
        self.timeout = timeout
        self._guard = threading.Lock()
        self._starting: set[str] = set()
        self._children: dict[int, subprocess.Popen[bytes]] = {}

    def start(self, store: Store, name: str, *, sequential: bool = False, resume: bool = True) -> RunStarted:
        version = read_version(store, name)
        with self._guard:
            if name in self._starting or version.lock_alive():
                raise RunConflict(f"workflow '{name}' is already running")
            self._starting.add(name)
        try:
            proc, log_path = self._spawn(name, sequential=sequential, resume=resume)
            return self._wait_started(store, name, proc, log_path)
        finally:
            with self._guard:
                self._starting.discard(name)

    def _spawn(self, name: str, *, sequential: bool, resume: bool) -> tuple[subprocess.Popen[bytes], Path]:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.log_dir / f"{name}.log"
        argv = [*CLI, "workflow", "run", name, "--quiet"]
        if sequential:
            argv.append("--sequential")
        if not resume:
            argv.append("--no-resume")
        env = {**os.environ, "HYBRIDFLOW_HOME": str(self.home)}
        with log_path.open("wb") as out:
            proc = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                cwd=self.home, env=env, start_new_session=True, close_fds=True,
            )
        log.info("started coordinator pid %d for workflow %s", proc.pid, name)
        with self._guard:
            self._children[proc.pid] = proc
        threading.Thread(target=self._reap, args=(proc,), name=f"reap-{proc.pid}", daemon=True).start()
        return proc, log_path

    def _reap(self, proc: subprocess.Popen[bytes]) -> None:
        """Wait for the child so it does not linger as a zombie (which would look alive)."""
        code = proc.wait()
        log.info("coordinator pid %d exited with %d", proc.pid, code)
        with self._guard:
            self._children.pop(proc.pid, None)

    def _wait_started(self, store: Store, name: str, proc: subprocess.Popen[bytes], log_path: Path) -> RunStarted:
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            code = proc.poll()
            if code is not None:
                return self._ended(name, proc.pid, code, log_path)
            if read_version(store, name).lock_pid == proc.pid:
                return RunStarted(proc.pid, True, None, log_path)
            time.sleep(0.03)
        log.warning("coordinator pid %d of %s did not take the lock in %.0fs", proc.pid, name, self.timeout)
        return RunStarted(proc.pid, True, None, log_path)

    @staticmethod
    def _ended(name: str, pid: int, code: int, log_path: Path) -> RunStarted:
        error = _error_line(log_path)
        if error:
            if "already being run" in error:
                raise RunConflict(error)
            raise RunRefused(error, invalid=code == EXIT_INVALID)
        return RunStarted(pid, False, code, log_path)

    def stop_all(self, wait: float = 0.0) -> None:
        """Forget children (they are detached and keep running); optionally wait for them."""
        with self._guard:
            children = list(self._children.values())
        for proc in children:
            if wait:
                try:
                    proc.wait(wait)
                except subprocess.TimeoutExpired:
                    log.info("coordinator pid %d still running; leaving it detached", proc.pid)


def _error_line(path: Path) -> str | None:
    """The ``error: ...`` line the CLI printed, if any."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    for line in reversed(text.splitlines()):
        if line.startswith("error:"):
            return line.removeprefix("error:").strip()
    return None
