"""A :class:`Future`: a handle on one stored call (a job of a stored workflow).

Everything a Future knows comes from the state database, so one made by
:meth:`Future.attach` in another process, or after the caller crashed, is the same as the
one :meth:`~.remote.RemoteFunction.submit` returned: nothing is submitted again.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path, PurePosixPath
from typing import Any

from .. import config
from ..errors import NotFoundError, SpecError
from ..hosts.attempt import AttemptFiles
from ..snapshot import WorkflowView
from ..states import JobState
from ..store.sqlite import Store
from . import driver, results

_local = threading.local()


def _store(path: Path) -> Store:
    """This thread's connection to the database at ``path`` (one per thread, reused)."""
    stores: dict[str, Store] = _local.__dict__.setdefault("stores", {})
    found = stores.get(str(path))
    if found is None:
        found = stores[str(path)] = Store(path)
    return found


class Future:
    """The call ``job`` of workflow ``workflow``; :attr:`id` names it for :meth:`attach`."""

    def __init__(self, workflow: str, job: str, *, db_path: Path | None = None) -> None:
        self.workflow = workflow
        self.job = job
        self.db_path = db_path or config.database_path()

    @property
    def id(self) -> str:
        """``WORKFLOW`` for a single call, ``WORKFLOW:JOB`` for one call of a map."""
        return self.workflow if self.workflow.startswith("call-") else f"{self.workflow}:{self.job}"

    @classmethod
    def attach(cls, id: str, *, db_path: Path | None = None) -> Future:
        """The call named ``id`` (see :attr:`id`); NotFoundError when there is none."""
        if not isinstance(id, str) or not id:
            raise SpecError("a call id is a string such as 'call-1a2b3c4d5e6f'")
        workflow, _, job = id.partition(":")
        path = db_path or config.database_path()
        store = _store(path)
        if not store.exists(workflow):
            raise NotFoundError(f"no call '{id}' in {path}")
        jobs = store.spec(workflow).jobs
        if not job:
            if len(jobs) != 1:
                raise NotFoundError(f"'{id}' holds {len(jobs)} calls: name one as '{workflow}:JOB'")
            job = next(iter(jobs))
        if job not in jobs:
            raise NotFoundError(f"no call '{job}' in '{workflow}'")
        return cls(workflow, job, db_path=path)

    # -- looking -------------------------------------------------------------------------

    def _view(self) -> WorkflowView:
        return _store(self.db_path).view(self.workflow)

    @property
    def state(self) -> JobState:
        return self._view().jobs[self.job].state

    @property
    def progress(self) -> int:
        """Percent the function last reported with ``hybridflow.progress()``."""
        return self._view().jobs[self.job].progress

    def done(self) -> bool:
        return self.state.is_terminal

    def log(self) -> str:
        """The call's output so far (stdout and stderr of its latest attempt)."""
        view = self._view()
        attempt = view.attempts.get(self.job)
        if attempt is None:
            return ""
        path = AttemptFiles(attempt.workdir, attempt.stem).log
        if view.spec.jobs[self.job].kind == "local":
            file = Path(path)
            data: bytes | None = file.read_bytes() if file.is_file() else None
        else:
            data = driver.run_sync(results.read_on_host(view, self.job, str(PurePosixPath(path))), timeout=300)
        return (data or b"").decode("utf-8", "replace")

    def __repr__(self) -> str:
        return f"Future({self.id!r}, state={self.state.value})"

    # -- waiting ---------------------------------------------------------------------------

    def _run_dir(self, view: WorkflowView) -> Path:
        return Path(view.spec.base_dir)

    def drive(self) -> None:
        """Make the call progress: run its workflow in a thread of this process, unless a
        live coordinator (this process or another) already does."""
        view = self._view()
        if view.jobs[self.job].state.is_terminal:
            return
        ran = driver.current(self.db_path, self.workflow)
        if ran is not None and ran.is_alive():
            return
        driver.ensure(self.db_path, self.workflow, self._run_dir(view))

    def wait(self, timeout: float | None = None) -> WorkflowView:
        """Wait until the call finished; its workflow's view then. TimeoutError after
        ``timeout`` seconds (the call goes on)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        pause = 0.01
        retry_drive = 0.0
        while True:
            view = self._view()
            if view.jobs[self.job].state.is_terminal:
                return view
            now = time.monotonic()
            if now >= retry_drive:  # a coordinator that died: take over (at most once a second)
                self.drive()
                retry_drive = now + 1.0
                ran = driver.current(self.db_path, self.workflow)
                if ran is not None and ran.error is not None and not ran.is_alive():
                    raise results.CallError(f"call {self.id} cannot run: {ran.error}")
            if deadline is not None and now >= deadline:
                raise TimeoutError(f"call {self.id} not finished after {timeout:g}s (state {view.jobs[self.job].state.value})")
            time.sleep(pause if deadline is None else max(0.0, min(pause, deadline - now)))
            pause = min(pause * 1.5, 0.25)

    def result(self, timeout: float | None = None) -> Any:
        """The function's return value; its exception re-raised (remote traceback in its
        notes); :class:`~.results.CallError` when it could not run;
        :class:`~.results.RemoteResult` for a value left on the host (over the limit)."""
        view = self.wait(timeout)
        return results.outcome(view, self.job, self.id)

    def exception(self, timeout: float | None = None) -> BaseException | None:
        """The exception :meth:`result` would raise, or None."""
        try:
            self.result(timeout)
        except TimeoutError:
            raise
        except Exception as exc:  # what the call raised (any type: it is the user's)
            return exc
        return None

    def cancel(self) -> bool:
        """Cancel this call only (the other calls of its map go on, a function node's
        dependants are skipped); False when it had already finished. Works after a crash of
        the caller too: the run is resumed, cancels this call first and carries on."""
        view = self._view()
        if view.jobs[self.job].state.is_terminal:
            return False
        store = _store(self.db_path)
        if not store.request_cancel_jobs(self.workflow, [self.job]):
            driver.ensure(self.db_path, self.workflow, self._run_dir(view))
        return True
