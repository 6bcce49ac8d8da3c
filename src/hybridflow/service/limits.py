"""Checks that keep one request from making the service do unbounded work.

Bracket expansion (``x[1-1000000000]``) can turn a few bytes into millions of names; this
measures a name list *before* it is expanded, and raises
:class:`~hybridflow.service.archive.TooLarge` (whole documents are bounded by
:mod:`hybridflow.yamlsafe` and :mod:`hybridflow.load`).
"""

from __future__ import annotations

from ..names import list_size
from .archive import TooLarge


def check_names(text: str, limit: int, what: str = "name list") -> None:
    size = list_size(text)
    if size > limit:
        raise TooLarge(f"{what} {text[:60]!r} expands to {size} names (limit {limit})")
