"""Calls of published services: each one a stored run, driven by a detached coordinator.

:meth:`Calls.start` validates the body against the service's model (:mod:`.signature`),
records the call's workflow in the state database (``call-ID``: for a function, one
function node whose bundle and arguments lie in ``$HYBRIDFLOW_HOME/calls/ID/``; for a
workflow, the file loaded with the body's parameter values) and the call in the services
database, then has a detached coordinator drive it (:mod:`.batchrun`: calls started
together share one process; its own session, so it outlives the service). Recorded before
submission, re-attached by token, never submitted twice: the function machinery's
guarantees are the engine's.

:meth:`Calls.read` answers from the store; a call that is not finished and whose
coordinator is gone (the service or the machine restarted before it ran, or it was
killed) gets a coordinator again, which resumes it. A finished call's answer is kept in
the services database. Calls older than the retention are removed with their files,
here and their run directories on remote hosts (:meth:`Calls.expire`).
"""

from __future__ import annotations

import logging
import secrets
import shutil
import threading
import time
from pathlib import Path, PurePosixPath
from typing import Any

from pydantic_core import to_jsonable_python

from .. import callnodes, config
from ..errors import HostError, HybridflowError, NotFoundError, StateError
from ..functions import driver, results
from ..functions.future import Future
from ..functions.remote import RemoteFunction
from ..hosts.shell import release_shell, shell_for
from ..load import build
from ..snapshot import WorkflowView
from ..spec import JobSpec
from ..states import JobState, WorkflowState
from ..store.sqlite import Store
from . import signature
from .batchrun import Launcher
from .callschemas import CallOut
from .publish import Registry, Service, apply_parameters, read_document
from .runner import Runner
from .servicedb import CallRow, ServiceDB
from .snapshots import read_version

log = logging.getLogger(__name__)

DEFAULT_RETENTION = 7 * 86400.0
#: seconds between two attempts to give an orphaned call a coordinator
RELAUNCH_GAP = 5.0
#: seconds a new call's coordinator may take to take its lock before the call counts as orphaned
FIRST_START = 20.0
#: seconds after a launch before a call whose coordinator died is launched again
DIED_GAP = 2.0
LOG_TAIL = 64 * 1024
_STATES = {
    JobState.READY: "waiting", JobState.SUBMITTED: "waiting", JobState.PENDING: "waiting",
    JobState.RUNNING: "running", JobState.UNKNOWN: "running", JobState.RETRYING: "running",
    JobState.DONE: "done", JobState.FAILED: "failed", JobState.TIMEOUT: "failed", JobState.SKIPPED: "failed",
    JobState.CANCELED: "canceled", JobState.LOST: "lost",
}
_RUN_STATES = {WorkflowState.DEFINED: "waiting", WorkflowState.RUNNING: "running", WorkflowState.INTERRUPTED: "running",
               WorkflowState.HANDED_OFF: "running", WorkflowState.DONE: "done", WorkflowState.FAILED: "failed",
               WorkflowState.CANCELED: "canceled"}


class Calls:
    """Starting, reading and expiring the calls of one home's services."""

    def __init__(self, home: Path, db: ServiceDB, registry: Registry, runner: Runner,
                 retention: float | None = None) -> None:
        self.home = home
        self.db = db
        self.registry = registry
        self.runner = runner
        self._retention = retention
        self._launched: dict[str, float] = {}  # call -> when this service last had it driven
        self._fresh: set[str] = set()  # calls started here whose coordinator was not seen yet
        self._guard = threading.Lock()
        self._last_expiry = 0.0
        self.launcher = Launcher(home, runner.log_dir)

    @property
    def retention(self) -> float:
        if self._retention is not None:
            return self._retention
        stored = self.db.meta("retention")
        return float(stored) if stored else DEFAULT_RETENTION

    def folder(self, call_id: str) -> Path:
        return self.home / "calls" / call_id

    # -- starting ----------------------------------------------------------------------------

    def start(self, store: Store, service: Service, body: bytes, user: str) -> CallRow:
        """Validate ``body``, record the call and start it (see the module's contract)."""
        kwargs = signature.validate(service.model, body)
        call_id = f"call-{secrets.token_hex(6)}"
        folder = self.folder(call_id)
        folder.mkdir(parents=True, exist_ok=True)
        try:
            if service.function is not None:
                options = dict(service.row.options)
                host, kind = options.pop("host", None), options.pop("kind", None)
                spec = RemoteFunction(service.function, host=host, kind=kind, **options).workflow(
                    call_id, folder, [((), kwargs)])
            else:
                doc = apply_parameters(read_document(Path(service.row.target)), service, to_jsonable_python(kwargs))
                spec = build(doc, name=call_id, file=service.row.target, base_dir=str(Path(service.row.target).parent))
            store.save(spec)  # recorded before anything is submitted
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        row = self.db.add_call(call_id, service.name, user)
        with self._guard:
            self._launched[call_id] = time.monotonic()
            self._fresh.add(call_id)
        self.launcher.launch(call_id, folder)
        self.expire(store)
        return row

    def _relaunch_if_orphaned(self, store: Store, call_id: str) -> None:
        """Have an unfinished call that nobody drives driven again: one whose coordinator
        died holding its lock (after :data:`DIED_GAP` s), or that no coordinator took up
        (:data:`FIRST_START` s after it was started by this service, at once after a
        restart of the service); at most every :data:`RELAUNCH_GAP` s otherwise."""
        version = read_version(store, call_id)
        now = time.monotonic()
        with self._guard:
            if version.lock_alive():
                self._fresh.discard(call_id)
                return
            died = version.lock_pid is not None
            if died:
                self._fresh.discard(call_id)
            gap = DIED_GAP if died else FIRST_START if call_id in self._fresh else RELAUNCH_GAP
            if now - self._launched.get(call_id, -1e9) < gap:
                return
            self._launched[call_id] = now
        log.info("call %s: no coordinator drives it; resuming it", call_id)
        self.launcher.launch(call_id, self.folder(call_id))

    # -- reading -----------------------------------------------------------------------------

    def row(self, call_id: str) -> CallRow:
        row = self.db.call(call_id)
        if row is None:
            raise NotFoundError(f"no call '{call_id}'")
        return row

    def read(self, store: Store, row: CallRow, *, with_log: bool = False) -> CallOut:
        """The call's current answer (its outcome once it ended)."""
        if row.outcome is not None and not with_log:
            return CallOut.model_validate(row.outcome)
        if not store.exists(row.id):
            return self._answer(row, "lost", 0, error="the call's run was removed")
        view = store.view(row.id)
        function = self._is_function(row, view)
        if function:
            job = next(iter(view.spec.jobs))
            state, progress = _STATES[view.jobs[job].state], view.jobs[job].progress
            finished = view.jobs[job].state.is_terminal
        else:
            state = _RUN_STATES[view.state]
            progress = round(sum(j.progress for j in view.jobs.values()) / max(1, len(view.jobs)))
            finished = view.state in (WorkflowState.DONE, WorkflowState.FAILED, WorkflowState.CANCELED) \
                and view.running_pid is None
            if not finished and state not in ("waiting", "running"):
                state = "running"  # its end is written, its coordinator not gone: no outcome yet
        if finished:
            with self._guard:
                self._launched.pop(row.id, None)
                self._fresh.discard(row.id)
        else:
            self._relaunch_if_orphaned(store, row.id)
        if not finished:
            answer = self._answer(row, state, progress)
        elif row.outcome is not None:
            answer = CallOut.model_validate(row.outcome)
        else:
            answer = self._outcome(view, row, state, progress, function=function)
            self.db.set_outcome(row.id, answer.model_dump(mode="json"))
        if with_log:
            answer = answer.model_copy(update={"log": self.log(view)})
        return answer

    def _is_function(self, row: CallRow, view: WorkflowView) -> bool:
        """Whether the call is a function's (its service unpublished since: one function node)."""
        service = self.db.service(row.service)
        if service is not None:
            return service.kind == "function"
        return len(view.spec.jobs) == 1 and all(callnodes.is_call(job) for job in view.spec.jobs.values())

    @staticmethod
    def _answer(row: CallRow, state: str, progress: int, **more: Any) -> CallOut:
        return CallOut(id=row.id, service=row.service, user=row.user, created=row.created, state=state,  # type: ignore[arg-type]
                       progress=progress, done=state not in ("waiting", "running"), **more)

    def _outcome(self, view: WorkflowView, row: CallRow, state: str, progress: int, *, function: bool) -> CallOut:
        if not function:
            return self._answer(row, state, progress, result=workflow_outputs(view, row.id),
                                error=None if state == "done" else _failed_jobs(view))
        job = next(iter(view.spec.jobs))
        try:
            value = results.outcome(view, job, row.id)
        except results.CallError as exc:
            return self._answer(row, state, progress, error=str(exc).splitlines()[0], traceback=str(exc))
        except Exception as exc:  # the function's own exception, re-raised here: its type is the user's
            notes = "\n".join(getattr(exc, "__notes__", []))
            return self._answer(row, state, progress, error=f"{type(exc).__name__}: {exc}".splitlines()[0],
                                traceback=notes or None)
        jsonable = _jsonable(value)
        if jsonable is not _NOT_JSON:
            return self._answer(row, state, progress, result=jsonable, result_type=type(value).__name__)
        return self._answer(row, state, progress, result_url=f"/api/v1/services/{row.service}/calls/{row.id}/result",
                            result_type=f"{type(value).__module__}.{type(value).__qualname__}",
                            result_repr=repr(value)[:1000])

    def log(self, view: WorkflowView) -> str:
        texts = []
        for job in view.spec.jobs:
            try:
                text = Future(view.name, job, db_path=self.home / "hybridflow.db").log()
            except HybridflowError as exc:
                text = f"(log not readable: {exc})"
            texts.append(text if len(view.spec.jobs) == 1 else f"== {job}\n{text}")
        return "\n".join(texts)[-LOG_TAIL:]

    def result_bytes(self, store: Store, row: CallRow) -> bytes:
        """The pickled return value of a finished function call (cloudpickle)."""
        view = store.view(row.id)
        job = next(iter(view.spec.jobs))
        if not view.jobs[job].state.is_terminal:
            raise StateError(f"call {row.id} has not finished")
        found = results.fetch(view, job)
        if found is None or not found[0].header.get("ok") or found[0].header.get("stored"):
            raise NotFoundError(f"call {row.id} has no value here (see its error, or its result left on the host)")
        return found[0].payload

    # -- expiring ----------------------------------------------------------------------------

    def expire(self, store: Store, *, now: float | None = None, force: bool = False) -> list[str]:
        """Remove finished calls older than the retention, their runs and files (at most
        once a minute unless ``force``); the ids removed."""
        now = time.time() if now is None else now
        with self._guard:
            if not force and now - self._last_expiry < min(60.0, self.retention / 2):
                return []
            self._last_expiry = now
        removed: list[str] = []
        for row in self.db.expired_calls(now - self.retention):
            try:
                if store.exists(row.id):
                    if read_version(store, row.id).lock_alive():
                        continue
                    self._remove_remote(store, row.id)
                    store.delete(row.id)
            except HybridflowError as exc:
                log.warning("call %s not expired: %s", row.id, exc)
                continue
            shutil.rmtree(self.folder(row.id), ignore_errors=True)
            self.db.remove_call(row.id)
            removed.append(row.id)
        if removed:
            log.info("expired %d calls", len(removed))
        return removed

    @staticmethod
    def _remove_remote(store: Store, call_id: str) -> None:
        """Remove the call's run directories on remote hosts (``ROOT/CALL_ID``; one that
        cannot be reached is left, with a warning)."""
        view = store.view(call_id)
        done: set[tuple[str, str]] = set()
        for attempt in store.attempts(call_id):
            job = view.spec.jobs.get(attempt.job)
            if job is None or attempt.kind == "local" or PurePosixPath(attempt.workdir).name != call_id:
                continue
            if (attempt.host, attempt.workdir) in done:
                continue
            done.add((attempt.host, attempt.workdir))
            try:
                driver.run_sync(_remove_on_host(view, job, attempt.workdir), timeout=120)
            except HybridflowError as exc:
                log.warning("call %s: its run directory %s on %s is left: %s", call_id, attempt.workdir,
                            attempt.host, exc)


async def _remove_on_host(view: WorkflowView, job: JobSpec, workdir: str) -> None:
    shell = shell_for(config.host_config(view.spec, job), job.kind)
    try:
        if shell.remote:
            result = await shell.run(["rm", "-rf", "--", await shell.resolve(workdir)])
            if not result.ok:
                raise HostError(f"rm -rf {workdir}: {result.err.strip()}")
    finally:
        await release_shell(shell)


_NOT_JSON = object()


def _jsonable(value: Any) -> Any:
    try:
        return to_jsonable_python(value)
    except Exception:  # pydantic_core raises its own error types for values it cannot serialize
        return _NOT_JSON


def workflow_outputs(view: WorkflowView, call_id: str) -> dict[str, Any]:
    """A workflow run's named outputs: its function nodes' values, and its jobs' output files."""
    values: dict[str, Any] = {}
    for job, spec in view.spec.jobs.items():
        if callnodes.is_call(spec) and view.jobs[job].state is JobState.DONE:
            try:
                value = _jsonable(results.outcome(view, job, f"{call_id}:{job}"))
            except Exception as exc:  # the node's own exception: shown as text
                value = f"{type(exc).__name__}: {exc}"
            values[job] = repr(value) if value is _NOT_JSON else value
    files = sorted({name for spec in view.spec.jobs.values() for name in spec.stage_out
                    if not name.endswith(callnodes.RESULT_SUFFIX)})
    return {"values": values, "files": files}


def _failed_jobs(view: WorkflowView) -> str:
    failed = [job for job, state in view.jobs.items() if state.state is not JobState.DONE]
    return f"jobs not done: {', '.join(failed[:10])}" if failed else "the run did not finish"
