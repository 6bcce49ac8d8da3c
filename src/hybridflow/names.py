"""Names: validation and cloudmesh-style bracket expansion (``x[1-3]`` → x1, x2, x3).

Contract: a name (of a job, a workflow or a host) is matched *whole* against
:data:`NAME_RE` (``fullmatch``: a trailing newline is refused, which ``$`` would accept)
and is at most :data:`MAX_NAME` characters (:data:`MAX_HOST` for hosts), so that every
file named after it (``NAME.attempt12.log``, ``runs/NAME``) fits a file system's 255-byte
limit. A path in a stage list is relative, without ``..``, printable, and each of its parts
fits a file name. Every refusal is one :class:`SpecError` line (names shown with ``repr``).
"""

from __future__ import annotations

import itertools
import re
from pathlib import PurePosixPath

from .errors import SpecError

NAME_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]*")
#: a range ``lo-hi``; longer numbers are plain text (``int()`` of 5,000 digits raises)
_RANGE_RE = re.compile(r"(\d{1,18})-(\d{1,18})")
#: longest job or workflow name: leaves room for ``.attemptNN.hflow.sh`` in 255 bytes
MAX_NAME = 100
#: longest host name (a DNS name's limit)
MAX_HOST = 253
#: longest part of a staged path, and longest path
MAX_FILE_PART = 255
MAX_PATH = 4096


def check_name(name: str, what: str = "job") -> str:
    """Return ``name`` if it is a valid ``what`` name (job, workflow, host), else raise."""
    limit = MAX_HOST if what == "host" else MAX_NAME
    if not isinstance(name, str):
        raise SpecError(f"invalid {what} name {name!r}: must be a string")
    if len(name) > limit:
        raise SpecError(f"invalid {what} name {name[:40]!r}...: {len(name)} characters (limit {limit})")
    if not NAME_RE.fullmatch(name):
        raise SpecError(
            f"invalid {what} name {name!r}: use letters, digits, '.', '_', '-' "
            "and do not start with '-' or '.'"
        )
    return name


def check_workflow_name(name: str) -> str:
    """:func:`check_name` for a workflow (its run directory is ``runs/NAME``)."""
    return check_name(name, "workflow")


def check_path(item: object) -> str:
    """Return ``item`` if it is a usable relative path of a stage list (globs allowed)."""
    if not isinstance(item, str) or not item:
        raise SpecError(f"{item!r} is not a path: give a non-empty string")
    if not item.isprintable():
        raise SpecError(f"path {item!r} holds a control character (newline, NUL...)")
    if len(item) > MAX_PATH:
        raise SpecError(f"path {item[:40]!r}... is {len(item)} characters long (limit {MAX_PATH})")
    path = PurePosixPath(item)
    if path.is_absolute() or ".." in path.parts:
        raise SpecError(f"'{item}' must be relative to the run directory, without '..'")
    if any(len(part.encode("utf-8")) > MAX_FILE_PART for part in path.parts):
        raise SpecError(f"path {item[:40]!r}... has a part over {MAX_FILE_PART} bytes")
    return item


def check_paths(raw: object) -> list[str]:
    """The entries of a ``stage_in``/``stage_out`` value (a path or a list of paths)."""
    if raw in (None, "", []):
        return []
    items = [raw] if isinstance(raw, str) else raw
    if not isinstance(items, list):
        raise SpecError("must be a path or a list of paths")
    return [check_path(item) for item in items]


def _expand_group(body: str) -> list[str]:
    items: list[str] = []
    for part in body.split(","):
        part = part.strip()
        match = _RANGE_RE.fullmatch(part)
        if match:
            lo, hi = match.group(1), match.group(2)
            width = len(lo) if lo.startswith("0") and len(lo) > 1 else 0
            step = 1 if int(hi) >= int(lo) else -1
            items.extend(str(i).zfill(width) for i in range(int(lo), int(hi) + step, step))
        elif part:
            items.append(part)
    if not items:
        raise SpecError(f"empty bracket expression [{body}]")
    return items


#: most names one bracket term may expand to (``x[1-1000000000]`` is an error, not an OOM)
MAX_EXPANSION = 100_000


def expand(term: str) -> list[str]:
    """Expand every ``[...]`` group of one term; several groups give their product.

    >>> expand("x[1-2,5]")
    ['x1', 'x2', 'x5']
    >>> expand("n[a,b][1-2]")
    ['na1', 'na2', 'nb1', 'nb2']
    """
    if "[" not in term and "]" not in term:  # most names: nothing to expand
        return [term]
    pieces: list[list[str]] = []
    pos = 0
    if term_size(term) > MAX_EXPANSION:
        raise SpecError(f"{term!r} expands to more than {MAX_EXPANSION} names")
    for match in re.finditer(r"\[([^\[\]]*)\]", term):
        pieces.append([term[pos : match.start()]])
        pieces.append(_expand_group(match.group(1)))
        pos = match.end()
    pieces.append([term[pos:]])
    if "[" in term[pos:] or "]" in term[pos:]:
        raise SpecError(f"unbalanced bracket in {term!r}")
    return ["".join(combo) for combo in itertools.product(*pieces)]


def _count(body: str) -> int:
    total = 0
    for part in body.split(","):
        match = _RANGE_RE.fullmatch(part.strip())
        if match:
            total += abs(int(match.group(2)) - int(match.group(1))) + 1
        elif part.strip():
            total += 1
    return total


def split_terms(text: str) -> list[str]:
    """``a,b[1-2],c`` split at the commas outside brackets, not expanded."""
    if "[" not in text:
        return [term.strip() for term in text.split(",") if term.strip()]
    terms: list[str] = []
    depth = 0
    current: list[str] = []
    for char in text:
        if char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
        if char == "," and depth == 0:
            terms.append("".join(current))
            current = []
        else:
            current.append(char)
    terms.append("".join(current))
    return [term.strip() for term in terms if term.strip()]


def term_size(term: str) -> int:
    """How many names ``term`` expands to (``x[1-3][a,b]`` → 6), without expanding it."""
    if "[" not in term:
        return 1
    size = 1
    for match in re.finditer(r"\[([^\[\]]*)\]", term):
        size *= max(_count(match.group(1)), 1)
    return size


def list_size(text: str) -> int:
    """How many names a comma list or chain such as ``start,s[1-3]`` expands to."""
    return sum(term_size(term) for term in split_terms(text))


def split_list(text: str) -> list[str]:
    """Split ``a,b[1-2],c`` at the commas outside brackets and expand each term."""
    names: list[str] = []
    for term in split_terms(text):
        names.extend(expand(term))
    return names


def chain_edges(chain: str) -> list[tuple[str, str]]:
    """Edges of one dependency chain: ``start,s[1-3]`` → start→s1, s1→s2, s2→s3."""
    names = split_list(chain)
    return list(zip(names, names[1:]))
