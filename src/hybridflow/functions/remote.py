"""``hybridflow.remote`` and ``hybridflow.map``: Python functions as jobs.

A call is a stored workflow of one job (``call-ID``), a map one of many (``map-ID``),
whose folder is ``$HYBRIDFLOW_HOME/calls/ID/``: the bundle (the function by value, once
per map), one ``args-SHA.pkl`` per call, and, once they ran, the attempts' files and
results. Each call is a function node (:mod:`hybridflow.callnodes`), so the engine runs
it like any job: recorded before it is submitted, never submitted twice, retried,
timed out, staged over the host's one connection, polled with one ``squeue``.

Host options are the node keys of YAML jobs: ``host`` (a ``hosts:`` entry), ``kind``
(default: the host entry's kind, ``local`` without a host), ``partition``, ``time``,
``gres``, ``venv``, ``retries``, ``timeout``..., plus ``python`` (the interpreter on the
host, overriding the host entry's) and ``result_limit`` (bytes; a larger return value
stays on the host, :class:`~.results.RemoteResult`).
"""

from __future__ import annotations

import functools
import secrets
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Generic, ParamSpec, TypeVar, overload

from .. import config
from ..errors import SpecError
from ..hostconfig import HostConfig
from ..keys import check_keys
from ..spec import JobSpec, WorkflowSpec
from ..store.sqlite import Store
from ..validate import validate
from . import bundle as bundles
from .future import Future, _store

P = ParamSpec("P")
R = TypeVar("R")

#: the options that are not node keys
OWN_OPTIONS = ("python", "result_limit", "deadline")
DEFAULT_RESULT_LIMIT = 256 * 1024 * 1024


def _host_entry(config_: HostConfig, python: str) -> dict[str, Any]:
    """A ``hosts:`` entry equal to ``config_`` with another ``python``."""
    entry: dict[str, Any] = {key: getattr(config_, key) for key in HostConfig.__slots__
                             if key not in ("name", "options") and getattr(config_, key) not in (None, False)}
    entry.update(dict(config_.options))
    entry["python"] = python
    return entry


class RemoteFunction(Generic[P, R]):
    """A function with the host it runs on: ``submit`` gives a :class:`Future`, a plain
    call waits for the value, :meth:`map` runs many calls as one workflow."""

    def __init__(self, fn: Callable[P, R], *, host: str | None = None, kind: str | None = None,
                 **options: Any) -> None:
        if not callable(fn):
            raise SpecError(f"remote() needs a function, got {type(fn).__name__}")
        self.fn = fn
        self.host = host
        self.kind = kind
        self.options = dict(options)
        limit = self.options.get("result_limit", DEFAULT_RESULT_LIMIT)
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
            raise SpecError(f"result_limit must be a number of bytes, not {limit!r}")
        functools.update_wrapper(self, fn)

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        value: R = self.submit(*args, **kwargs).result()
        return value

    def submit(self, *args: P.args, **kwargs: P.kwargs) -> Future:
        """Record the call and start it; returns at once (the call runs in this process's
        background thread, and on without it: see :meth:`Future.attach`)."""
        return self._start("call", [(tuple(args), dict(kwargs))])[0]

    def map(self, *iterables: Iterable[Any], **kwargs: Any) -> list[Future]:
        """One call per item (of the iterables zipped), ``kwargs`` for each; one workflow,
        so one connection per host and batched submission."""
        calls = [(tuple(items), dict(kwargs)) for items in zip(*iterables)]
        if not calls:
            return []
        return self._start("map", calls)

    def node_options(self) -> dict[str, Any]:
        """The node keys this function's calls get (``Workflow.add_call`` reads them)."""
        node: dict[str, Any] = {key: value for key, value in self.options.items() if key not in OWN_OPTIONS}
        node["kind"] = self._kind()
        # time="1h" reaches the Slurm host as written: it spells it 1:00:00 (hosts.slurm.slurm_time)
        if self.host is not None:
            node["host"] = self.host
        env = dict(node.pop("env", None) or {})
        env["HF_RESULT_LIMIT"] = str(self.options.get("result_limit", DEFAULT_RESULT_LIMIT))
        node["env"] = env
        return node

    # -- building the workflow -------------------------------------------------------------

    def _kind(self) -> str:
        if self.kind:
            return self.kind
        if self.host is None or config.is_local_name(self.host):
            return "local"
        known = config.known_hosts()
        entry = known.get(self.host)
        if entry is None:
            raise SpecError(config.unknown_host(self.host, known), field="host")
        return entry.kind or "ssh"

    def workflow(self, name: str, folder: Path, calls: list[tuple[tuple[Any, ...], dict[str, Any]]]) -> WorkflowSpec:
        """The validated workflow of ``calls`` (``(args, kwargs)`` each), named ``name``, its
        bundle and argument files written in ``folder``; not stored (the service's calls
        record and start it themselves)."""
        return self._spec(name, folder, calls)

    def _spec(self, name: str, folder: Path, calls: list[tuple[tuple[Any, ...], dict[str, Any]]]) -> WorkflowSpec:
        node = self.node_options()
        kind = node["kind"]
        fn_path = bundles.write_bundle(folder, self.fn)
        base = bundles.job_name(self.fn)
        node.update({"call": bundles.target_of(self.fn), "bundle": fn_path.name})
        check_keys({"workflow": {"nodes": {base: node}}}, strict=True)  # a typo: one line, "did you mean"
        jobs: dict[str, JobSpec] = {}
        width = len(str(len(calls) - 1))
        for index, (args, kwargs) in enumerate(calls):
            job = base if len(calls) == 1 else f"{base}-{index:0{width}d}"
            args_path = bundles.write_args(folder, args, kwargs, self.fn)
            jobs[job] = JobSpec.from_dict(job, {**node, "args_file": args_path.name})
        hosts: dict[str, Any] = {}
        python = self.options.get("python")
        if python is not None:
            if not isinstance(python, str) or not python:
                raise SpecError("python must be the path of an interpreter on the host")
            if self.host is not None and kind != "local":
                hosts[self.host] = _host_entry(config.host_config(WorkflowSpec(name=name), next(iter(jobs.values()))),
                                               python)
        spec = WorkflowSpec(name=name, jobs=jobs, hosts=hosts, base_dir=str(folder),
                            options={"deadline": self.options["deadline"]} if "deadline" in self.options else {})
        return validate(spec)

    def _start(self, prefix: str, calls: list[tuple[tuple[Any, ...], dict[str, Any]]]) -> list[Future]:
        call_id = f"{prefix}-{secrets.token_hex(6)}"
        folder = config.home() / "calls" / call_id
        folder.mkdir(parents=True, exist_ok=True)
        spec = self._spec(call_id, folder, calls)
        db_path = config.database_path()
        store: Store = _store(db_path)
        store.save(spec)  # recorded before anything is submitted
        futures = [Future(call_id, job, db_path=db_path) for job in spec.jobs]
        futures[0].drive()
        return futures


@overload
def remote(fn: Callable[P, R], /) -> RemoteFunction[P, R]: ...


@overload
def remote(fn: None = None, /, *, host: str | None = None, kind: str | None = None,
           **options: Any) -> Callable[[Callable[P, R]], RemoteFunction[P, R]]: ...


def remote(fn: Callable[P, R] | None = None, /, *, host: str | None = None, kind: str | None = None,
           **options: Any) -> RemoteFunction[P, R] | Callable[[Callable[P, R]], RemoteFunction[P, R]]:
    """Make ``fn`` run as a job on ``host`` (``@hf.remote`` or ``@hf.remote(host=...)``)."""
    if fn is not None:
        return RemoteFunction(fn, host=host, kind=kind, **options)

    def wrap(function: Callable[P, R]) -> RemoteFunction[P, R]:
        return RemoteFunction(function, host=host, kind=kind, **options)

    return wrap


def map(fn: Callable[..., Any], *iterables: Iterable[Any], **kwargs: Any) -> list[Future]:  # noqa: A001
    """``fn`` (a :func:`remote` function, or a plain one: run locally) over the items."""
    function = fn if isinstance(fn, RemoteFunction) else RemoteFunction(fn)
    return function.map(*iterables, **kwargs)


