"""The coordinator's one entry point: a typed :class:`RunRequest` in, an :class:`ExitCode` out.

``hflow workflow run`` calls :func:`run` in its own process; the service's runner starts
``python -c "from hybridflow.coordinator import main; main()" REQUEST_JSON`` detached,
which parses the same request type and calls the same :func:`run`. So the two sides
cannot disagree on the options (an unknown or refused option is a :class:`RequestError`
on both) nor on what an exit status means (:class:`ExitCode`).

Contracts:

- A :class:`RunRequest` that exists is valid: the constructor raises
  :class:`RequestError` (a :class:`~hybridflow.errors.SpecError`: CLI exit 2, HTTP 422)
  for a combination that cannot run. ``resume=False`` is one: a coordinator always
  re-attaches to the attempts an interrupted run left (that is what makes a job never
  run twice), so not resuming is not something it can do.
- :func:`run` runs one stored workflow to its end, cancelling on SIGINT/SIGTERM, and
  returns the :class:`RunResult`; it raises :class:`~hybridflow.errors.HybridflowError`
  when the run cannot start (no such workflow, another coordinator holds the lock...).
- :func:`exit_code_for` maps such an error to its exit code, the same for the CLI and the
  service's child process.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict, dataclass, field, fields
from enum import IntEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from . import dag
from .api import Workflow, open_store
from .errors import HybridflowError, LockedError, NotFoundError, SpecError
from .rerun import RerunMode
from .states import JobState, WorkflowState
from .store.sqlite import Store

if TYPE_CHECKING:
    from .engine import Engine

#: what the CLI's display wraps around a run: given the engine, a context entered while it runs
Watch = Callable[["Engine"], AbstractContextManager[object]]


class ExitCode(IntEnum):
    """Exit statuses of ``hflow`` and of the coordinator process (one table for both)."""

    OK = 0
    FAILED = 1  # a job did not succeed
    ERROR = 1  # hybridflow refused (not found...): same status as FAILED, as documented
    USAGE = 2  # invalid workflow description or request
    INVALID = 2
    BUSY = 75  # another coordinator runs the workflow (EX_TEMPFAIL)
    CANCELED = 130


class RequestError(SpecError):
    """The run request itself cannot run (options that contradict each other...)."""


@dataclass(frozen=True, slots=True)
class RunRequest:
    """What to run and how; every field as ``hflow workflow run`` spells its option."""

    workflow: str
    rerun: RerunMode = RerunMode.DEFAULT
    from_jobs: tuple[str, ...] = ()
    #: ``run --job``: run just these jobs (again, if they ran before), start nothing else;
    #: their parents must be done or named too; their finished descendants go back to
    #: ready (their inputs are about to change) for a later whole run
    only_jobs: tuple[str, ...] = ()
    workdir: Path | None = None
    sequential: bool = False
    resume: bool = True
    #: hand the Slurm jobs off (``afterok`` chains) and return once only Slurm holds work
    #: (see :mod:`hybridflow.handoff`); False: as the file's ``handoff:`` says
    detach: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.workflow, str) or not self.workflow:
            raise RequestError("a run request needs a workflow name")
        try:
            rerun = RerunMode(self.rerun)
        except ValueError:
            valid = ", ".join(mode.value for mode in RerunMode)
            raise RequestError(f"unknown rerun mode {self.rerun!r} (valid: {valid})") from None
        object.__setattr__(self, "rerun", rerun)
        for name in ("from_jobs", "only_jobs"):
            jobs = getattr(self, name)
            if isinstance(jobs, str) or not all(isinstance(job, str) and job for job in jobs):
                raise RequestError(f"{name} must be a list of job names")
            object.__setattr__(self, name, tuple(jobs))
        if sum(map(bool, (self.from_jobs, self.only_jobs, rerun is not RerunMode.DEFAULT))) > 1:
            raise RequestError("use only one of --job, --rerun-failed, --from and --force")
        if self.detach is True and self.only_jobs:
            raise RequestError("--detach cannot go with --job: a run of single jobs is not handed off")
        if self.workdir is not None:
            object.__setattr__(self, "workdir", Path(self.workdir))
        for name in ("sequential", "resume", "detach"):
            if not isinstance(getattr(self, name), bool):
                raise RequestError(f"{name} must be true or false")
        if not self.resume:
            raise RequestError(
                "resume cannot be turned off: a run always re-attaches to the attempts an interrupted "
                "run left, so that no job runs twice (rerun 'force' runs every job again)"
            )

    def to_json(self) -> str:
        data: dict[str, Any] = asdict(self)
        data["rerun"] = self.rerun.value
        data["from_jobs"] = list(self.from_jobs)
        data["only_jobs"] = list(self.only_jobs)
        data["workdir"] = None if self.workdir is None else str(self.workdir)
        return json.dumps(data)

    @classmethod
    def from_json(cls, text: str) -> RunRequest:
        """The request :meth:`to_json` wrote; unknown keys or wrong types: :class:`RequestError`."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise RequestError(f"run request is not JSON: {exc}") from None
        if not isinstance(data, dict):
            raise RequestError("run request must be a JSON object")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise RequestError(f"unknown run option '{unknown[0]}' (valid: {', '.join(sorted(known))})")
        workdir = data.get("workdir")
        if workdir is not None and not isinstance(workdir, str):
            raise RequestError("workdir must be a path")
        for name in ("from_jobs", "only_jobs"):
            if not isinstance(data.get(name, []), list):
                raise RequestError(f"{name} must be a list of job names")
        return cls(**{**data, "from_jobs": tuple(data.get("from_jobs", ())),
                      "only_jobs": tuple(data.get("only_jobs", ())),
                      "workdir": None if workdir is None else Path(workdir)})


@dataclass(frozen=True, slots=True)
class RunResult:
    """How a run ended: its exit code, the workflow's final state, the jobs reused."""

    exit_code: ExitCode
    state: WorkflowState
    reused: tuple[str, ...] = field(default=())


def exit_code_of(state: WorkflowState) -> ExitCode:
    """OK when every job succeeded or the run was handed off (still running, in Slurm),
    CANCELED when canceled, else FAILED."""
    if state in (WorkflowState.DONE, WorkflowState.HANDED_OFF):
        return ExitCode.OK
    if state is WorkflowState.CANCELED:
        return ExitCode.CANCELED
    return ExitCode.FAILED


def exit_code_for(exc: HybridflowError) -> ExitCode:
    """The exit status for an error that stopped a command before or instead of running."""
    if isinstance(exc, SpecError):
        return ExitCode.USAGE
    if isinstance(exc, LockedError):
        return ExitCode.BUSY
    return ExitCode.ERROR


def check(request: RunRequest, store: Store) -> None:
    """Raise unless ``request`` can start on ``store``: the workflow exists (else
    :class:`~hybridflow.errors.NotFoundError`) and has every ``from_jobs`` job (else
    :class:`RequestError`). The service calls this before it starts a coordinator."""
    if not store.exists(request.workflow):
        raise NotFoundError(f"no workflow named '{request.workflow}'")
    for option, named in (("--from", request.from_jobs), ("--job", request.only_jobs)):
        if named:
            jobs = store.spec(request.workflow).jobs
            unknown = [job for job in named if job not in jobs]
            if unknown:
                raise RequestError(f"{option} names unknown job '{unknown[0]}' of workflow '{request.workflow}'")
    if request.only_jobs:
        _check_only(store, request.workflow, request.only_jobs)


def _check_only(store: Store, workflow: str, jobs: Sequence[str]) -> None:
    """Raise :class:`RequestError` unless ``jobs`` can run alone: each parent of a named
    job is named too, or done and not about to run again."""
    view = store.view(workflow)
    graph = dag.build(view.spec.jobs, view.spec.edges)
    named = set(jobs)
    again = set(named)
    for job in named:
        again |= {d for d in dag.descendants(graph, job) if view.jobs[d].state.is_terminal}
    for job in jobs:
        for parent in sorted(graph.predecessors(job)):
            if parent in named:
                continue
            if parent in again:
                raise RequestError(f"--job {job}: its parent '{parent}' runs again after another named job: name it too")
            state = view.jobs[parent].state
            if state is not JobState.DONE:
                raise RequestError(f"--job {job}: its parent '{parent}' is {state.value}, not done: "
                                   "name it too, or run the whole workflow")


def run(request: RunRequest, *, store: Store | None = None, watch: Watch | None = None) -> RunResult:
    """Run the stored workflow ``request.workflow`` to its end (see the module's contracts).

    With ``only_jobs`` the exit code speaks for those jobs (OK when they all ended done);
    the workflow's own state stays failed while other jobs are not done.
    """
    store = store or open_store()
    check(request, store)
    engine = Workflow(request.workflow, store=store).engine(
        parallel=not request.sequential, workdir=request.workdir, rerun=request.rerun,
        from_jobs=request.from_jobs or request.only_jobs, only_jobs=request.only_jobs,
        detach=True if request.detach else None,
    )
    state = asyncio.run(_drive(engine, watch))
    code = exit_code_of(state)
    if request.only_jobs and code is ExitCode.FAILED:
        jobs = store.view(request.workflow).jobs
        code = ExitCode.OK if all(jobs[job].state is JobState.DONE for job in request.only_jobs) else code
    return RunResult(code, state, tuple(engine.reused))


async def _drive(engine: Engine, watch: Watch | None) -> WorkflowState:
    """``engine.run()`` with SIGINT/SIGTERM turned into a cancel request, inside ``watch``."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM) if threading.current_thread() is threading.main_thread() else ():
        try:
            loop.add_signal_handler(sig, engine.request_cancel)
        except (NotImplementedError, RuntimeError):  # not the main thread, or no unix signals
            signal.signal(sig, lambda *_: loop.call_soon_threadsafe(engine.request_cancel))
    with watch(engine) if watch is not None else nullcontext():
        return await engine.run()


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """The service's coordinator process: ``REQUEST_JSON`` in argv, the exit code out.

    Errors print as one ``error: ...`` line on stderr; the final state as one line on stdout.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        if len(args) != 1:
            raise RequestError("usage: coordinator REQUEST_JSON")
        request = RunRequest.from_json(args[0])
        result = run(request)
    except HybridflowError as exc:
        print(f"error: {' '.join(str(exc).split())}", file=sys.stderr, flush=True)
        sys.exit(exit_code_for(exc))
    print(f"{request.workflow}: {result.state.value}", flush=True)
    sys.exit(result.exit_code)
