"""``/api/v1/workflows/{name}/graph``: the DAG as SVG, DOT or Mermaid, coloured by state.

The SVG follows the contract of :mod:`hybridflow.render.graph` (``g.node[data-job]``,
``data-state``, ``data-state-colors``) that the web UI uses to recolour nodes live.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from ... import render
from ...errors import SpecError
from ..deps import StateDep
from ..snapshots import read_version
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


#: grouped layouts by (database, workflow id, generation, expanded families): they change
#: only with the jobs
_LAYOUTS: OrderedDict[tuple[str, int, int, tuple[str, ...]], Body] = OrderedDict()
_LAYOUTS_LOCK = threading.Lock()
LAYOUTS_KEPT = 16


@router.get("/{name}/layout", summary="The grouped DAG, laid out (JSON)")
async def workflow_layout(
    name: WorkflowName,
    request: Request,
    hf: StateDep,
    expand: Annotated[str, Query(max_length=4000, description="Ids of families to draw job by job "
                                 "(comma-separated, e.g. fam:part[1-30]); at most 300 jobs each.")] = "",
) -> Response:
    """Families of jobs (a bracket expansion, a sweep, eight or more siblings with the same
    parents and children) as one node each, laid out server-side: ``nodes`` (``id``,
    ``label``, ``kind``, ``members``, centre ``x``/``y``, ``w``/``h``; a job of an expanded
    family has its ``family``), ``edges`` (``source``, ``target``, ``points``), ``width``,
    ``height``, ``expanded``. States are not in it: the client counts them per family from
    the jobs and the event stream. Computed once per change of the jobs."""
    from ...render.families import ExpandError, grouped_layout

    opened = tuple(sorted({part.strip() for part in expand.split(",") if part.strip()}))

    def read() -> tuple[str, Body]:
        store = hf.stores.get()
        version = read_version(store, name)
        key = (str(store.path), version.wid, version.generation, opened)
        with _LAYOUTS_LOCK:
            body = _LAYOUTS.get(key)
        if body is None:
            spec = store.spec(name)
            try:
                plan = grouped_layout(spec.jobs, spec.edges, opened)
            except ExpandError as exc:
                raise SpecError(f"workflow '{name}': {exc}") from None
            body = Body.of(json.dumps(plan, separators=(",", ":")))
            with _LAYOUTS_LOCK:
                _LAYOUTS[key] = body
                while len(_LAYOUTS) > LAYOUTS_KEPT:
                    _LAYOUTS.popitem(last=False)
        tag = hashlib.sha256("\n".join(opened).encode()).hexdigest()[:12] if opened else "all"
        return f'"layout-{version.wid}-{version.generation}-{tag}"', body

    etag, body = await run_in_threadpool(read)
    headers = {"ETag": etag, "Cache-Control": "no-cache", "Vary": "Accept-Encoding"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    if body.gzipped is not None and "gzip" in request.headers.get("accept-encoding", ""):
        headers["Content-Encoding"] = "gzip"
        return Response(content=body.gzipped, media_type="application/json", headers=headers)
    return Response(content=body.raw, media_type="application/json", headers=headers)
