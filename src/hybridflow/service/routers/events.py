"""``/api/v1/workflows/{name}/events``: a server-sent-events stream of state and progress.

Backed by the store's events table (``Store.events(after=...)``), so it shows changes made
by any coordinator, the CLI's included. Each event has the table's id as its SSE ``id``:
a client that reconnects (``Last-Event-ID``) or passes ``after`` misses nothing.

Event types: ``state`` (a job changed state), ``progress`` (a job reported progress),
``workflow`` (the run started or ended), ``spec`` (jobs or edges changed: fetch the
workflow again), ``running`` (a coordinator took or left the lock, or died) and
``deleted`` (the workflow is gone; the stream ends). Data is JSON.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from ...errors import NotFoundError
from ..deps import ServiceState, StateDep
from ..snapshots import Version, read_version
from .common import API, RESPONSES, WorkflowName

router = APIRouter(prefix=f"{API}/workflows", tags=["events"], responses=RESPONSES)

BATCH = 500
KEEPALIVE = 15.0
EVENT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "An endless text/event-stream (with follow=false: the backlog only).",
          "content": {"text/event-stream": {"schema": {"type": "string"}}}}
}


def _fetch(hf: ServiceState, name: str, after: int) -> tuple[Version, list[dict[str, Any]]]:
    store = hf.stores.get()
    return read_version(store, name), store.events(name, after=after, limit=BATCH)


def _sse(event: str, data: Any, ident: int | None = None) -> str:
    head = f"id: {ident}\n" if ident is not None else ""
    return f"{head}event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


async def _stream(hf: ServiceState, name: str, version: Version, cursor: int, follow: bool) -> AsyncIterator[str]:
    generation, running = version.generation, version.lock_alive()
    yield "retry: 2000\n\n"
    last_sent = time.monotonic()
    while True:
        try:
            version, rows = await run_in_threadpool(_fetch, hf, name, cursor)
        except NotFoundError:
            yield _sse("deleted", {"name": name})
            return
        sent = bool(rows)
        for row in rows:
            cursor = row["id"]
            yield _sse(row["kind"], row, cursor)
        if version.generation != generation:
            generation, sent = version.generation, True
            yield _sse("spec", {"generation": generation})
        alive = version.lock_alive()
        if alive != running:
            running, sent = alive, True
            yield _sse("running", {"running": alive, "pid": version.lock_pid if alive else None})
        if sent:
            last_sent = time.monotonic()
        if len(rows) == BATCH:
            continue
        if not follow:
            return
        if time.monotonic() - last_sent > KEEPALIVE:
            last_sent = time.monotonic()
            yield ": keepalive\n\n"
        await asyncio.sleep(hf.settings.stream_interval)


@router.get("/{name}/events", summary="Stream state and progress changes (SSE)",
            response_class=StreamingResponse, responses=EVENT_RESPONSES)
async def workflow_events(
    name: WorkflowName,
    hf: StateDep,
    after: Annotated[int | None, Query(ge=0, le=2**62, description="Send events with a larger id.")] = None,
    follow: Annotated[bool, Query(description="Keep the stream open for new events.")] = True,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID", max_length=30,
                                                description="Set by EventSource on reconnect.")] = None,
) -> StreamingResponse:
    """Events after ``after`` (or ``Last-Event-ID``; default: from the start), then live ones."""
    version = await run_in_threadpool(lambda: read_version(hf.stores.get(), name))
    cursor = after or 0
    if last_event_id and last_event_id.strip().isdigit():
        cursor = max(cursor, int(last_event_id.strip()))
    return StreamingResponse(
        _stream(hf, name, version, cursor, follow),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
