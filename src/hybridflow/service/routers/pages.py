"""The web UI's pages and its login: HTML shells whose scripts talk to the JSON API.

Login contract: ``GET /login`` sets a random pre-login cookie and puts the same value in
the form (double submit); ``POST /login`` with the right token and that value sets the
session cookie (HttpOnly, SameSite=Strict) and redirects to ``next`` — a local path only.
Pages embed the CSRF value in ``<meta name="csrf-token">`` for the scripts' requests;
``POST /logout`` checks it as a form field.
"""

from __future__ import annotations

import logging
import secrets
from importlib import resources
from typing import Annotated
from urllib.parse import parse_qs

from fastapi import APIRouter, Path, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from ... import __version__
from ..auth import SESSION_COOKIE
from ..deps import StateDep
from ..schemas import NAME_PATTERN
from ..tokens import same

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)

UI = resources.files("hybridflow.service").joinpath("ui")
templates = Jinja2Templates(directory=str(UI.joinpath("templates")))
LOGIN_COOKIE = "hf_login"
MAX_FORM = 8192
SESSION_DAYS = 7


def _safe_next(target: str | None) -> str:
    """Only a local absolute path: never another host (``//evil``, ``https://...``)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _page(request: Request, hf: StateDep, template: str, **context: object) -> HTMLResponse:
    return templates.TemplateResponse(request, template, {
        "csrf": hf.credentials.csrf, "version": __version__, **context,
    })


async def _form(request: Request) -> dict[str, str]:
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM:
            break
    fields = parse_qs(body[:MAX_FORM].decode("utf-8", errors="replace"), keep_blank_values=True)
    return {key: values[0] for key, values in fields.items()}


def _login_page(request: Request, next_path: str, error: str | None, status: int = 200) -> HTMLResponse:
    """The form, with the pre-login CSRF value; an existing one is kept (a second tab or a
    stray request must not invalidate the form already shown)."""
    current = request.cookies.get(LOGIN_COOKIE, "")
    nonce = current if len(current) == 32 and current.replace("-", "").replace("_", "").isalnum() else secrets.token_urlsafe(24)
    response = templates.TemplateResponse(
        request, "login.html", {"next": next_path, "login_csrf": nonce, "error": error, "version": __version__},
        status_code=status,
    )
    response.set_cookie(LOGIN_COOKIE, nonce, httponly=True, samesite="strict", path="/login",
                        secure=request.url.scheme == "https")
    return response


@router.get("/login")
def login_form(request: Request, next: str | None = None) -> HTMLResponse:
    return _login_page(request, _safe_next(next), None)


@router.post("/login")
async def login(request: Request, hf: StateDep) -> Response:
    form = await _form(request)
    next_path = _safe_next(form.get("next"))
    if not same(request.cookies.get(LOGIN_COOKIE), form.get("csrf_token", "") or "\0"):
        return _login_page(request, next_path, "The form expired; please try again.", 403)
    if not same(form.get("token", "").strip(), hf.credentials.token):
        log.warning("failed login from %s", request.client.host if request.client else "?")
        return _login_page(request, next_path, "Wrong token (see 'hflow service token').", 401)
    response = RedirectResponse(next_path, status_code=303)
    response.set_cookie(SESSION_COOKIE, hf.credentials.session, httponly=True, samesite="strict",
                        path="/", max_age=SESSION_DAYS * 86400, secure=request.url.scheme == "https")
    response.delete_cookie(LOGIN_COOKIE, path="/login")
    return response


@router.post("/logout")
async def logout(request: Request, hf: StateDep) -> Response:
    form = await _form(request)
    if not same(form.get("csrf_token"), hf.credentials.csrf):
        return Response("missing or wrong CSRF token", status_code=403, media_type="text/plain")
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/", response_class=HTMLResponse)
def workflows_page(request: Request, hf: StateDep) -> HTMLResponse:
    return _page(request, hf, "workflows.html", title="Workflows")


@router.get("/workflows/{name}", response_class=HTMLResponse)
def workflow_page(request: Request, hf: StateDep,
                  name: Annotated[str, Path(pattern=NAME_PATTERN, max_length=200)]) -> HTMLResponse:
    return _page(request, hf, "workflow.html", title=name, name=name)


@router.get("/docs", response_class=HTMLResponse)
def docs_page(request: Request, hf: StateDep) -> HTMLResponse:
    """Swagger UI from the vendored bundle (no CDN), reading ``/openapi.json``."""
    return _page(request, hf, "docs.html", title="API docs")
