"""Workflow descriptions: :class:`JobSpec` and :class:`WorkflowSpec`, YAML in and out.

The format is cloudmesh-cc's::

    workflow:
      nodes:
        NAME: {kind: local, exec: "echo hi", label: "{name}", ...}
      dependencies:
        - a,b,c            # a→b, b→c; names expand: s[1-3]
    colors: {status: {done: "#CCFFCC", ...}}

plus optional top-level ``name:`` and ``hosts:``. The policy keys of a node (``env``,
``retries``, ``timeout``, ``stage_in``... see :mod:`hybridflow.jobfields`) are typed fields
of :class:`JobSpec`, parsed and checked here; other node keys (kind-specific options such
as Slurm's ``partition``, and anything unknown) are kept in :attr:`JobSpec.args`;
unknown top-level keys in :attr:`WorkflowSpec.options`.
A node key with brackets (``part[1-3]``) declares one job per expanded name, each with
the same fields (a job tells which it is by ``$HF_JOB``). Every problem raises
:class:`SpecError` naming the file, the job and the field.

This module is data only: reading, parsing, sweep expansion, limits and validation are the
steps of ``hybridflow.load``, which builds a :class:`WorkflowSpec` with
:func:`from_document` in between.
"""

from __future__ import annotations

import dataclasses
import difflib
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from . import jobfields
from .errors import SpecError
from .names import chain_edges, check_name, check_workflow_name, expand, split_list

#: node keys that are text fields of :class:`JobSpec`
JOB_FIELDS = ("name", "kind", "host", "user", "script", "exec", "label", "venv", "shape", "style")
#: node keys that are typed policy fields of :class:`JobSpec` (:mod:`hybridflow.jobfields`)
POLICY_FIELDS = jobfields.FIELDS
#: node keys describing a previous run's state: written by :func:`to_document`, ignored on load
STATE_FIELDS = ("status", "progress")


@dataclass(frozen=True, slots=True)
class JobSpec:
    """One declared job (a node of the workflow).

    The text fields are cloudmesh-cc's node keys; the policy fields after them are typed
    (:mod:`hybridflow.jobfields` says what each holds). ``args`` holds the other node
    keys (kind-specific options, anything unknown) and never a key of
    :data:`JOB_FIELDS` or :data:`POLICY_FIELDS` (``ValueError`` when built with one).
    """

    name: str
    kind: str = "local"
    host: str | None = None
    user: str | None = None
    script: str | None = None
    exec: str | None = None
    label: str | None = None
    venv: str | None = None
    shape: str | None = None
    style: str | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    retries: int | None = None
    retry_delay: float | None = None  # seconds
    retry_max_delay: float | None = None  # seconds
    retry_on: tuple[str, ...] | None = None
    timeout: float | None = None  # seconds, per attempt
    stage_in: tuple[str, ...] = ()
    stage_out: tuple[str, ...] = ()
    stage_follow_links: bool = False
    sweep: str | None = None
    sweep_params: Mapping[str, str] = field(default_factory=dict)
    max_parallel: int | None = None
    args: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        typed = [key for key in self.args if key in _TYPED]
        if typed:
            raise ValueError(f"job '{self.name}': '{typed[0]}' is a JobSpec field, not an entry of args")

    @property
    def script_path(self) -> str | None:
        """The script file named by :attr:`script` (its first word)."""
        return shlex.split(self.script)[0] if self.script else None

    @property
    def script_args(self) -> list[str]:
        """Arguments written after the script file in :attr:`script`."""
        return shlex.split(self.script)[1:] if self.script else []

    def policy(self) -> dict[str, Any]:
        """The typed policy fields, by name."""
        return {key: getattr(self, key) for key in POLICY_FIELDS}

    def to_dict(self) -> dict[str, Any]:
        """The node as written in YAML, which :meth:`from_dict` reads back as this job:
        fields at their default left out, durations as text (``30s``, ``1h30m``), args
        flattened in. Plain data only (what JSON and ``yaml.safe_dump`` accept)."""
        data: dict[str, Any] = {}
        for key in JOB_FIELDS:
            value = getattr(self, key)
            if value is not None:
                data[key] = value
        data.update(jobfields.written(self.policy()))
        data.update(self.args)
        return data

    @classmethod
    def from_dict(cls, name: str, data: Mapping[str, Any]) -> JobSpec:
        """Build from a YAML node; raises :class:`SpecError` naming the job and field."""
        if data is None:
            data = {}
        if not isinstance(data, Mapping):
            raise SpecError("a node must be a mapping of keys", job=str(name))
        name = str(data.get("name") or name)
        check_name_for(name)
        values: dict[str, Any] = {}
        args: dict[str, Any] = {}
        for key, value in data.items():
            key = str(key)
            if key == "name" or key in STATE_FIELDS:
                continue
            if key in JOB_FIELDS:
                if value is not None and not isinstance(value, (str, int, float)):
                    raise SpecError("must be a string", job=name, field=key)
                values[key] = None if value is None else str(value)
            elif key in jobfields.PARSERS:
                try:
                    values[key] = jobfields.PARSERS[key](value)
                except SpecError as exc:
                    raise SpecError(exc.problem, job=name, field=exc.field or key) from None
            else:
                args[key] = value
        values.setdefault("kind", "local")
        if not values["kind"]:
            values["kind"] = "local"
        return cls(name=name, args=args, **values)


_TYPED = frozenset(JOB_FIELDS) | frozenset(POLICY_FIELDS)


def check_name_for(name: str) -> None:
    """:func:`~hybridflow.names.check_name` with the error naming the job and its field."""
    try:
        check_name(name)
    except SpecError as exc:
        raise SpecError(exc.problem, job=name, field="name") from None


@dataclass(frozen=True, slots=True)
class WorkflowSpec:
    """A whole workflow: jobs in declaration order, edges parent→child, and options."""

    name: str
    jobs: Mapping[str, JobSpec] = field(default_factory=dict)
    edges: tuple[tuple[str, str], ...] = ()
    colors: Mapping[str, Any] = field(default_factory=dict)
    hosts: Mapping[str, Any] = field(default_factory=dict)
    options: Mapping[str, Any] = field(default_factory=dict)
    source: str | None = None  # the file it was loaded from
    base_dir: str = "."  # scripts are resolved relative to this directory
    #: what loading found doubtful but kept (unknown node keys...): one line each, naming
    #: the file; not part of the description (never stored, ignored by ``==``)
    warnings: tuple[str, ...] = field(default=(), compare=False)

    def job(self, name: str) -> JobSpec:
        return self.jobs[name]

    def with_jobs(self, jobs: Iterable[JobSpec]) -> WorkflowSpec:
        merged = dict(self.jobs)
        for job in jobs:
            merged[job.name] = job
        return dataclasses.replace(self, jobs=merged)

    def with_edges(self, edges: Iterable[tuple[str, str]]) -> WorkflowSpec:
        known = list(self.edges)
        for edge in edges:
            if edge not in known:
                known.append(edge)
        return dataclasses.replace(self, edges=tuple(known))

    def without_job(self, name: str) -> WorkflowSpec:
        jobs = {k: v for k, v in self.jobs.items() if k != name}
        edges = tuple(e for e in self.edges if name not in e)
        return dataclasses.replace(self, jobs=jobs, edges=edges)

    def resolve(self, path: str) -> Path:
        """A path written in the workflow, made absolute against :attr:`base_dir`."""
        candidate = Path(path).expanduser()
        return candidate if candidate.is_absolute() else (Path(self.base_dir) / candidate).resolve()


def dependency_chains(raw: Any, file: str | None = None) -> list[str]:
    """The chains of a ``dependencies`` value: a list of strings, one string, nothing, or
    the mapping cloudmesh-cc saves (``NAME: {source: a, destination: b}`` per edge)."""
    if raw in (None, {}, [], ""):
        return []
    if isinstance(raw, str):
        return [raw]
    if isinstance(raw, Mapping):
        chains: list[str] = []
        for key, edge in raw.items():
            ends = [edge.get(end) for end in ("source", "destination")] if isinstance(edge, Mapping) else []
            if len(ends) != 2 or not all(isinstance(end, str) and end for end in ends):
                raise SpecError(f"edge {str(key)!r} must be a mapping with 'source' and 'destination'",
                                file=file, field="dependencies")
            chains.append(f"{ends[0]},{ends[1]}")
        return chains
    if not isinstance(raw, list):
        raise SpecError("must be a list of 'a,b,c' chains", file=file, field="dependencies")
    return raw


def parse_dependencies(raw: Any, file: str | None = None) -> list[tuple[str, str]]:
    """Edges of a ``dependencies`` value: a list of chains; ``{}``/missing means none."""
    edges: list[tuple[str, str]] = []
    for chain in dependency_chains(raw, file):
        if not isinstance(chain, str):
            raise SpecError(f"chain {chain!r} must be a string", file=file, field="dependencies")
        try:
            edges.extend(chain_edges(chain))
        except SpecError as exc:
            raise SpecError(exc.problem, file=file, field="dependencies") from None
    return edges


def from_document(doc: Any, *, name: str, file: str | None = None, base_dir: str = ".") -> WorkflowSpec:
    """Build a spec from a parsed YAML document: bracket names expanded, sweeps not yet.

    Neither sweeps nor validation are applied (``hybridflow.load`` runs those steps).
    """
    if not isinstance(doc, Mapping) or not isinstance(doc.get("workflow"), Mapping):
        raise SpecError("expected a top-level 'workflow:' mapping with 'nodes:'", file=file)
    body = doc["workflow"]
    nodes = body.get("nodes") or {}
    if not isinstance(nodes, Mapping):
        raise SpecError("must be a mapping of job name to job", file=file, field="nodes")
    jobs: dict[str, JobSpec] = {}
    for key, node in nodes.items():
        try:
            names = expand(str(key)) if "[" in str(key) else [str(key)]
            if len(names) > 1 and node is not None and not isinstance(node, Mapping):
                raise SpecError("a node must be a mapping of keys", job=str(key))
            for name_ in names:
                data = {k: v for k, v in (node or {}).items() if k != "name"} if len(names) > 1 else node
                job = JobSpec.from_dict(name_, data)
                if job.name in jobs:
                    raise SpecError("defined twice", job=job.name)
                jobs[job.name] = job
        except SpecError as exc:
            raise exc.with_file(file) if file else exc from None
    edges = parse_dependencies(body.get("dependencies"), file)
    for chain in dependency_chains(body.get("dependencies"), file):
        for job_name in split_list(chain):
            if job_name not in jobs:
                close = difflib.get_close_matches(job_name, list(jobs), n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else " (declare it under 'nodes:')"
                raise SpecError(f"dependency '{chain}' names unknown job '{job_name}'{hint}", file=file,
                                field="dependencies")
    name = str(doc.get("name") or body.get("name") or name)
    try:
        check_workflow_name(name)
    except SpecError as exc:
        raise SpecError(exc.problem, file=file, field="name") from None
    colors = doc.get("colors") or {}
    hosts = doc.get("hosts") or {}
    for key, value in (("colors", colors), ("hosts", hosts)):
        if not isinstance(value, Mapping):
            raise SpecError("must be a mapping", file=file, field=key)
    options = {
        k: v for k, v in doc.items() if k not in ("workflow", "colors", "hosts", "name")
    }
    options.update({k: v for k, v in body.items() if k not in ("nodes", "dependencies", "name")})
    notify = options.get("notify")
    if isinstance(notify, Mapping) and True in notify:  # YAML 1.1 reads a bare `on:` as true
        options["notify"] = {("on" if k is True else k): v for k, v in notify.items()}
    return WorkflowSpec(
        name=name,
        jobs=jobs,
        edges=tuple(dict.fromkeys(edges)),
        colors=dict(colors),
        hosts=dict(hosts),
        options=options,
        source=file,
        base_dir=base_dir,
    )


def to_document(
    spec: WorkflowSpec, states: Mapping[str, tuple[str, int]] | None = None
) -> dict[str, Any]:
    """The YAML document for ``spec``; with ``states``, each node gets status/progress."""
    nodes: dict[str, Any] = {}
    for job in spec.jobs.values():
        node = job.to_dict()
        if states and job.name in states:
            node["status"], node["progress"] = states[job.name]
        nodes[job.name] = node
    doc: dict[str, Any] = {"name": spec.name}
    doc["workflow"] = {"nodes": nodes, "dependencies": [f"{a},{b}" for a, b in spec.edges]}
    if spec.colors:
        doc["colors"] = dict(spec.colors)
    if spec.hosts:
        doc["hosts"] = dict(spec.hosts)
    doc.update(spec.options)
    return doc


def dump_yaml(spec: WorkflowSpec, states: Mapping[str, tuple[str, int]] | None = None) -> str:
    """:func:`to_document` as YAML text."""
    return yaml.safe_dump(to_document(spec, states), sort_keys=False, allow_unicode=True)
