"""``/api/v1/workflows/{name}/status``: the status as ``hflow workflow status`` prints it."""

from __future__ import annotations

import io
import json
from enum import StrEnum
from typing import Annotated, Any

import yaml
from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from rich.console import Console

from ... import render
from ...render.cost import cost
from ...snapshot import WorkflowView
from ..deps import StateDep
from .common import API, RESPONSES, Body, Fresh, WorkflowName, cached_response

router = APIRouter(prefix=f"{API}/workflows", tags=["status"], responses=RESPONSES)


class StatusFormat(StrEnum):
    json = "json"
    yaml = "yaml"
    table = "table"


MEDIA = {"json": "application/json", "yaml": "application/yaml", "table": "text/plain; charset=utf-8"}
STATUS_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The status in the asked format (the same document as the CLI's).",
        "content": {
            "application/json": {"schema": {"type": "object"}},
            "application/yaml": {"schema": {"type": "string"}},
            "text/plain": {"schema": {"type": "string"}},
        },
    }
}


def _table(view: WorkflowView, width: int) -> str:
    buffer = io.StringIO()
    Console(file=buffer, width=width, color_system=None, force_terminal=False,
            highlight=False).print(render.status_table(view))
    return buffer.getvalue()


def render_status(view: WorkflowView, fmt: str, width: int = 120) -> bytes:
    if fmt == "json":
        return json.dumps(render.to_json_dict(view), separators=(",", ":")).encode()
    if fmt == "yaml":
        return yaml.safe_dump(render.to_json_dict(view), sort_keys=False).encode()
    return _table(view, width).encode()


@router.get("/{name}/status", summary="Status as JSON, YAML or a table", response_class=Response,
            responses=STATUS_RESPONSES)
async def workflow_status(
    name: WorkflowName,
    request: Request,
    hf: StateDep,
    format: Annotated[StatusFormat, Query(description="json, yaml or table")] = StatusFormat.json,
    width: Annotated[int, Query(ge=40, le=400, description="Width of the table format.")] = 120,
    fresh: Fresh = False,
) -> Response:
    """The document ``hflow workflow status -o FORMAT`` prints; cached per change, ETag-aware."""
    key = f"status-{format.value}-{width if format is StatusFormat.table else 0}"
    version, body = await hf.cache.aget(hf.stores.get, name, key,
                                        lambda view, _: Body.of(render_status(view, format.value, width)), fresh)
    return cached_response(request, version, key, body, MEDIA[format.value])


@router.get("/{name}/cost", summary="The bill: node-hours and allocation units")
async def workflow_cost(name: WorkflowName, hf: StateDep) -> dict[str, Any]:
    """What ``hflow workflow cost NAME -o json`` prints: per job, per sweep, this run and
    all runs (attempts of batch kinds record their usage when they finish)."""

    def report() -> dict[str, Any]:
        store = hf.stores.get()
        return cost(store.view(name), store.attempts(name)).to_dict()

    return await run_in_threadpool(report)
