"""Function nodes: a job whose payload is one call of a Python function.

A node with ``call:`` is a function node (YAML ``call: mypkg.train:train`` with ``args:``,
``kwargs:`` and ``inputs:``; the API's ``Workflow.add_call`` and ``hybridflow.remote`` set
``bundle:`` (the function pickled by value) and ``args_file:`` too). :func:`resolve` turns
each into an ordinary job of its kind, so that the engine, staging and every host run it
like any other:

- ``script``: the runner (``hybridflow/functions/runner.py``, or the bundle, which holds
  it) with the call as one ``call:BASE64`` word: target, ``args``/``kwargs`` (plain data,
  at most :data:`MAX_CALL` bytes), ``args_file``, ``inputs``;
- ``stage_out``: ``NAME.result``, the result file the runner writes (:func:`result_file`);
- ``stage_in``: the ``args_file`` and the result file of every parent named by ``inputs``
  (``{model: prepare}``; a value written ``"{prepare.result}"`` in ``args``/``kwargs``
  means the same, see :func:`hoist`); an input's parent becomes a dependency.

Contract: :func:`resolve` is idempotent (validation runs it on every change) and raises
:class:`SpecError` naming the file, job and field for a malformed call node.
"""

from __future__ import annotations

import base64
import dataclasses
import difflib
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .errors import SpecError
from .spec import JobSpec, WorkflowSpec

#: node keys of a function node
CALL_KEYS = ("call", "args", "kwargs", "inputs", "bundle", "args_file")
RUNNER = Path(__file__).resolve().parent / "functions" / "runner.py"
RESULT_SUFFIX = ".result"
#: a whole ``"{JOB.result}"`` value: the result object of that job
RESULT_REF = re.compile(r"\{([A-Za-z0-9_][A-Za-z0-9._-]*)\.result\}")
_IDENT = r"[A-Za-z_]\w*"
TARGET = re.compile(rf"{_IDENT}(?:\.{_IDENT})*:{_IDENT}(?:\.{_IDENT})*")
#: bytes of the call description carried on the runner's command line
MAX_CALL = 64 * 1024


def result_file(job: str) -> str:
    """The result file of function node ``job``, in its run directory and workflow folder."""
    return f"{job}{RESULT_SUFFIX}"


def is_call(job: JobSpec) -> bool:
    return "call" in job.args


def hoist(job: JobSpec) -> JobSpec:
    """Move ``"{JOB.result}"`` values of ``args``/``kwargs`` into ``inputs`` (before sweeps
    fill placeholders, which would not know them)."""
    if not is_call(job):
        return job
    args, kwargs = job.args.get("args"), job.args.get("kwargs")
    inputs = dict(job.args.get("inputs") or {}) if isinstance(job.args.get("inputs"), Mapping) else None
    if inputs is None and job.args.get("inputs") is not None:
        return job  # resolve() refuses it, naming the field
    inputs = inputs or {}
    changed: dict[str, Any] = {}
    if isinstance(args, list):
        kept: list[Any] = []
        for index, value in enumerate(args):
            match = RESULT_REF.fullmatch(value) if isinstance(value, str) else None
            if match:
                inputs[str(index)] = match.group(1)
                kept.append(None)
            else:
                kept.append(value)
        changed["args"] = kept
    if isinstance(kwargs, Mapping):
        rest: dict[str, Any] = {}
        for key, value in kwargs.items():
            match = RESULT_REF.fullmatch(value) if isinstance(value, str) else None
            if match:
                inputs[str(key)] = match.group(1)
            else:
                rest[key] = value
        changed["kwargs"] = rest
    if inputs:
        changed["inputs"] = inputs
    return dataclasses.replace(job, args={**job.args, **changed}) if changed else job


def _call(job: JobSpec, spec: WorkflowSpec) -> dict[str, Any]:
    """The call description of a function node, checked."""
    def error(problem: str, key: str) -> SpecError:
        return SpecError(problem, file=spec.source, job=job.name, field=key)

    target, bundle = job.args.get("call"), job.args.get("bundle")
    if not isinstance(target, str) or not TARGET.fullmatch(target):
        raise error(f"{target!r} is not 'module:function' (e.g. mypkg.train:train)", "call")
    if bundle is not None and (not isinstance(bundle, str) or not bundle.endswith(".py")):
        raise error("must be the path of a function bundle (fn-SHA.py)", "bundle")
    args = job.args.get("args")
    if args is None:
        args = []
    if not isinstance(args, list):
        raise error("must be a list of positional arguments", "args")
    kwargs = job.args.get("kwargs") or {}
    if not isinstance(kwargs, Mapping) or not all(isinstance(k, str) and k.isidentifier() for k in kwargs):
        raise error("must be a mapping of parameter name to value", "kwargs")
    inputs = job.args.get("inputs") or {}
    if not isinstance(inputs, Mapping):
        raise error("must be a mapping of parameter name to the job whose result it gets", "inputs")
    for key, parent in inputs.items():
        if not isinstance(key, str) or not (key.isidentifier() or key.isdigit()):
            raise error(f"{key!r} is not a parameter name (or a position)", "inputs")
        if not isinstance(parent, str) or parent not in spec.jobs or parent == job.name:
            close = difflib.get_close_matches(str(parent), [j for j in spec.jobs if j != job.name], n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise error(f"'{parent}' is not another job of the workflow{hint}", f"inputs.{key}")
        if not is_call(spec.jobs[parent]):
            raise error(f"job '{parent}' is not a function node: it has no result", f"inputs.{key}")
    args_file = job.args.get("args_file")
    if args_file is not None and not isinstance(args_file, str):
        raise error("must be a path", "args_file")
    if job.exec is not None:
        raise error("a function node runs its function: remove 'exec'", "exec")
    return {"target": target, "args": args, "kwargs": dict(kwargs), "inputs": dict(inputs), "args_file": args_file,
            "bundle": bundle}


def encode(call: Mapping[str, Any]) -> str:
    """The runner's ``call:BASE64`` word (URL-safe base64: no quoting needed)."""
    text = json.dumps({k: v for k, v in call.items() if k != "bundle"}, sort_keys=True, separators=(",", ":"))
    return "call:" + base64.urlsafe_b64encode(text.encode()).decode()


def resolve(spec: WorkflowSpec) -> WorkflowSpec:
    """``spec`` with every function node made an ordinary job (see the module's contract)."""
    calls = [job for job in spec.jobs.values() if is_call(job)]
    if not calls:
        return spec
    jobs: list[JobSpec] = []
    edges: list[tuple[str, str]] = []
    for job in calls:
        call = _call(hoist(job), spec)
        word = encode(call)
        if len(word) > MAX_CALL:
            raise SpecError(f"the call's args and kwargs take {len(word)} bytes (at most {MAX_CALL}): pass large "
                            "values as a file (stage_in) or as a parent's result", file=spec.source, job=job.name,
                            field="args")
        program = call["bundle"] or str(RUNNER)
        staged = [*([call["args_file"]] if call["args_file"] else []),
                  *(result_file(parent) for parent in call["inputs"].values())]
        edges.extend((parent, job.name) for parent in call["inputs"].values())
        args = {**job.args, "inputs": call["inputs"], "args": call["args"], "kwargs": call["kwargs"]}
        jobs.append(dataclasses.replace(
            job, script=f"{program} {word}", args=args,
            stage_in=tuple(dict.fromkeys([*job.stage_in, *staged])),
            stage_out=tuple(dict.fromkeys([*job.stage_out, result_file(job.name)])),
        ))
    return spec.with_jobs(jobs).with_edges(edges)
