"""Shared pieces of the API routers: path parameters and cached, ETag-aware responses."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Request, Response

from ..errors import ERROR_RESPONSES
from ..schemas import NAME_PATTERN
from ..snapshots import Version

API = "/api/v1"

WorkflowName = Annotated[str, Path(pattern=NAME_PATTERN, max_length=200, description="Workflow name.")]
JobName = Annotated[str, Path(pattern=NAME_PATTERN, max_length=200, description="Job name.")]

#: error answers documented on every route of the API
RESPONSES = ERROR_RESPONSES


def etag_for(version: Version, rendering: str) -> str:
    return f'{version.etag[:-1]}-{rendering}"'


def cached_response(request: Request, version: Version, rendering: str, body: bytes | str,
                    media_type: str) -> Response:
    """``body`` with an ETag of ``version``; 304 when the client already has it."""
    etag = etag_for(version, rendering)
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(content=body, media_type=media_type, headers=headers)
