"""Checks that keep one request from making the service do unbounded work.

Bracket expansion (``x[1-1000000000]``) and YAML aliases (a "billion laughs" document)
can turn a few bytes into millions of names or values; these functions measure that
*before* anything is expanded, and raise :class:`~hybridflow.service.archive.TooLarge`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..names import list_size, term_size
from .archive import TooLarge


def check_names(text: str, limit: int, what: str = "name list") -> None:
    size = list_size(text)
    if size > limit:
        raise TooLarge(f"{what} {text[:60]!r} expands to {size} names (limit {limit})")


def check_document(doc: Any, *, max_values: int, max_jobs: int) -> None:
    """Bound a parsed YAML document: values counted through aliases, jobs after expansion."""
    budget = max_values
    stack = [doc]
    while stack:
        item = stack.pop()
        budget -= 1
        if budget < 0:
            raise TooLarge(f"workflow document has more than {max_values} values (aliases counted)")
        if isinstance(item, Mapping):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    body = doc.get("workflow") if isinstance(doc, Mapping) else None
    if not isinstance(body, Mapping):
        return
    nodes = body.get("nodes")
    if isinstance(nodes, Mapping):
        jobs = sum(term_size(str(key)) for key in nodes)
        if jobs > max_jobs:
            raise TooLarge(f"workflow declares {jobs} jobs (limit {max_jobs})")
    deps = body.get("dependencies")
    for chain in deps if isinstance(deps, list) else [deps] if isinstance(deps, str) else []:
        if isinstance(chain, str):
            check_names(chain, max_jobs, "dependency chain")
