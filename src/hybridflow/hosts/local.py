"""The ``local`` kind: jobs run as detached process groups on the coordinator's machine.

Each attempt runs the wrapper with ``bash -c`` in its own session, so it survives the
coordinator. The native id is the PID; a restarted coordinator re-attaches to it only if
that process's command line carries the attempt's token (so PID reuse cannot fool it),
and finds an attempt whose PID was never recorded by the token alone. Exits are noticed at once: on Linux through a pidfd registered with the
event loop, elsewhere through a waiting thread; :meth:`Host.notify` then wakes the
scheduler. Logs, exit codes and PIDs are plain files in the run directory.
"""

from __future__ import annotations

import asyncio
import glob as globmod
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import psutil

from ..errors import HostError
from ..states import JobState
from . import staging, wrapper
from .attempt import AttemptFiles, parse_exit, parse_stamped
from .base import Capabilities, Host, HostConfig, Observation, StagedJob, Submission

log = logging.getLogger(__name__)

KILL_GRACE = 5.0


def _pid(native_id: str | None) -> int | None:
    """The PID in a native id (``PID``; older ids carried ``:start-time`` after it)."""
    return int(native_id.partition(":")[0]) if native_id else None


def _carries(pid: int | None, token: str) -> bool:
    """Whether ``pid`` is a live wrapper of the attempt ``token``: its ``bash -c`` text
    holds the token, which a process reusing the PID cannot."""
    if pid is None:
        return False
    try:
        proc = psutil.Process(pid)
        cmdline = proc.cmdline()
        alive = proc.status() != psutil.STATUS_ZOMBIE
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return False
    return alive and len(cmdline) > 2 and token in cmdline[2]


def read_stamped(path: str) -> str:
    """The text of a small attempt file, empty when it does not exist (yet)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read(256)
    except FileNotFoundError:
        return ""


class _Child:
    """A wrapper process started by this coordinator, in its own session."""

    _bash: str | None = None

    def __init__(self, pid: int, popen: subprocess.Popen[bytes] | None = None) -> None:
        self.pid = pid
        self.popen = popen
        self.returncode: int | None = None

    @classmethod
    def spawn(cls, argv: list[str], cwd: str, env: dict[str, str]) -> _Child:
        """Start ``argv`` detached, stdio on /dev/null.

        On POSIX through ``posix_spawn`` (no fork of this process's memory: the cheapest
        way to start many short jobs); elsewhere through :class:`subprocess.Popen`.
        """
        if hasattr(os, "posix_spawn"):
            if cls._bash is None:
                cls._bash = shutil.which("bash") or "/bin/bash"
            actions = [
                (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
                (os.POSIX_SPAWN_DUP2, 1, 2),
            ]
            return cls(os.posix_spawn(cls._bash, argv, env, file_actions=actions, setsid=True))
        popen = subprocess.Popen(
            argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        return cls(popen.pid, popen)

    def poll(self) -> int | None:
        """The exit status once the process ended (reaping it), else None."""
        if self.returncode is None:
            if self.popen is not None:
                self.returncode = self.popen.poll()
            else:
                try:
                    pid, status = os.waitpid(self.pid, os.WNOHANG)
                except ChildProcessError:
                    self.returncode = -1
                else:
                    if pid:
                        self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self) -> None:
        if self.popen is not None:
            self.popen.wait()
        else:
            os.waitpid(self.pid, 0)


class LocalHost(Host):
    """Runs attempts on this machine; one instance serves a whole run."""

    kind = "local"
    capabilities = Capabilities(external=False)
    poll_interval = 1.0  # only used for processes re-attached without a pidfd

    def __init__(self, config: HostConfig, notify: Callable[[], None] | None = None) -> None:
        super().__init__(config, notify)
        self._children: dict[str, _Child] = {}
        self._canceled: set[str] = set()
        self._outputs: dict[str, list[str]] = {}  # token -> stage_out patterns to check
        self._env = dict(os.environ)  # the run's environment, converted once
        self._max_parallel = config.max_parallel or os.cpu_count() or 1
        self._runner = str(Path(wrapper.__file__).parent / "templates" / wrapper.NOTEBOOK_RUNNER)
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def max_parallel(self) -> int:
        return self._max_parallel

    def _payload(self, job: StagedJob) -> tuple[list[str] | str, str | None]:
        venv = str(job.base_dir / Path(job.spec.venv).expanduser()) if job.spec.venv else None
        python = "python" if venv else sys.executable
        script = str(job.base_dir / job.spec.script_path) if job.spec.script_path else None
        return wrapper.payload_argv(job, script, python, self._runner), venv

    async def submit(self, jobs: Sequence[StagedJob]) -> list[Submission]:
        self._loop = asyncio.get_running_loop()
        return [self._start(job) for job in jobs]

    def _start(self, job: StagedJob) -> Submission:
        workdir = job.workdir
        payload, venv = self._payload(job)
        text = wrapper.render(job, payload, workdir=workdir, venv=venv)
        files = AttemptFiles(workdir, job.stem)
        try:
            os.makedirs(workdir, exist_ok=True)  # every attempt: the directory may have been deleted
            for stale in (files.exit, files.pid):  # token-bound anyway; do not leave them about
                try:
                    os.unlink(stale)
                except FileNotFoundError:
                    pass
            # the wrapper text goes on the command line: no file to create, and the token in
            # it lets recover() find the process after a crash
            child = _Child.spawn(["bash", "-c", text, f"hflow-{job.job}"], workdir, self._env)
        except OSError as exc:
            raise HostError(f"job '{job.job}': cannot start: {exc}") from exc
        self._children[job.token] = child
        self._remember_outputs(job)
        self._watch(child.pid, job.token, child)
        return self.submission(job, str(child.pid))

    def _watch(self, pid: int, token: str, child: _Child | None) -> None:
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
                if child is not None:
                    child.poll()
                self.notify()

            loop.add_reader(fd, on_exit)
        elif child is not None:
            def wait() -> None:
                child.wait()
                loop.call_soon_threadsafe(self.notify)

            threading.Thread(target=wait, name=f"wait-{token}", daemon=True).start()

    async def poll(self, subs: Sequence[Submission]) -> dict[str, Observation]:
        return {sub.token: self._observe(sub) for sub in subs}

    def _observe(self, sub: Submission) -> Observation:
        child = self._children.get(sub.token)
        if child is not None:
            if child.poll() is None:
                return Observation(JobState.RUNNING)
        elif _carries(_pid(sub.native_id), sub.token):
            return Observation(JobState.RUNNING)
        self._children.pop(sub.token, None)
        code = parse_exit(read_stamped(AttemptFiles(sub.workdir, sub.stem).exit), sub.token)
        if sub.token in self._canceled:
            return Observation(JobState.CANCELED, code)
        if code is None:
            return Observation(JobState.LOST, None, "process ended without writing an exit code")
        return Observation(JobState.DONE if code == 0 else JobState.FAILED, code)

    async def recover(self, job: StagedJob) -> Submission | None:
        """Find an attempt by its token in the command lines of running processes.

        Returns None (never started) when no process carries the token and no pid or exit
        file carries it either; a submission without native id when such a file exists but
        the process is gone (``poll`` then reads its exit file, or reports it lost). Files of
        another attempt with the same stem are not evidence (:mod:`.attempt`).
        """
        self._loop = asyncio.get_running_loop()
        self._remember_outputs(job)
        for proc in psutil.process_iter(["cmdline"]):
            cmdline = proc.info["cmdline"] or []
            if len(cmdline) > 2 and cmdline[0].endswith("bash") and job.token in cmdline[2]:
                return self.submission(job, str(proc.pid))
        files = AttemptFiles(job.workdir, job.stem)
        if any(parse_stamped(read_stamped(path), job.token) is not None for path in (files.exit, files.pid)):
            return self.submission(job, None)
        return None

    def _remember_outputs(self, job: StagedJob) -> None:
        try:
            outputs = staging.stage_list(job.spec, "stage_out")
        except ValueError:
            outputs = []
        if outputs:
            self._outputs[job.token] = outputs

    async def finish(self, sub: Submission, obs: Observation) -> Observation:
        """A job that succeeded without writing a ``stage_out`` file fails, naming it (as on
        SSH); the files are already in the run directory, nothing is copied."""
        outputs = self._outputs.pop(sub.token, [])
        if obs.state is not JobState.DONE:
            return obs
        for pattern in outputs:
            if not globmod.glob(pattern, root_dir=sub.workdir):
                message = f"stage_out file '{pattern}' missing in {sub.workdir}"
                log.warning("job %s: %s", sub.job, message)
                return Observation(JobState.FAILED, obs.exit_code, message)
        return obs

    def reattach(self, sub: Submission) -> None:
        """Watch an attempt started by an earlier coordinator."""
        self._loop = asyncio.get_running_loop()
        pid = _pid(sub.native_id)
        if pid is not None and _carries(pid, sub.token):
            self._watch(pid, sub.token, None)

    async def cancel(self, subs: Sequence[Submission]) -> None:
        """SIGTERM each attempt's process group, SIGKILL what is left after a grace period.

        Returns once the groups are gone (or killed), with this coordinator's own children
        reaped, so that nothing of a canceled job outlives the call.
        """
        groups: dict[int, _Child | None] = {}
        for sub in subs:
            self._canceled.add(sub.token)
            child = self._children.get(sub.token)
            pid = _pid(sub.native_id)
            if child is not None and child.poll() is None:
                groups[child.pid] = child
            elif pid is not None and _carries(pid, sub.token):
                groups[pid] = None
        for pid in groups:
            self._signal_group(pid, signal.SIGTERM)
        deadline = time.monotonic() + KILL_GRACE
        while groups and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
            groups = {pid: child for pid, child in groups.items() if self._group_alive(pid, child)}
        for pid, child in groups.items():
            log.warning("process group %d ignored SIGTERM; killing it", pid)
            self._signal_group(pid, getattr(signal, "SIGKILL", signal.SIGTERM))
            if child is not None:
                child.wait()

    @staticmethod
    def _group_alive(pid: int, child: _Child | None) -> bool:
        if child is not None:
            child.poll()  # reap the leader, so that a zombie does not count
        if os.name != "posix":
            return psutil.pid_exists(pid)
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

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

    async def close(self) -> None:
        """Reap children that ended; the running ones keep running (and are re-attached later)."""
        for child in self._children.values():
            child.poll()

    async def read_log(self, sub: Submission, offset: int, limit: int = 1 << 20) -> tuple[bytes, int]:
        path = AttemptFiles(sub.workdir, sub.stem).log
        try:
            with open(path, "rb") as handle:
                handle.seek(offset)
                data = handle.read(limit)
        except FileNotFoundError:
            return b"", offset
        return data, offset + len(data)
