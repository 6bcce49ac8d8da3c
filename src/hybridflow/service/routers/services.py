"""``/api/v1/services``: publish functions and workflows, call them, read their calls.

A call token (:mod:`..scopes`) reaches only its service's description, its ``calls``
routes and the calls it made itself; the admin token reaches everything. The body of
``POST /services/{name}/calls`` is the service's parameters as JSON; each published
service also has its own documented path in the OpenAPI document (see
:func:`openapi_paths`), whose request body is the schema of the function's signature.
"""

from __future__ import annotations

import asyncio
import copy
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path as PathParam, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from ...errors import NotFoundError, SpecError
from ..calls import Calls
from ..callschemas import CallList, CallOut, ParameterOut, PublishIn, ServiceList, ServiceOut
from ..deps import StateDep
from ..publish import Registry, Service, function_row, workflow_row
from ..schemas import NAME_PATTERN
from ..scopes import CallScope
from ..servicedb import ServiceDB
from ..signature import schema
from .common import API, RESPONSES, read_body

router = APIRouter(prefix=API, tags=["services"], responses=RESPONSES)

Name = Annotated[str, PathParam(pattern=NAME_PATTERN, max_length=200, description="Service name.")]
CallId = Annotated[str, PathParam(pattern=NAME_PATTERN, max_length=200, description="Call id.")]
Wait = Annotated[float, Query(ge=0, le=60, description="Seconds to wait for the call to finish (long poll).")]
WithLog = Annotated[bool, Query(description="Include the call's output so far.")]
MAX_BODY = 1 << 20
#: seconds between full reads of a call that a long poll sees unchanged
READ_EVERY = 2.0


@dataclass
class Services:
    """What the services routes share (``app.state.hf_services``)."""

    db: ServiceDB
    registry: Registry
    calls: Calls


def _services(request: Request) -> Services:
    services: Services = request.app.state.hf_services
    return services


def _scope(request: Request) -> CallScope | None:
    scope: CallScope | None = getattr(request.state, "call_scope", None)
    return scope


def _user(request: Request) -> str:
    scope = _scope(request)
    return "admin" if scope is None else scope.user


def describe(service: Service) -> ServiceOut:
    full = service.model.model_json_schema()
    required = set(full.get("required", []))
    parameters = []
    for key, prop in full.get("properties", {}).items():
        kind = prop.get("type") or ("object" if "$ref" in prop else "any")
        default = prop.get("default")
        parameters.append(ParameterOut(name=key, required=key in required, default=default, type=str(kind)))
    return ServiceOut(name=service.name, kind=service.row.kind, target=service.row.target,  # type: ignore[arg-type]
                      description=service.description, options=service.row.options, parameters=parameters,
                      body_schema=full)


@router.get("/services", response_model=ServiceList, summary="List published services")
def list_services(request: Request) -> ServiceList:
    """Every published service with its parameters (admin token only)."""
    return ServiceList(services=[describe(s) for s in _services(request).registry.all()])


@router.post("/services", response_model=ServiceOut, status_code=201, summary="Publish a function or workflow")
def publish(request: Request, body: PublishIn) -> ServiceOut:
    """Publish ``function: module:func`` (imported from ``path``) or ``workflow: FILE``
    (a path on the service's machine) under ``name`` (admin token only)."""
    services = _services(request)
    if (body.function is None) == (body.workflow is None):
        raise SpecError("give one of 'function' (module:func) and 'workflow' (a file)")
    if body.function is not None:
        row = function_row(body.name, body.function, body.options, body.path)
    else:
        file = Path(str(body.workflow)).expanduser()
        if not file.is_file():
            raise NotFoundError(f"no workflow file '{file}' on the service's machine")
        row = workflow_row(body.name, file)
    services.db.put_service(row)
    return describe(services.registry.get(row.name))


@router.get("/services/{name}", response_model=ServiceOut, summary="Describe a service")
def get_service(request: Request, name: Name) -> ServiceOut:
    """A service's parameters (names, types, defaults), body schema and description."""
    return describe(_services(request).registry.get(name))


@router.delete("/services/{name}", status_code=204, summary="Unpublish a service")
def unpublish(request: Request, name: Name) -> Response:
    """Remove the service (its calls stay readable until they expire)."""
    if not _services(request).db.remove_service(name):
        raise NotFoundError(f"no published service '{name}'")
    return Response(status_code=204)


CALL_BODY = {"requestBody": {"required": False, "content": {"application/json": {
    "schema": {"type": "object", "description": "The service's parameters (see GET /api/v1/services/{name})."}}}}}


@router.post("/services/{name}/calls", response_model=CallOut, status_code=202, summary="Call a service",
             openapi_extra=CALL_BODY, responses={200: {"model": CallOut, "description": "Finished within 'wait'"}})
async def call_service(request: Request, name: Name, hf: StateDep, response: Response, wait: Wait = 0) -> CallOut:
    """Start a call with the JSON body as the parameters; 422 names a wrong field. With
    ``wait``, answer once it finished (200) or after that many seconds (202)."""
    services = _services(request)
    body = await read_body(request, MAX_BODY)  # 413 past it: large data goes as files

    def start() -> CallOut:
        store = hf.stores.get()
        row = services.calls.start(store, services.registry.get(name), body, _user(request))
        return services.calls.read(store, row)

    answer = await run_in_threadpool(start)
    if wait > 0 and not answer.done:
        answer = await _wait(hf, services, answer.id, wait)
    response.status_code = 200 if answer.done else 202
    return answer


async def _wait(hf: Any, services: Services, call_id: str, wait: float, with_log: bool = False) -> CallOut:
    """The call's answer once it finished, or after ``wait`` seconds."""
    deadline = time.monotonic() + wait
    seen: Any = None
    read_at = [0.0]

    def look() -> tuple[Any, CallOut | None]:
        """The call's version, and its answer when that moved (or every READ_EVERY s: a
        call whose coordinator died does not move, and reading it resumes it)."""
        store = hf.stores.get()
        version = store.version(call_id) if store.exists(call_id) else None
        if version == seen and time.monotonic() - read_at[0] < READ_EVERY:
            return version, None
        read_at[0] = time.monotonic()
        return version, services.calls.read(store, services.calls.row(call_id), with_log=with_log)

    pause = 0.05
    answer: CallOut | None = None
    while True:
        seen, fresh = await run_in_threadpool(look)
        answer = fresh or answer
        if answer is not None and answer.done:
            return answer
        if time.monotonic() >= deadline:
            if answer is None:
                answer = await run_in_threadpool(lambda: services.calls.read(
                    hf.stores.get(), services.calls.row(call_id), with_log=with_log))
            return answer
        await asyncio.sleep(min(pause, max(0.0, deadline - time.monotonic())))
        pause = min(pause * 1.5, 0.5)


def _own_row(request: Request, name: str, call_id: str) -> Any:
    row = _services(request).calls.row(call_id)
    if row.service != name:
        raise NotFoundError(f"no call '{call_id}' of service '{name}'")
    scope = _scope(request)
    if scope is not None and row.user != scope.user:
        raise HTTPException(403, f"call '{call_id}' was not made with this token")
    return row


@router.get("/services/{name}/calls", response_model=CallList, summary="List a service's calls")
def list_calls(request: Request, name: Name, hf: StateDep,
               user: Annotated[str | None, Query(max_length=100, description="Only this user's calls (admin).")] = None,
               limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> CallList:
    """The latest calls, newest first: a call token sees only its own. 404 for a name that
    is neither published nor has calls left (an unpublished service's calls stay listed
    until they expire)."""
    services = _services(request)
    scope = _scope(request)
    who = scope.user if scope is not None else user
    store = hf.stores.get()
    services.calls.expire(store)
    rows = services.db.calls(name, who, limit)
    if not rows and services.db.service(name) is None:
        services.registry.get(name)  # raises NotFoundError, with "did you mean"
    return CallList(calls=[services.calls.read(store, row) for row in rows])


@router.get("/services/{name}/calls/{call_id}", response_model=CallOut, summary="Read a call")
async def get_call(request: Request, name: Name, call_id: CallId, hf: StateDep,
                   wait: Wait = 0, log: WithLog = False) -> CallOut:
    """State, progress, and once finished the result (or a ``result_url``) or error."""
    services = _services(request)
    await run_in_threadpool(_own_row, request, name, call_id)
    if wait > 0:
        return await _wait(hf, services, call_id, wait, with_log=log)
    return await run_in_threadpool(lambda: services.calls.read(hf.stores.get(), services.calls.row(call_id),
                                                               with_log=log))


@router.get("/services/{name}/calls/{call_id}/result", summary="Download a call's value",
            responses={200: {"content": {"application/octet-stream": {}, "application/json": {}},
                             "description": "The value: JSON, or cloudpickle bytes"}})
def get_result(request: Request, name: Name, call_id: CallId, hf: StateDep) -> Response:
    """The return value: JSON when it is JSON, else its cloudpickle bytes (``cloudpickle.loads``)."""
    services = _services(request)
    row = _own_row(request, name, call_id)
    store = hf.stores.get()
    answer = services.calls.read(store, row)
    if not answer.done:
        raise NotFoundError(f"call '{call_id}' has not finished (state {answer.state})")
    if answer.result_url is None:
        if answer.error is not None:
            raise NotFoundError(f"call '{call_id}' has no value: {answer.error}")
        return Response(json.dumps(answer.result), media_type="application/json")
    return Response(services.calls.result_bytes(store, row), media_type="application/octet-stream",
                    headers={"Content-Disposition": f'attachment; filename="{call_id}.pkl"'})


@router.get("/services/{name}/calls/{call_id}/events", summary="Follow a call's progress (server-sent events)",
            response_class=StreamingResponse,
            responses={200: {"content": {"text/event-stream": {}}, "description": "progress events, then done"}})
async def call_events(request: Request, name: Name, call_id: CallId, hf: StateDep) -> StreamingResponse:
    """``event: progress`` with the call's state and percent on every change, then
    ``event: done`` with the whole answer."""
    services = _services(request)
    await run_in_threadpool(_own_row, request, name, call_id)

    async def stream() -> AsyncIterator[str]:
        last: tuple[str, int] | None = None
        while not await request.is_disconnected():
            answer = await _wait(hf, services, call_id, 0.0)
            if answer.done:
                yield f"event: done\ndata: {answer.model_dump_json()}\n\n"
                return
            if (answer.state, answer.progress) != last:
                last = (answer.state, answer.progress)
                yield f"event: progress\ndata: {json.dumps({'state': answer.state, 'progress': answer.progress})}\n\n"
            await asyncio.sleep(hf.settings.stream_interval)

    return StreamingResponse(stream(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})


def openapi_paths(document: dict[str, Any], services: list[Service]) -> dict[str, Any]:
    """``document`` with a path per published service: the generic call operation with
    that service's body schema and description."""
    document = copy.deepcopy(document)
    paths = document.setdefault("paths", {})
    generic = paths.get(f"{API}/services/{{name}}/calls", {}).get("post")
    if generic is None:
        return document
    components = document.setdefault("components", {}).setdefault("schemas", {})
    for service in services:
        prefix = "svc_" + "".join(c if c.isalnum() else "_" for c in service.name) + "_"
        body, definitions = schema(service.model, prefix)
        components.update(definitions)
        operation = copy.deepcopy(generic)
        operation["parameters"] = [p for p in operation.get("parameters", []) if p.get("name") != "name"]
        operation["operationId"] = f"call_{prefix[4:-1]}"
        operation["summary"] = f"Call {service.name}"
        operation["description"] = service.description or f"Call the service {service.name}."
        operation["requestBody"] = {"required": bool(body.get("required")),
                                    "content": {"application/json": {"schema": body}}}
        paths[f"{API}/services/{service.name}/calls"] = {"post": operation}
    return document

