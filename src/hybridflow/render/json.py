"""A workflow's state as JSON-ready data (also what ``--output yaml`` dumps).

:func:`to_json_dict` returns only dicts, lists, str, int, float, bool and None, so both
``json.dumps`` and ``yaml.safe_dump`` accept it unchanged. Times are POSIX seconds
(float) or None; jobs are listed in declaration order.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ..snapshot import JobView, WorkflowView
from ..spec import JOB_FIELDS, POLICY_FIELDS


def _plain(value: Any) -> Any:
    """``value`` with mappings as dicts, sequences as lists and anything unusual as str."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(item) for item in value]
    return str(value)


def job_dict(job: JobView) -> dict[str, Any]:
    """The job's declared fields (:data:`~hybridflow.spec.JOB_FIELDS`, the typed
    :data:`~hybridflow.spec.POLICY_FIELDS` as JSON values, durations in seconds, and
    ``args``) and state."""
    data: dict[str, Any] = {key: getattr(job.spec, key) for key in JOB_FIELDS}
    data.update({key: _plain(getattr(job.spec, key)) for key in POLICY_FIELDS})
    data["args"] = _plain(job.spec.args)
    data.update(
        state=job.state.value,
        progress=job.progress,
        message=job.message,
        attempt=job.attempt,
        exit_code=job.exit_code,
        created=job.created,
        modified=job.modified,
        tstart=job.tstart,
        tend=job.tend,
    )
    return data


def to_json_dict(view: WorkflowView) -> dict[str, Any]:
    """The whole workflow: name, state, run_dir, times, counts, jobs, edges, colors."""
    return {
        "name": view.name,
        "state": view.state.value,
        "run_dir": view.run_dir,
        "source": view.spec.source,
        "created": view.created,
        "modified": view.modified,
        "t0": view.t0,
        "t1": view.t1,
        "counts": view.counts(),
        "jobs": [_this_run(job_dict(job), view) for job in view.jobs.values()],
        "edges": [[a, b] for a, b in view.edges],
        "colors": _plain(view.spec.colors),
    }


def _this_run(data: dict[str, Any], view: WorkflowView) -> dict[str, Any]:
    """``attempt`` is the job's latest attempt in the current run (0: not started in it);
    ``ran_on`` the host that attempt ran on (the declared ``host`` is the job's field);
    ``usage`` what that attempt used, for batch kinds (:mod:`hybridflow.usage`: elapsed,
    CPUs, GPUs, billing rate, node-hours, units), else None."""
    attempt = view.attempts.get(data["name"])
    data["attempt"] = attempt.number if attempt is not None else 0
    data["ran_on"] = attempt.host if attempt is not None else None
    data["usage"] = attempt.usage.view() if attempt is not None and attempt.usage is not None else None
    return data


def to_json(view: WorkflowView, indent: int | None = 2) -> str:
    """:func:`to_json_dict` serialised (UTF-8 text, not ASCII-escaped)."""
    return json.dumps(to_json_dict(view), indent=indent, ensure_ascii=False) + "\n"
