"""Per-service call tokens: who may call which service.

The admin token (:mod:`.tokens`) may do everything. A call token (``hflow service token
create --service forecast --expires 7d``) names one service: it may describe and call
that service and read the calls it made itself, and nothing else (403). Tokens are
``hfc_ID_SECRET``; only their sha256 is stored, so the services database holds no usable
secret. A revoked or expired token is refused (401) like a wrong one.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from dataclasses import dataclass

from ..errors import NotFoundError, SpecError
from .servicedb import ServiceDB, TokenRow

PREFIX = "hfc_"
_SERVICE_PATH = re.compile(r"^/api/v1/services/(?P<name>[A-Za-z0-9_][A-Za-z0-9._-]*)(?P<rest>/.*)?$")
_CALL_ROUTES = re.compile(r"^(|/calls|/calls/[A-Za-z0-9._-]+(/result|/events)?)$")


@dataclass(frozen=True, slots=True)
class CallScope:
    """What a call token is: its id (the ``user`` of its calls) and its one service."""

    token_id: str
    service: str

    @property
    def user(self) -> str:
        return f"token:{self.token_id}"


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create(db: ServiceDB, service: str, expires_in: float | None) -> tuple[str, TokenRow]:
    """A new call token for ``service`` (which must be published): the secret (shown once) and its row."""
    if db.service(service) is None:
        known = ", ".join(row.name for row in db.services()) or "none"
        raise NotFoundError(f"no published service '{service}' (published: {known})")
    if expires_in is not None and expires_in <= 0:
        raise SpecError("--expires must be a positive duration (7d, 12h...)")
    token_id = secrets.token_hex(4)
    token = f"{PREFIX}{token_id}_{secrets.token_urlsafe(24)}"
    row = db.add_token(token_id, service, digest(token), None if expires_in is None else time.time() + expires_in)
    return token, row


def resolve(db: ServiceDB, token: str) -> CallScope | None:
    """The scope of a valid call token; None for anything else (unknown, revoked, expired)."""
    if not token.startswith(PREFIX):
        return None
    row = db.token_by_hash(digest(token))
    if row is None or not row.valid():
        return None
    return CallScope(row.id, row.service)


def allows(scope: CallScope, method: str, path: str) -> bool:
    """Whether a call token of ``scope`` may make this request (reading a particular call
    is checked again by the route: only the token's own calls)."""
    match = _SERVICE_PATH.match(path)
    if match is None or match.group("name") != scope.service:
        return False
    rest = match.group("rest") or ""
    if not _CALL_ROUTES.match(rest):
        return False
    if method == "POST":
        return rest == "/calls"
    return method in ("GET", "HEAD")
