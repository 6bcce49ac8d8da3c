"""The ``local`` kind: jobs run as detached process groups on the coordinator's machine.

Attempts are started by a :class:`~hybridflow.hosts.launcher.Launcher` (one long-lived
``bash`` forking a subshell per job, each in its own process group), so they survive the
coordinator. The native id is ``PID:STAMP``, STAMP being the start stamp of the process
(:mod:`hybridflow.processes`). Exits are noticed at once: the attempt itself
reports on the launcher's pipe after writing its exit file, and on Linux a pidfd also
catches an attempt killed before it could; :meth:`Host.notify` then wakes the engine.
Jobs run in the workflow's folder (as make and Snakemake do), so the user's files beside
the workflow are theirs to use and their outputs land there. Logs, exit codes and PIDs are
plain files in the run directory (:mod:`.attempt`); a restarted coordinator finds an
attempt by its token in them, and re-attaches to a PID only if it is still the process
that started (its stamp; for an attempt known only from its pid file, a process that
existed when that file was written), so PID reuse cannot fool it, nor a stepped clock.

An attempt that a pidfd watches runs until the pidfd fires; psutil (about 8 ms of a short
run's start-up) is imported only when a process must be looked at: an attempt re-attached,
or polled where there is no pidfd (not Linux), or canceled.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shlex
import shutil
import signal
import stat
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from ..errors import HostError
from ..files import read_small
from ..processes import same_process, start_stamp
from ..states import JobState
from . import wrapper
from .attempt import AttemptFiles, parse_exit, parse_stamped
from .base import Capabilities, Host, HostConfig, Observation, StagedJob, Submission
from .launcher import Launcher
from .outputs import check_outputs

log = logging.getLogger(__name__)

KILL_GRACE = 5.0


def _pid(native_id: str | None) -> int | None:
    """The PID in a native id (``PID:STAMP``, or ``PID``)."""
    return int(native_id.partition(":")[0]) if native_id else None


def _stamp(native_id: str | None) -> float | None:
    """The start stamp in a native id (:mod:`hybridflow.processes`; older versions stored a
    wall-clock start there, which :func:`~hybridflow.processes.same_process` reads too)."""
    try:
        return float(native_id.partition(":")[2]) if native_id and ":" in native_id else None
    except ValueError:
        return None


def _group(pgid: int) -> list[int]:
    """Live (non-zombie) processes of a process group."""
    import psutil

    found = []
    for proc in psutil.process_iter(["status"]):
        try:
            if proc.info["status"] != psutil.STATUS_ZOMBIE and os.getpgid(proc.pid) == pgid:
                found.append(proc.pid)
        except (ProcessLookupError, psutil.Error):
            continue
    return found


def read_stamped(path: str) -> str:
    """The text of a small attempt file, empty when it does not exist (yet)."""
    return read_small(path) or ""


class LocalHost(Host):
    """Runs attempts on this machine; one instance serves a whole run."""

    kind = "local"
    capabilities = Capabilities(external=False)
    poll_interval = 1.0  # only used for processes re-attached without a pidfd

    def __init__(self, config: HostConfig, notify: Callable[[], None] | None = None) -> None:
        super().__init__(config, notify)
        self._launched: set[str] = set()  # tokens this instance started (their PIDs are theirs)
        self._canceled: set[str] = set()
        self._exited: set[str] = set()  # attempts whose end was reported (one wake-up each)
        self._watched: set[str] = set()  # attempts a pidfd watches: running until it fires
        self._outputs: dict[str, tuple[Path, list[str]]] = {}  # token -> (folder, stage_out patterns to check)
        self._launcher = Launcher(os.environ, self._ended, shutil.which("bash") or "bash")
        self._max_parallel = config.max_parallel or os.cpu_count() or 1
        self._runner = str(Path(wrapper.__file__).parent / "templates" / wrapper.NOTEBOOK_RUNNER)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._resolved: dict[Path, str] = {}  # a workflow's folder, resolved once per run

    def _ended(self, token: str) -> None:
        """An attempt's own report or its pidfd: wake the engine once per attempt."""
        if token not in self._exited:
            self._exited.add(token)
            self.notify()

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
        items = [(job.token, self._wrapper(job)) for job in jobs]
        pids = await self._launcher.launch(items)
        subs = []
        for job, pid in zip(jobs, pids):
            self._launched.add(job.token)
            self._remember_outputs(job)
            self._watch(pid, job.token)
            stamp = start_stamp(pid)  # None: it has ended already (its exit file tells)
            subs.append(self.submission(job, str(pid) if stamp is None else f"{pid}:{stamp:.2f}"))
        return subs

    def _wrapper(self, job: StagedJob) -> str:
        """The attempt's wrapper text, its directory made and stale files removed."""
        payload, venv = self._payload(job)
        files = AttemptFiles(job.workdir, job.stem)
        try:
            os.makedirs(job.workdir, exist_ok=True)  # every attempt: the directory may have been deleted
            for stale in (files.exit, files.pid):  # token-bound anyway; do not leave them about
                try:
                    os.unlink(stale)
                except FileNotFoundError:
                    pass
        except OSError as exc:
            raise HostError(f"job '{job.job}': cannot prepare {job.workdir}: {exc.strerror}") from exc
        footer = f"builtin printf 'ended %s\\n' {shlex.quote(job.token)} 2>/dev/null >&3"
        cwd = self._resolved.get(job.base_dir)
        if cwd is None:
            cwd = self._resolved[job.base_dir] = str(job.base_dir.resolve())
        return wrapper.render(job, payload, workdir=os.path.abspath(job.workdir), cwd=cwd, venv=venv, footer=footer)

    def _watch(self, pid: int, token: str) -> None:
        """Report the end of ``pid`` even when it was killed (Linux: a pidfd)."""
        loop = self._loop
        if loop is None or not hasattr(os, "pidfd_open"):
            return  # the attempt's own "ended" line, or polling
        try:
            fd = os.pidfd_open(pid)
        except ProcessLookupError:
            self._ended(token)
            return

        def on_exit() -> None:
            loop.remove_reader(fd)
            os.close(fd)
            self._watched.discard(token)
            self._ended(token)

        loop.add_reader(fd, on_exit)
        self._watched.add(token)

    def _alive(self, sub: Submission) -> bool:
        """Whether the attempt's process runs: its PID is alive and really the attempt's."""
        pid = _pid(sub.native_id)
        if pid is None:
            return False
        import psutil

        try:
            proc = psutil.Process(pid)
            if proc.status() == psutil.STATUS_ZOMBIE:
                return False
            if sub.token in self._launched:
                return True
            created = proc.create_time()
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            return False
        pid_file = AttemptFiles(sub.workdir, sub.stem).pid
        if parse_stamped(read_stamped(pid_file), sub.token) != str(pid):
            return False
        stamp = _stamp(sub.native_id)
        if stamp is not None:  # taken when it started; a stepped clock moves neither it nor the check
            return same_process(pid, stamp)
        try:  # no stamp (found by its pid file): a process that reuses the PID was created after it was written
            return created <= os.stat(pid_file).st_mtime + 1.0
        except FileNotFoundError:
            return False

    async def poll(self, subs: Sequence[Submission]) -> dict[str, Observation]:
        return {sub.token: self._observe(sub) for sub in subs}

    def _observe(self, sub: Submission) -> Observation:
        exit_file = AttemptFiles(sub.workdir, sub.stem).exit
        code = parse_exit(read_stamped(exit_file), sub.token)
        if code is None:
            if sub.token in self._watched or self._alive(sub):
                return Observation(JobState.RUNNING)
            code = parse_exit(read_stamped(exit_file), sub.token)  # it may have ended just now
        if sub.token in self._canceled:
            return Observation(JobState.CANCELED, code)
        if code is None:
            return Observation(JobState.LOST, None, "process ended without writing an exit code")
        return Observation(JobState.DONE if code == 0 else JobState.FAILED, code)

    async def recover(self, job: StagedJob) -> Submission | None:
        """Find an attempt by its token in its pid and exit files.

        Returns None (never started) when neither carries the token; otherwise its
        submission (``poll`` then tells whether it runs, ended, or was lost). Files of
        another attempt with the same stem are not evidence (:mod:`.attempt`). An attempt
        handed to the launcher writes its pid file within a fork, long before a restarted
        coordinator asks.
        """
        self._loop = asyncio.get_running_loop()
        self._remember_outputs(job)
        files = AttemptFiles(job.workdir, job.stem)
        pid = parse_stamped(read_stamped(files.pid), job.token)
        if pid is not None or parse_exit(read_stamped(files.exit), job.token) is not None:
            return self.submission(job, pid)
        return None

    def _remember_outputs(self, job: StagedJob) -> None:
        if job.spec.stage_out:
            self._outputs[job.token] = (job.base_dir, list(job.spec.stage_out))

    async def finish(self, sub: Submission, obs: Observation) -> Observation:
        """A job that succeeded without writing a ``stage_out`` file fails, naming it (as on
        SSH); the files are already in the workflow's folder, nothing is copied."""
        folder, outputs = self._outputs.pop(sub.token, (Path(), []))
        return check_outputs(outputs, sub, folder, obs)

    def reattach(self, sub: Submission) -> None:
        """Watch an attempt started by an earlier coordinator."""
        self._loop = asyncio.get_running_loop()
        pid = _pid(sub.native_id)
        if pid is not None and self._alive(sub):
            self._watch(pid, sub.token)

    async def cancel(self, subs: Sequence[Submission]) -> None:
        """SIGTERM each attempt's process group, SIGKILL what is left after a grace period.

        Returns once the groups are gone (or killed), so that nothing of a canceled job
        outlives the call — except a process that left the group (``setsid``): see README.
        """
        groups: list[int] = []
        for sub in subs:
            self._canceled.add(sub.token)
            pid = _pid(sub.native_id)
            if pid is not None and self._alive(sub):
                groups.append(pid)
        for pid in groups:
            self._signal_group(pid, signal.SIGTERM)
        deadline = time.monotonic() + KILL_GRACE
        while groups and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
            groups = [pid for pid in groups if self._group_alive(pid)]
        for pid in groups:
            log.warning("process group %d ignored SIGTERM; killing it", pid)
            self._signal_group(pid, getattr(signal, "SIGKILL", signal.SIGTERM))

    @staticmethod
    def _group_alive(pid: int) -> bool:
        import psutil

        if os.name != "posix":
            return psutil.pid_exists(pid)
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        try:  # only a zombie leader left (its launcher has not reaped it yet)
            return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE or len(_group(pid)) > 1
        except psutil.NoSuchProcess:
            return bool(_group(pid))

    @staticmethod
    def _signal_group(pid: int, sig: int) -> None:
        """Signal the attempt's whole process group (its session, on POSIX)."""
        import psutil

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
        """End the launcher; running attempts keep running (and are re-attached later)."""
        await self._launcher.close()

    async def read_log(self, sub: Submission, offset: int, limit: int = 1 << 20) -> tuple[bytes, int]:
        """Bytes of the attempt's log; a log replaced by a link or a FIFO reads as empty
        (never follows it out of the run directory, never blocks the engine)."""
        path = AttemptFiles(sub.workdir, sub.stem).log
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
        try:
            fd = os.open(path, flags)
        except FileNotFoundError:
            return b"", offset
        except OSError as exc:  # ELOOP: a symbolic link
            log.warning("job %s: log %s not read: %s", sub.job, path, exc.strerror)
            return b"", offset
        with os.fdopen(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                log.warning("job %s: log %s is not a regular file; not read", sub.job, path)
                return b"", offset
            handle.seek(offset)
            data = handle.read(limit)
        return data, offset + len(data)
