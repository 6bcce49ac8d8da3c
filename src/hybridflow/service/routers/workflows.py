"""``/api/v1/workflows``: list, upload, get (with state) and delete workflows."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from ...errors import NotFoundError
from .. import present, uploads
from ..deps import StateDep
from ..schemas import NAME_PATTERN, WorkflowDetail, WorkflowSummary
from .common import API, RESPONSES, Body, Fresh, WorkflowName, cached_response, read_body

log = logging.getLogger(__name__)
router = APIRouter(prefix=f"{API}/workflows", tags=["workflows"], responses=RESPONSES)

UPLOAD_BODY = {
    "required": True,
    "description": "The workflow YAML (cloudmesh-cc format), or a zip/tar(.gz) archive holding "
                   "it with its scripts. The kind is told from the content.",
    "content": {
        "application/yaml": {"schema": {"type": "string"}},
        "application/zip": {"schema": {"type": "string", "format": "binary"}},
        "application/gzip": {"schema": {"type": "string", "format": "binary"}},
    },
}


@router.get("", response_model=list[WorkflowSummary], summary="List workflows")
def list_workflows(hf: StateDep) -> list[WorkflowSummary]:
    """Every stored workflow (made by the CLI, the API or the service) with its state counts."""
    store = hf.stores.get()
    found: list[WorkflowSummary] = []
    for name in store.names():
        try:
            found.append(hf.cache.get(store, name, "summary", lambda view, _: present.summary(view))[1])
        except NotFoundError:
            continue  # deleted meanwhile
    return found


@router.post("", status_code=201, response_model=WorkflowSummary, summary="Upload a workflow",
             openapi_extra={"requestBody": UPLOAD_BODY})
async def upload_workflow(
    request: Request,
    hf: StateDep,
    name: Annotated[str | None, Query(pattern=NAME_PATTERN, max_length=200,
                                      description="Workflow name (default: the YAML's 'name:').")] = None,
    file: Annotated[str | None, Query(max_length=1000, description="Path of the YAML inside an archive.")] = None,
    replace: Annotated[bool, Query(description="Replace a stored workflow of that name.")] = False,
    filename: Annotated[str | None, Query(max_length=255, description="The client's file name: named in "
                                          "errors, and the default workflow name.")] = None,
    strict: Annotated[bool, Query(description="Refuse unknown keys (422) instead of storing them with a "
                                  "warning, as --strict does.")] = False,
) -> WorkflowSummary:
    """Validate and store a workflow, exactly as ``hflow workflow add --filename`` does.

    Nothing is stored unless the whole upload is valid: 422 names the problem (YAML
    syntax with line, cycle, unknown dependency or kind, bad name, archive member with
    '..', an absolute path or a link), 413 an upload over the limits,
    409 a name in use (without ``replace``) or a running workflow. A script that does not
    exist is stored with a warning (as cloudmesh-cc does): a run of it is refused.
    """
    data = await read_body(request, hf.settings.max_upload_bytes)

    def store_it() -> WorkflowSummary:
        store = hf.stores.get()
        spec = uploads.store_upload(store, hf.settings, data, name=name, file=file, replace=replace,
                                    filename=filename, strict=strict, name_lock=hf.name_lock)
        hf.cache.forget(spec.name)
        return present.summary(store.view(spec.name)).model_copy(update={"warnings": list(spec.warnings)})

    return await run_in_threadpool(store_it)


@router.get("/{name}", response_model=WorkflowDetail, summary="Get a workflow with its state")
async def get_workflow(name: WorkflowName, request: Request, hf: StateDep, fresh: Fresh = False) -> Response:
    """The workflow, every job's state, progress and times, its edges and colours.

    Answers carry an ETag; ``If-None-Match`` gets 304 while nothing changed.
    """
    version, body = await hf.cache.aget(hf.stores.get, name, "detail",
                                        lambda view, version: Body.of(present.detail(view, version).model_dump_json()), fresh)
    return cached_response(request, version, "detail", body, "application/json")


@router.delete("/{name}", status_code=204, summary="Delete a workflow")
def delete_workflow(name: WorkflowName, hf: StateDep) -> Response:
    """Delete a workflow that is not running (409 while it runs), with its uploaded files."""
    store = hf.stores.get()
    with hf.name_lock(name):
        store.delete(name)
        uploads.remove_upload(hf.settings, name)
    hf.cache.forget(name)
    return Response(status_code=204)
