"""The state a saved workflow file carries (``status:``/``progress:`` on its nodes, as
``hflow workflow save`` and cloudmesh-cc write them), for viewing a finished run elsewhere.

Loading ignores these keys; ``with_state`` restores them (see
:meth:`hybridflow.store.sqlite.Store.restore_states`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .errors import SpecError
from .files import read_text
from .limits import Limits
from .names import expand
from .states import JobState
from .yamlsafe import parse


def saved_states(path: str | Path, jobs: Mapping[str, Any]) -> dict[str, tuple[JobState, int]]:
    """``{job: (state, progress)}`` for the jobs of ``jobs`` whose node in the file has a
    ``status``; a status that is no state, or a progress outside 0-100, is a SpecError."""
    limits = Limits.from_env()
    file = str(path)
    doc = parse(read_text(Path(path), limits=limits, file=file), limits=limits, file=file)
    body = doc.get("workflow") if isinstance(doc, Mapping) else None
    nodes = body.get("nodes") if isinstance(body, Mapping) else None
    found: dict[str, tuple[JobState, int]] = {}
    for key, node in (nodes or {}).items():
        if not isinstance(node, Mapping) or node.get("status") in (None, ""):
            continue
        try:
            state = JobState(str(node["status"]))
        except ValueError:
            valid = ", ".join(s.value for s in JobState)
            raise SpecError(f"unknown status '{node['status']}' (valid: {valid})", file=file, job=str(key),
                            field="status") from None
        progress = node.get("progress", 100 if state is JobState.DONE else 0)
        if isinstance(progress, bool) or not isinstance(progress, (int, float)) or not 0 <= progress <= 100:
            raise SpecError(f"progress {progress!r} must be a number from 0 to 100", file=file, job=str(key),
                            field="progress")
        for name in expand(str(key)) if "[" in str(key) else [str(node.get("name") or key)]:
            if name in jobs:
                found[name] = (state, int(progress))
    return found
