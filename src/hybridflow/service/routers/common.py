"""Shared pieces of the API routers: path parameters and cached, ETag-aware responses."""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from typing import Annotated

from fastapi import Path, Query, Request, Response

from ..archive import TooLarge
from ..errors import ERROR_RESPONSES
from ..schemas import NAME_PATTERN
from ..snapshots import Version

API = "/api/v1"

WorkflowName = Annotated[str, Path(pattern=NAME_PATTERN, max_length=200, description="Workflow name.")]
JobName = Annotated[str, Path(pattern=NAME_PATTERN, max_length=200, description="Job name.")]

Fresh = Annotated[bool, Query(description="Answer from the current state: no cached answer that may lag "
                                          "other processes' changes by up to a second.")]

#: error answers documented on every route of the API
RESPONSES = ERROR_RESPONSES


def etag_for(version: Version, rendering: str) -> str:
    return f'{version.etag[:-1]}-{rendering}"'


@dataclass(frozen=True, slots=True)
class Body:
    """A rendering kept in the cache: its bytes and, for big ones, their gzip."""

    raw: bytes
    gzipped: bytes | None

    @classmethod
    def of(cls, content: bytes | str) -> Body:
        raw = content.encode() if isinstance(content, str) else content
        return cls(raw, gzip.compress(raw, compresslevel=1, mtime=0) if len(raw) >= GZIP_MIN else None)


GZIP_MIN = 4096


def cached_response(request: Request, version: Version, rendering: str, body: Body, media_type: str) -> Response:
    """``body`` with an ETag of ``version`` (gzipped when the client accepts it); 304 when
    the client already has this version."""
    etag = etag_for(version, rendering)
    headers = {"ETag": etag, "Cache-Control": "no-cache", "Vary": "Accept-Encoding"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    if body.gzipped is not None and "gzip" in request.headers.get("accept-encoding", ""):
        headers["Content-Encoding"] = "gzip"
        return Response(content=body.gzipped, media_type=media_type, headers=headers)
    return Response(content=body.raw, media_type=media_type, headers=headers)


async def read_body(request: Request, limit: int) -> bytes:
    """The request's body, read in chunks: :class:`TooLarge` (413) once past ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise TooLarge(f"upload of {declared} bytes is over the limit of {limit} bytes")
    chunks: list[bytes] = []
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > limit:
            raise TooLarge(f"upload is over the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)
