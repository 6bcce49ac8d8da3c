"""``/api/v1/workflows/{name}/graph``: the DAG as SVG, DOT or Mermaid, coloured by state.

The SVG follows the contract of :mod:`hybridflow.render.graph` (``g.node[data-job]``,
``data-state``, ``data-state-colors``) that the web UI uses to recolour nodes live.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from ... import render
from ..deps import StateDep
from .common import API, RESPONSES, Body, Fresh, WorkflowName, cached_response

router = APIRouter(prefix=f"{API}/workflows", tags=["graph"], responses=RESPONSES)


class GraphFormat(StrEnum):
    svg = "svg"
    dot = "dot"
    mermaid = "mermaid"


WRITERS = {"svg": render.to_svg, "dot": render.to_dot, "mermaid": render.to_mermaid}
MEDIA = {"svg": "image/svg+xml", "dot": "text/vnd.graphviz; charset=utf-8", "mermaid": "text/plain; charset=utf-8"}
GRAPH_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The graph document.",
        "content": {
            "image/svg+xml": {"schema": {"type": "string"}},
            "text/vnd.graphviz": {"schema": {"type": "string"}},
            "text/plain": {"schema": {"type": "string"}},
        },
    }
}


@router.get("/{name}/graph", summary="Graph as SVG, DOT or Mermaid", response_class=Response,
            responses=GRAPH_RESPONSES)
async def workflow_graph(
    name: WorkflowName,
    request: Request,
    hf: StateDep,
    format: Annotated[GraphFormat, Query(description="svg, dot or mermaid")] = GraphFormat.svg,
    fresh: Fresh = False,
) -> Response:
    """The graph with nodes coloured by state and labels from the templates (cached per change)."""
    key = f"graph-{format.value}"
    version, body = await hf.cache.aget(hf.stores.get, name, key,
                                        lambda view, _: Body.of(WRITERS[format.value](view)), fresh)
    return cached_response(request, version, key, body, MEDIA[format.value])
