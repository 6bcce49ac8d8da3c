"""Published services: a function (``mod:func``) or a workflow file, by name.

Publishing checks everything a call would need before it is recorded in the services
database (:mod:`.servicedb`): the function imports (from ``path``, the folder it was
published from), its signature gives a model (:mod:`.signature`), its host options are
node keys (a typo is refused with "did you mean"); a workflow file loads, and its
parameters are its top-level variables and the ``constants``/``experiments`` of its
nodes, typed by their values in the file. ``services.yaml`` (``hflow service start
--services``) lists services the same way::

    retention: 7d            # calls older than this are removed, with their files
    services:
      forecast: {function: mypkg.analytics:forecast, host: cluster, kind: slurm, time: 30m}
      mnist-compare: {workflow: sweep.yaml}

:class:`Registry` gives the loaded :class:`Service` of a name (imported once per
publication); an unknown name is a :class:`~hybridflow.errors.NotFoundError` with a
"did you mean".
"""

from __future__ import annotations

import copy
import difflib
import importlib
import logging
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, create_model

from ..durations import parse_duration
from ..errors import NotFoundError, SpecError
from ..files import read_text
from ..keys import TOP_KEYS
from ..limits import Limits
from ..load import load
from ..names import check_name
from ..sweeps import SWEEP_KEYS
from ..yamlsafe import parse
from . import signature
from .servicedb import ServiceDB, ServiceRow

log = logging.getLogger(__name__)

#: keys of a service in services.yaml besides the function's host options
SERVICE_KEYS = ("function", "workflow", "path", "description")
WORKFLOW_KEYS = ("workflow", "description")
#: a service is one of these
TARGET_KEYS = ("function", "workflow")
FILE_KEYS = ("retention", "services")


@dataclass(frozen=True, slots=True)
class Service:
    """A published service, loaded: its model validates a call's body."""

    row: ServiceRow
    model: type[BaseModel]
    description: str
    function: Callable[..., Any] | None = None
    #: workflow services: parameter -> where it goes ("variable", or "NODE.constants"...)
    targets: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.row.name


def import_target(target: str, path: str | None) -> Callable[..., Any]:
    """The function ``module:qualname`` (``path`` put on ``sys.path`` first)."""
    module_name, _, qualname = target.partition(":")
    if not module_name or not qualname:
        raise SpecError(f"'{target}' is not 'module:function' (e.g. mypkg.analytics:forecast)")
    if path and path not in sys.path:
        sys.path.insert(0, path)
    try:
        obj: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except ImportError as exc:
        raise SpecError(f"cannot import '{module_name}' for service function '{target}': {exc}") from None
    except AttributeError:
        raise SpecError(f"module '{module_name}' has no function '{qualname}'") from None
    fn = getattr(obj, "fn", obj)  # an hf.remote function: the function it wraps
    if not callable(fn):
        raise SpecError(f"'{target}' is not a function")
    return fn  # type: ignore[no-any-return]  # checked callable above


def _check_options(fn: Callable[..., Any], name: str, options: Mapping[str, Any]) -> None:
    """Refuse host options every call would refuse: the call's own workflow is built (in a
    scratch folder), and ``time`` must be a duration (30m, 1h, 01:00:00)."""
    from ..functions.remote import RemoteFunction

    rest = dict(options)
    host, kind = rest.pop("host", None), rest.pop("kind", None)
    if rest.get("time") is not None:
        parse_duration(rest["time"], field="time")
    with tempfile.TemporaryDirectory(prefix="hf-publish-") as scratch:
        RemoteFunction(fn, host=host, kind=kind, **rest).workflow(name, Path(scratch), [((), {})])


def function_row(name: str | None, target: str, options: Mapping[str, Any], path: str | None) -> ServiceRow:
    """A checked publication of the function ``target`` (named after it by default)."""
    fn = import_target(target, path)
    name = name or str(getattr(fn, "__name__", "")).replace("_", "-")
    check_name(name)
    signature.model_for(fn, name)
    _check_options(fn, name, options)
    return ServiceRow(name, "function", target, dict(options), path, time.time())


def workflow_row(name: str | None, file: Path) -> ServiceRow:
    """A checked publication of the workflow file ``file`` (named after its stem by default)."""
    file = file.resolve()
    load(file)
    name = name or file.stem
    check_name(name)
    return ServiceRow(name, "workflow", str(file), {}, None, time.time())


def workflow_parameters(doc: Any) -> dict[str, tuple[Any, tuple[str, ...]]]:
    """Parameter -> (default, where it goes: ``"var"`` or ``"NODE.constants"``/``"NODE.experiments"``)."""
    found: dict[str, tuple[Any, tuple[str, ...]]] = {}
    if not isinstance(doc, Mapping):
        return found
    for key, value in doc.items():
        if str(key) not in TOP_KEYS:
            found[str(key)] = (value, ("var",))
    nodes = (doc.get("workflow") or {}).get("nodes") or {}
    for node, body in (nodes.items() if isinstance(nodes, Mapping) else ()):
        for sweep_key in SWEEP_KEYS:
            values = body.get(sweep_key) if isinstance(body, Mapping) else None
            for key, value in (values.items() if isinstance(values, Mapping) else ()):
                default, where = found.get(str(key), (value, ()))
                found[str(key)] = (default, (*where, f"{node}.{sweep_key}"))
    return found


def _hint(value: Any, where: tuple[str, ...]) -> Any:
    scalar = bool | int | float | str
    if any(w.endswith(".experiments") for w in where):
        return list[scalar] | scalar
    for kind in (bool, int, float, str):
        if type(value) is kind:
            return int | float if kind is int else kind  # a number given as 7 or 7.5
    return dict[str, Any] if isinstance(value, Mapping) else list[Any] if isinstance(value, list) else Any


def workflow_service(row: ServiceRow) -> Service:
    doc = read_document(Path(row.target))
    parameters = workflow_parameters(doc)
    fields: dict[str, Any] = {key: (_hint(default, where), Field(copy.deepcopy(default)))
                              for key, (default, where) in parameters.items()}
    model: type[BaseModel] = create_model(
        signature.model_title(row.name), __config__=ConfigDict(extra="forbid", strict=True), **fields)
    text = f"Run the workflow {Path(row.target).name} with these parameters."
    return Service(row, model, text, targets={key: where for key, (_, where) in parameters.items()})


def apply_parameters(doc: Any, service: Service, values: Mapping[str, Any]) -> Any:
    """A copy of the workflow document with ``values`` in place of its parameters."""
    doc = copy.deepcopy(doc)
    nodes = doc["workflow"]["nodes"]
    for key, value in values.items():
        for where in service.targets.get(key, ()):
            if where == "var":
                doc[key] = value
            else:
                node, _, sweep_key = where.rpartition(".")
                nodes[node][sweep_key][key] = value
    doc.pop("name", None)
    doc["workflow"].pop("name", None)
    return doc


class Registry:
    """The published services of one services database, loaded on first use."""

    def __init__(self, db: ServiceDB) -> None:
        self.db = db
        self._loaded: dict[str, tuple[float, Service]] = {}
        self._guard = threading.Lock()

    def get(self, name: str) -> Service:
        row = self.db.service(name)
        if row is None:
            names = [r.name for r in self.db.services()]
            close = difflib.get_close_matches(name, names, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise NotFoundError(f"no published service '{name}'{hint}")
        with self._guard:
            cached = self._loaded.get(name)
            if cached is not None and cached[0] == row.created:
                return cached[1]
        service = self._load(row)
        with self._guard:
            self._loaded[name] = (row.created, service)
        return service

    def all(self) -> list[Service]:
        found: list[Service] = []
        for row in self.db.services():
            try:
                found.append(self.get(row.name))
            except SpecError as exc:  # a function that no longer imports: left out, its error given on use
                log.warning("service %s left out: %s", row.name, exc)
        return found

    @staticmethod
    def _load(row: ServiceRow) -> Service:
        if row.kind == "workflow":
            return workflow_service(row)
        fn = import_target(row.target, row.path)
        return Service(row, signature.model_for(fn, row.name), signature.description(fn), function=fn)


def load_file(db: ServiceDB, path: Path) -> list[str]:
    """Publish the services of ``services.yaml`` at ``path`` (and its retention); their names."""
    doc = read_document(path)
    if not isinstance(doc, Mapping):
        raise SpecError("expected a mapping with 'services:'", file=str(path))
    for key in doc:
        if key not in FILE_KEYS:
            raise SpecError(f"unknown key '{key}'{_did_you_mean(str(key), FILE_KEYS)}", file=str(path))
    retention = None
    if doc.get("retention") is not None:
        try:
            retention = parse_duration(doc["retention"], field="retention")
        except SpecError as exc:
            raise SpecError(exc.problem, file=str(path), field="retention") from None
    services = doc.get("services") or {}
    if not isinstance(services, Mapping):
        raise SpecError("must be a mapping of service name to service", file=str(path), field="services")
    rows = [_file_row(str(name), body, path) for name, body in services.items()]
    if retention is not None:  # set once the whole file is known good
        db.set_meta("retention", str(retention))
    for row in rows:
        db.put_service(row)
    return [row.name for row in rows]


def _file_row(name: str, body: Any, path: Path) -> ServiceRow:
    where = f"services.{name}"
    if not isinstance(body, Mapping) or ("function" in body) == ("workflow" in body):
        keys = [str(k) for k in body] if isinstance(body, Mapping) else []
        near = [m for k in keys for m in difflib.get_close_matches(k, TARGET_KEYS, n=1)]
        hint = f" (did you mean '{near[0]}'?)" if len(near) == 1 else ""
        raise SpecError(f"needs one of 'function: module:function' and 'workflow: FILE'{hint}",
                        file=str(path), field=where)
    try:
        if "workflow" in body:
            extra = sorted(set(body) - set(WORKFLOW_KEYS))
            if extra:
                raise SpecError(f"unknown key '{extra[0]}' of a workflow service{_did_you_mean(extra[0], WORKFLOW_KEYS)}")
            return workflow_row(name, path.parent / str(body["workflow"]))
        options = {k: v for k, v in body.items() if k not in SERVICE_KEYS}
        folder = str((path.parent / str(body.get("path") or ".")).resolve())
        return function_row(name, str(body["function"]), options, folder)
    except SpecError as exc:
        raise SpecError(exc.problem, file=str(path), field=f"{where}.{exc.field}" if exc.field else where) from None


def read_document(path: Path) -> Any:
    limits = Limits.from_env()
    return parse(read_text(path, limits=limits, file=str(path)), limits=limits, file=str(path))


def _did_you_mean(key: str, known: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(key, known, n=1)
    return f" (did you mean '{close[0]}'?)" if close else f" (valid: {', '.join(known)})"
