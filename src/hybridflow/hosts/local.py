"""The ``local`` kind: jobs run as detached process groups on the coordinator's machine.

Each attempt runs the wrapper with bash in its own session, so it survives the
coordinator (a restarted coordinator re-attaches by PID, checking the process start time
against PID reuse). Exits are noticed at once: on Linux through a pidfd registered with the
event loop, elsewhere through a waiting thread; :meth:`Host.notify` then wakes the
scheduler. Logs, exit codes and PIDs are plain files in the run directory.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import psutil

from ..errors import HostError
from ..states import JobState
from . import wrapper
from .base import Host, HostConfig, Observation, StagedJob, Submission

log = logging.getLogger(__name__)

KILL_GRACE = 5.0


def _native_id(pid: int, ctime: float) -> str:
    return f"{pid}:{ctime:.3f}"


def _parse_native(native_id: str | None) -> tuple[int, float] | None:
    if not native_id:
        return None
    pid, _, ctime = native_id.partition(":")
    return int(pid), float(ctime)


def _same_process(pid: int, ctime: float) -> psutil.Process | None:
    """The live process ``pid`` if it is the one started at ``ctime`` (PID reuse guard)."""
    try:
        proc = psutil.Process(pid)
        if abs(proc.create_time() - ctime) > 1.0 or proc.status() == psutil.STATUS_ZOMBIE:
            return None
        return proc
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None


def read_exit(path: Path) -> int | None:
    try:
        return wrapper.parse_exit(path.read_text())
    except FileNotFoundError:
        return None


class LocalHost(Host):
    """Runs attempts on this machine; one instance serves a whole run."""

    kind = "local"
    poll_interval = 1.0  # only used for processes re-attached without a pidfd

    def __init__(self, config: HostConfig, notify: Callable[[], None] | None = None) -> None:
        super().__init__(config, notify)
        self._children: dict[str, subprocess.Popen[bytes]] = {}
        self._canceled: set[str] = set()
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def max_parallel(self) -> int:
        return self.config.max_parallel or os.cpu_count() or 1

    def _payload(self, job: StagedJob) -> tuple[list[str] | str, str | None]:
        venv = str(job.base_dir / Path(job.spec.venv).expanduser()) if job.spec.venv else None
        python = "python" if venv else sys.executable
        script = str(job.base_dir / job.spec.script_path) if job.spec.script else None
        runner = str(Path(wrapper.__file__).parent / "templates" / wrapper.NOTEBOOK_RUNNER)
        return wrapper.payload_argv(job, script, python, runner), venv

    async def submit(self, jobs: Sequence[StagedJob]) -> list[Submission]:
        self._loop = asyncio.get_running_loop()
        return [self._start(job) for job in jobs]

    def _start(self, job: StagedJob) -> Submission:
        workdir = Path(job.workdir)
        payload, venv = self._payload(job)
        text = wrapper.render(job, payload, workdir=str(workdir), venv=venv)
        script = workdir / f"{job.stem}.hflow.sh"
        try:
            workdir.mkdir(parents=True, exist_ok=True)
            (workdir / f"{job.stem}.exit").unlink(missing_ok=True)
            script.write_text(text, encoding="utf-8")
            proc = subprocess.Popen(
                ["bash", str(script)],
                cwd=workdir,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        except OSError as exc:
            raise HostError(f"job '{job.job}': cannot start: {exc}") from exc
        self._children[job.token] = proc
        self._watch(proc.pid, job.token, proc)
        ctime = psutil.Process(proc.pid).create_time() if psutil.pid_exists(proc.pid) else 0.0
        return Submission(job.job, job.attempt, job.token, self.name, _native_id(proc.pid, ctime), job.workdir, job.stem)

    def _watch(self, pid: int, token: str, proc: subprocess.Popen[bytes] | None) -> None:
        """Call :attr:`notify` when ``pid`` exits, without polling."""
        loop = self._loop
        assert loop is not None
        if hasattr(os, "pidfd_open"):
            try:
                fd = os.pidfd_open(pid)
            except ProcessLookupError:
                self.notify()
                return

            def on_exit() -> None:
                loop.remove_reader(fd)
                os.close(fd)
                if proc is not None:
                    proc.poll()
                self.notify()

            loop.add_reader(fd, on_exit)
        elif proc is not None:
            def wait() -> None:
                proc.wait()
                loop.call_soon_threadsafe(self.notify)

            threading.Thread(target=wait, name=f"wait-{token}", daemon=True).start()

    async def poll(self, subs: Sequence[Submission]) -> dict[str, Observation]:
        return {sub.token: self._observe(sub) for sub in subs}

    def _observe(self, sub: Submission) -> Observation:
        proc = self._children.get(sub.token)
        if proc is not None:
            if proc.poll() is None:
                return Observation(JobState.RUNNING)
        else:
            ident = _parse_native(sub.native_id)
            if ident and _same_process(*ident):
                return Observation(JobState.RUNNING)
        self._children.pop(sub.token, None)
        code = read_exit(Path(sub.workdir) / f"{sub.stem}.exit")
        if sub.token in self._canceled:
            return Observation(JobState.CANCELED, code)
        if code is None:
            return Observation(JobState.LOST, None, "process ended without writing an exit code")
        return Observation(JobState.DONE if code == 0 else JobState.FAILED, code)

    async def recover(self, job: StagedJob) -> Submission | None:
        """Find an attempt by its PID file: started iff the wrapper wrote it."""
        self._loop = asyncio.get_running_loop()
        workdir = Path(job.workdir)
        pidfile = workdir / f"{job.stem}.pid"
        try:
            pid = int(pidfile.read_text().strip())
            written = pidfile.stat().st_mtime
        except (FileNotFoundError, ValueError):
            return None
        native = None
        try:
            ctime = psutil.Process(pid).create_time()
            if ctime <= written + 1.0 and written - ctime < 60:
                native = _native_id(pid, ctime)
        except psutil.NoSuchProcess:
            pass
        return Submission(job.job, job.attempt, job.token, self.name, native, job.workdir, job.stem)

    def reattach(self, sub: Submission) -> None:
        """Watch an attempt started by an earlier coordinator."""
        self._loop = asyncio.get_running_loop()
        ident = _parse_native(sub.native_id)
        if ident and _same_process(*ident):
            self._watch(ident[0], sub.token, None)

    async def cancel(self, subs: Sequence[Submission]) -> None:
        pids: list[int] = []
        for sub in subs:
            self._canceled.add(sub.token)
            proc = self._children.get(sub.token)
            ident = _parse_native(sub.native_id)
            if proc is not None and proc.poll() is None:
                pids.append(proc.pid)
            elif ident and _same_process(*ident):
                pids.append(ident[0])
        for pid in pids:
            self._signal_group(pid, signal.SIGTERM)
        if pids:
            asyncio.get_running_loop().call_later(KILL_GRACE, self._kill_leftovers, pids)

    def _kill_leftovers(self, pids: list[int]) -> None:
        for pid in pids:
            if psutil.pid_exists(pid):
                self._signal_group(pid, getattr(signal, "SIGKILL", signal.SIGTERM))

    @staticmethod
    def _signal_group(pid: int, sig: int) -> None:
        """Signal the attempt's whole process group (its session, on POSIX)."""
        try:
            if os.name == "posix":
                os.killpg(pid, sig)
            else:
                parent = psutil.Process(pid)
                for proc in [*parent.children(recursive=True), parent]:
                    proc.terminate()
        except (ProcessLookupError, psutil.NoSuchProcess):
            log.debug("process group %d already gone", pid)

    async def read_log(self, sub: Submission, offset: int, limit: int = 1 << 20) -> tuple[bytes, int]:
        path = Path(sub.workdir) / f"{sub.stem}.log"
        try:
            with path.open("rb") as handle:
                handle.seek(offset)
                data = handle.read(limit)
        except FileNotFoundError:
            return b"", offset
        return data, offset + len(data)
