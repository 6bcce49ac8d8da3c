"""Checks that keep one request from making the service do unbounded work.

Bracket expansion (``x[1-1000000000]``) and YAML aliases (a "billion laughs" document)
can turn a few bytes into millions of names or values; these functions measure that
*before* anything is expanded, and raise :class:`~hybridflow.service.archive.TooLarge`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .archive import TooLarge

_GROUP = re.compile(r"\[([^\[\]]*)\]")
_RANGE = re.compile(r"^\s*(\d+)-(\d+)\s*$")


def _terms(text: str) -> list[str]:
    """``a,b[1-2],c`` split at the commas outside brackets (as ``names.split_list``)."""
    terms: list[str] = []
    current: list[str] = []
    depth = 0
    for char in text:
        depth += char == "["
        depth -= char == "]"
        if char == "," and depth == 0:
            terms.append("".join(current))
            current = []
        else:
            current.append(char)
    terms.append("".join(current))
    return [t.strip() for t in terms if t.strip()]


def term_size(term: str) -> int:
    """How many names ``term`` expands to (``x[1-3][a,b]`` → 6), without expanding it."""
    size = 1
    for match in _GROUP.finditer(term):
        group = 0
        for part in match.group(1).split(","):
            found = _RANGE.match(part)
            if found:
                group += abs(int(found.group(2)) - int(found.group(1))) + 1
            elif part.strip():
                group += 1
        size *= max(group, 1)
    return size


def list_size(text: str) -> int:
    """How many names a comma list or chain such as ``start,s[1-3]`` expands to."""
    return sum(term_size(t) for t in _terms(text))


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
