"""Renderers: pure functions from a :class:`~hybridflow.snapshot.WorkflowView` to a status
table (``rich``), plain rows, JSON, SVG, DOT or Mermaid. No I/O, no printing."""

from __future__ import annotations

from .graph import state_colors, to_dot, to_mermaid, to_svg
from .layout import layout
from .json import to_json, to_json_dict
from .table import status_rows, status_table

__all__ = [
    "layout",
    "state_colors",
    "status_rows",
    "status_table",
    "to_dot",
    "to_json",
    "to_json_dict",
    "to_mermaid",
    "to_svg",
]
