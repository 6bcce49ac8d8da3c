"""Loading a workflow description: one pipeline for the CLI, the Python API and REST.

``load(path)`` and ``loads(text)`` run the same steps, each refusing with one
:class:`~hybridflow.errors.SpecError` line that names the file, the job and the field:

1. **read** (``hybridflow.files``): a regular file of at most ``max_bytes``, strict UTF-8,
   no NUL;
2. **parse** (``hybridflow.yamlsafe``): nesting and alias-expanded size bounded from the
   event stream *before* anything is built, then the safe loader;
3. **count declared jobs**: bracket names (``x[1-1000000000]``) and dependency chains
   are sized without expanding them;
4. **check the keys** (``hybridflow.keys``): a misspelt key (``dependecies``, ``retires``)
   or a batch option of another kind is refused with a suggestion; unknown node keys and
   unused workflow variables become :attr:`WorkflowSpec.warnings` (with ``strict``, or
   ``strict: true`` in the file, they are refused);
5. **build** the spec (``hybridflow.spec.from_document``: data only);
6. **expand sweeps** (``hybridflow.sweeps``), each node's permutations and the rewritten
   edges counted before they are built;
7. **validate** (``hybridflow.validate``): the limits on jobs and edges after expansion
   first, then names, env, dependencies, scripts, policies and hosts.

Limits come from ``limits`` or else :meth:`Limits.from_env` (``HYBRIDFLOW_MAX_*``); the
service passes its settings' limits. A limit is refused with
:class:`~hybridflow.errors.LimitError` (HTTP 413).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .callnodes import hoist
from .errors import LimitError
from .files import read_text
from .keys import check_keys
from .limits import Limits
from .names import list_size, term_size
from .spec import WorkflowSpec, dependency_chains, from_document
from .sweeps import expand_sweeps
from .validate import ignored_hosts, missing_scripts, validate
from .yamlsafe import parse

__all__ = ["build", "count_declared", "load", "loads"]


def load(path: str | Path, *, name: str | None = None, limits: Limits | None = None,
         strict: bool = False, store_missing: bool = False) -> WorkflowSpec:
    """Read, parse, expand and validate a workflow file; the name defaults to its stem.

    What was kept but looks doubtful is in the result's ``warnings`` (one line each);
    ``strict`` refuses it instead (as ``strict: true`` in the file does). A script that does
    not exist is an error, unless ``store_missing`` (``add`` and uploads, as cloudmesh-cc
    does): then it is a warning, and the run refuses the workflow before any job starts."""
    limits = limits or Limits.from_env()
    path = Path(path)
    file = str(path)
    text = read_text(path, limits=limits, file=file)
    return loads(text, name=name or path.stem, base_dir=str(path.resolve().parent), file=file, limits=limits,
                 strict=strict, store_missing=store_missing)


def loads(text: str, *, name: str, base_dir: str = ".", file: str | None = None,
          limits: Limits | None = None, strict: bool = False, store_missing: bool = False) -> WorkflowSpec:
    """:func:`load` for YAML text (an upload, say); scripts are resolved in ``base_dir``."""
    limits = limits or Limits.from_env()
    return build(parse(text, limits=limits, file=file), name=name, file=file, base_dir=base_dir, limits=limits,
                 strict=strict, store_missing=store_missing)


def build(doc: Any, *, name: str, file: str | None = None, base_dir: str = ".",
          limits: Limits | None = None, strict: bool = False, store_missing: bool = False) -> WorkflowSpec:
    """Steps 3-7 for a parsed document: count, check keys, build, expand sweeps, validate."""
    limits = limits or Limits.from_env()
    count_declared(doc, limits, file)
    warnings = check_keys(doc, file=file, strict=strict)
    spec = from_document(doc, name=name, file=file, base_dir=base_dir)
    spec = spec.with_jobs(hoist(job) for job in spec.jobs.values())  # "{job.result}" before sweeps fill placeholders
    jobs, edges = expand_sweeps(spec.jobs, spec.edges, spec.options, base_dir=base_dir, file=file, limits=limits)
    spec = dataclasses.replace(spec, jobs=jobs, edges=tuple(dict.fromkeys(edges)), warnings=warnings)
    spec = validate(spec, limits=limits)
    ignored = ignored_hosts(spec)
    if ignored:
        spec = dataclasses.replace(spec, warnings=(*spec.warnings, ignored))
    missing = missing_scripts(spec)
    if missing and not store_missing:
        raise missing[0]
    if missing:
        notes = tuple(f"{error} (stored: a run refuses it until the file exists)" for error in missing)
        spec = dataclasses.replace(spec, warnings=spec.warnings + notes)
    return spec


def count_declared(doc: Any, limits: Limits, file: str | None = None) -> None:
    """Refuse node keys and dependency chains that would expand past ``max_jobs`` names."""
    body = doc.get("workflow") if isinstance(doc, Mapping) else None
    if not isinstance(body, Mapping):
        return
    nodes = body.get("nodes")
    if isinstance(nodes, Mapping):
        total = 0
        for key in nodes:
            size = term_size(str(key))
            total += size
            if total > limits.max_jobs:
                raise LimitError(f"workflow declares {total} jobs {limits.hint('max_jobs')}",
                                 file=file, job=str(key)[:60], field="nodes")
    for chain in dependency_chains(body.get("dependencies"), file):
        if isinstance(chain, str):
            size = list_size(chain)
            if size > limits.max_jobs:
                raise LimitError(f"dependency chain {chain[:60]!r} expands to {size} names "
                                 f"{limits.hint('max_jobs')}", file=file, field="dependencies")
