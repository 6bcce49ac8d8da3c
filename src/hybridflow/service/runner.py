"""Starting runs: each as a detached coordinator process, through the CLI's own entry point.

A run started by the service is :func:`hybridflow.coordinator.run` of a
:class:`~hybridflow.coordinator.RunRequest` (the type ``hflow workflow run`` builds),
passed as JSON to ``hybridflow.coordinator.main`` in a child process in its own session
(``start_new_session``), so it survives the service, takes the workflow's lock in the
store and obeys cancel requests like any other coordinator: the CLI sees the service's
runs and the service the CLI's. Its output goes to ``service/runs/NAME.log`` in the home.

Contract of :meth:`Runner.start`: the request is checked against the store first
(:func:`~hybridflow.coordinator.check`: an unknown workflow or job raises before anything
starts); it returns once the coordinator holds the workflow's lock (or already finished a
short run); it raises :class:`RunConflict` when a coordinator already runs the workflow
(or the child exits :attr:`ExitCode.BUSY`) and :class:`RunRefused` with the child's own
one-line error when it exited without running (:attr:`ExitCode.USAGE`: an invalid
workflow, say). Exit codes are :class:`~hybridflow.coordinator.ExitCode`, shared with the CLI.
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

from ..coordinator import ExitCode, RunRequest, check
from ..errors import HybridflowError, LockedError
from ..store.sqlite import STARTED_BY_ENV, Store
from .snapshots import read_version

log = logging.getLogger(__name__)

#: how the service runs the coordinator in a child process (no ``__main__`` module is needed)
COORDINATOR = [sys.executable, "-c", "from hybridflow.coordinator import main; main()"]


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

    def start(self, store: Store, request: RunRequest) -> RunStarted:
        """Start a coordinator for ``request`` (the contract is in the module's docstring)."""
        name = request.workflow
        check(request, store)
        version = read_version(store, name)
        with self._guard:
            if name in self._starting or version.lock_alive():
                raise RunConflict(f"workflow '{name}' is already running")
            self._starting.add(name)
        try:
            proc, log_path = self._spawn(request)
            return self._wait_started(store, name, proc, log_path)
        finally:
            with self._guard:
                self._starting.discard(name)

    def _spawn(self, request: RunRequest) -> tuple[subprocess.Popen[bytes], Path]:
        name = request.workflow
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.log_dir / f"{name}.log"
        argv = [*COORDINATOR, request.to_json()]
        env = {**os.environ, "HYBRIDFLOW_HOME": str(self.home), STARTED_BY_ENV: "service"}
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
        """A child that exited before we saw it take the lock: refused, or a short run.

        BUSY and USAGE are refusals by their code; FAILED shares its code with ERROR
        (a refusal such as a deleted workflow), told apart by the ``error:`` line only the
        refusal prints.
        """
        error = _error_line(log_path)
        if code == ExitCode.BUSY:
            raise RunConflict(error or f"workflow '{name}' is already running")
        if code == ExitCode.USAGE:
            raise RunRefused(error or f"workflow '{name}': the coordinator refused the run", invalid=True)
        if code == ExitCode.ERROR and error:
            raise RunRefused(error, invalid=False)
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
    """The ``error: ...`` line the coordinator printed, if any."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    for line in reversed(text.splitlines()):
        if line.startswith("error:"):
            return line.removeprefix("error:").strip()
    return None
