"""Renderers: pure functions from a :class:`~hybridflow.snapshot.WorkflowView` to a status
table (``rich``), plain rows, JSON, SVG, DOT or Mermaid. No I/O, no printing.

The graph renderers (and networkx, which lays graphs out) load on first use: a run that
only prints a table or a summary does not import them.
"""

from __future__ import annotations

import importlib
from typing import Any

from .json import to_json, to_json_dict
from .table import status_rows, status_table

#: names served from a module loaded on first access (PEP 562)
_LAZY = {"state_colors": "graph", "to_dot": "graph", "to_mermaid": "graph", "to_svg": "graph"}

__all__ = [
    "state_colors",
    "status_rows",
    "status_table",
    "to_dot",
    "to_json",
    "to_json_dict",
    "to_mermaid",
    "to_svg",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
