"""Job names: validation and cloudmesh-style bracket expansion (``x[1-3]`` → x1, x2, x3)."""

from __future__ import annotations

import itertools
import re

from .errors import SpecError

NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]*$")
_RANGE_RE = re.compile(r"^(\d+)-(\d+)$")


def check_name(name: str) -> str:
    """Return ``name`` if it is a valid job name, else raise :class:`SpecError`."""
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise SpecError(
            f"invalid job name {name!r}: use letters, digits, '.', '_', '-' "
            "and do not start with '-' or '.'"
        )
    return name


def _expand_group(body: str) -> list[str]:
    items: list[str] = []
    for part in body.split(","):
        part = part.strip()
        match = _RANGE_RE.match(part)
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
        match = _RANGE_RE.match(part.strip())
        if match:
            total += abs(int(match.group(2)) - int(match.group(1))) + 1
        elif part.strip():
            total += 1
    return total


def split_terms(text: str) -> list[str]:
    """``a,b[1-2],c`` split at the commas outside brackets, not expanded."""
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
