"""Authentication of every request, and CSRF protection of browser sessions.

:class:`AuthMiddleware` wraps the whole ASGI app, so no route — API, OpenAPI document,
docs page, UI page or static file — is reachable without the token, whatever router it
sits in. Only :data:`PUBLIC_PATHS` (the login page) answer anonymous requests.

Contract:

- ``Authorization: Bearer TOKEN`` authenticates; a wrong bearer token is a 401 even when
  a valid cookie is sent too. A per-service call token (:mod:`.scopes`) authenticates
  too, for its one service's routes only: anything else is 403.
- Otherwise the session cookie set by ``POST /login`` authenticates. A state-changing
  request (not GET/HEAD/OPTIONS) made with the cookie must carry the CSRF value in the
  ``X-CSRF-Token`` header and, when the browser sends ``Origin``, come from this origin;
  else 403. Routes in :data:`SELF_CHECKED` check a ``csrf_token`` form field themselves.
- Unauthenticated: API paths, non-GET requests and GETs that do not accept HTML get 401
  (JSON, ``WWW-Authenticate: Bearer``); page GETs are redirected (303) to
  ``/login?next=PATH``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from urllib.parse import quote, urlsplit

from starlette.datastructures import Headers
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Receive, Scope, Send

from .scopes import CallScope, allows
from .tokens import derive, same

log = logging.getLogger(__name__)

SESSION_COOKIE = "hf_session"
CSRF_HEADER = "x-csrf-token"
PUBLIC_PATHS = frozenset({"/login"})
SELF_CHECKED = frozenset({"/logout"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
API_PREFIXES = ("/api/", "/openapi.json", "/workflow/")
#: cloudmesh-cc's REST routes that are not under a prefix of their own (scripts, not pages)
API_PATHS = frozenset({"/workflows", "/workflow"})

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'self'; object-src 'none'"
)
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),  # no-referrer would make browsers send "Origin: null"
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", CSP.encode()),
]


class Credentials:
    """The values a client may present, all derived from the one token."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.session = derive(token, "session")
        self.csrf = derive(token, "csrf")


async def _send_simple(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-length", str(len(body)).encode()), *headers, *SECURITY_HEADERS]})
    await send({"type": "http.response.body", "body": body})


def _same_origin(origin: str, headers: Headers) -> bool:
    host = headers.get("host") or ""
    parts = urlsplit(origin)
    return bool(host) and parts.scheme in ("http", "https") and parts.netloc.lower() == host.lower()


def wants_page(path: str, method: str, headers: Headers) -> bool:
    """Whether an anonymous request should be sent to the login page (not answered 401):
    a browser navigating to a page, not an API call, a script or an image (favicon)."""
    accept = headers.get("accept", "")
    return (method in ("GET", "HEAD") and not path.startswith(API_PREFIXES) and path not in API_PATHS
            and ("text/html" in accept or not accept or accept == "*/*"))


class AuthMiddleware:
    """Pure ASGI middleware enforcing the token on every HTTP request (see module doc)."""

    def __init__(self, app: ASGIApp, credentials: Credentials,
                 call_scope: Callable[[str], CallScope | None] | None = None) -> None:
        self.app = app
        self.credentials = credentials
        self.call_scope = call_scope

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path, method = scope["path"], scope["method"]
        headers = Headers(scope=scope)
        if path in PUBLIC_PATHS:
            await self.app(scope, receive, send)
            return
        how = self._authenticate(headers)
        if how == "invalid" and self.call_scope is not None:
            call = self.call_scope(headers.get("authorization", "").partition(" ")[2].strip())
            if call is not None:
                if not allows(call, method, path):
                    body = json.dumps({"detail": f"this token may only call service '{call.service}' "
                                                 "and read its own calls"}).encode()
                    await _send_simple(send, 403, body, [(b"content-type", b"application/json")])
                    return
                scope.setdefault("state", {}).update(auth="call", call_scope=call)
                await self.app(scope, receive, send)
                return
        if how == "invalid" or how is None:
            await self._reject(scope, send, invalid=how == "invalid")
            return
        if how == "cookie" and method not in SAFE_METHODS:
            problem = self._csrf_problem(path, headers)
            if problem:
                body = json.dumps({"detail": problem}).encode()
                await _send_simple(send, 403, body, [(b"content-type", b"application/json")])
                return
        scope.setdefault("state", {})["auth"] = how
        await self.app(scope, receive, send)

    def _authenticate(self, headers: Headers) -> str | None:
        authorization = headers.get("authorization")
        if authorization is not None:
            scheme, _, credential = authorization.partition(" ")
            if scheme.lower() == "bearer" and same(credential.strip(), self.credentials.token):
                return "bearer"
            return "invalid"
        cookies = cookie_parser(headers.get("cookie", ""))
        if same(cookies.get(SESSION_COOKIE), self.credentials.session):
            return "cookie"
        return None

    def _csrf_problem(self, path: str, headers: Headers) -> str | None:
        origin = headers.get("origin")
        if origin is not None and not _same_origin(origin, headers):
            return f"cross-origin request from {origin!r} refused"
        if path in SELF_CHECKED:
            return None
        if not same(headers.get(CSRF_HEADER), self.credentials.csrf):
            return "missing or wrong CSRF token (send the X-CSRF-Token header of the page)"
        return None

    async def _reject(self, scope: Scope, send: Send, *, invalid: bool) -> None:
        path, method = scope["path"], scope["method"]
        if not invalid and wants_page(path, method, Headers(scope=scope)):
            target = path + (f"?{scope['query_string'].decode('latin-1')}" if scope.get("query_string") else "")
            location = f"/login?next={quote(target, safe='')}"
            await _send_simple(send, 303, b"", [(b"location", location.encode())])
            return
        problem = "invalid token" if invalid else "missing token"
        body = json.dumps(
            {"detail": f"{problem}: send 'Authorization: Bearer TOKEN' (shown by 'hflow service token')"}
        ).encode()
        await _send_simple(send, 401, body, [(b"content-type", b"application/json"),
                                             (b"www-authenticate", b'Bearer realm="hybridflow"')])
