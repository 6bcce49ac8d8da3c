"""hybridflow's exceptions mapped to HTTP answers: always 4xx with one line, never a 500.

=============================  ======  ==========================================
exception                      status  meaning
=============================  ======  ==========================================
TooLarge, LimitError           413     over the upload / expansion / size limits
SpecError (ArchiveError ...)   422     invalid workflow, job, name or archive
NotFoundError                  404     no such workflow, job or log
UnsafeFile                     403     a file a job left that is not served (a link...)
LockedError (RunConflict ...)  409     running, or the name is taken
StateError, StoreError         409     the state does not allow it now
RunRefused                     422/409 the coordinator refused (its own message)
HostError                      502     a remote host could not be reached or read (a log)
HybridflowError                400     anything else hybridflow refused
RequestValidationError         422     malformed parameters or JSON body
=============================  ======  ==========================================
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..errors import (
    HostError,
    HybridflowError,
    LimitError,
    LockedError,
    NotFoundError,
    SpecError,
    StateError,
    StoreError,
)
from .archive import TooLarge
from .files import UnsafeFile
from .runner import RunRefused
from .schemas import ErrorOut

log = logging.getLogger(__name__)

#: the error responses documented on every API route
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut, "description": text}
    for code, text in [
        (400, "Refused"), (401, "Missing or invalid token"), (403, "CSRF or origin check failed, or a file that is not served"),
        (404, "No such workflow, job or log"), (409, "Conflicts with the current state"),
        (413, "Too large"), (422, "Invalid input"), (502, "A remote host could not be reached or read"),
    ]
}


def status_for(exc: HybridflowError) -> int:
    if isinstance(exc, (TooLarge, LimitError)):
        return 413
    if isinstance(exc, UnsafeFile):
        return 403
    if isinstance(exc, SpecError):
        return 422
    if isinstance(exc, NotFoundError):
        return 404
    if isinstance(exc, RunRefused):
        return 422 if exc.invalid else 409
    if isinstance(exc, (LockedError, StateError, StoreError)):
        return 409
    if isinstance(exc, HostError):
        return 502
    return 400


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def error(status: int, detail: str) -> JSONResponse:
    return JSONResponse({"detail": _one_line(detail)}, status_code=status)


def _location(loc: Any) -> str:
    parts = [str(p) for p in loc if p not in ("body",)] or ["body"]
    return ".".join(parts)


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""

    @app.exception_handler(HybridflowError)
    async def _hybridflow(request: Request, exc: HybridflowError) -> JSONResponse:
        status = status_for(exc)
        log.info("%s %s -> %d: %s", request.method, request.url.path, status, exc)
        return error(status, str(exc))

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        first = errors[0] if errors else {"loc": ("body",), "msg": "invalid request"}
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        return error(422, f"{_location(first.get('loc', ()))}: {first.get('msg', 'invalid')}{more}")

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        response = error(exc.status_code, str(exc.detail))
        for key, value in (exc.headers or {}).items():
            response.headers[key] = value
        return response
