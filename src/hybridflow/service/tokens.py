"""The service token: one secret per ``$HYBRIDFLOW_HOME``, kept in a mode-0600 file.

Everything a client presents is derived from it, so rotating the token (``hflow service
token --rotate``) logs out every browser at once:

- API clients send ``Authorization: Bearer TOKEN``;
- a browser that logged in with the token holds a session cookie whose value is
  ``HMAC(token, "session")``, and sends ``HMAC(token, "csrf")`` in an ``X-CSRF-Token``
  header (or a ``csrf_token`` form field) with every state-changing request.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import os
import secrets
import stat
from pathlib import Path

from ..errors import HybridflowError

log = logging.getLogger(__name__)

TOKEN_FILE = "service-token"
#: environment variable that configures the token instead of the file
TOKEN_ENV = "HYBRIDFLOW_SERVICE_TOKEN"


class TokenError(HybridflowError):
    """The token file cannot be used (unreadable, empty): one line, like every hybridflow error."""


def token_path(home: Path) -> Path:
    return home / TOKEN_FILE


def read_token(home: Path) -> str | None:
    """The configured token (``$HYBRIDFLOW_SERVICE_TOKEN`` first, then the file), or None."""
    env = os.environ.get(TOKEN_ENV, "").strip()
    if env:
        return env
    path = token_path(home)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("%s was readable by others; setting its mode to 0600", path)
        path.chmod(0o600)
    text = path.read_text(encoding="utf-8").strip()
    if not text:
        raise TokenError(f"{path} is empty: delete it or run 'hflow service token --rotate'")
    return text


def create_token(home: Path, *, rotate: bool = False) -> str:
    """Write a new random token to the token file (mode 0600 from the start) and return it.

    Without ``rotate`` an existing file is kept and its token returned.
    """
    home.mkdir(parents=True, exist_ok=True)
    path = token_path(home)
    if not rotate:
        existing = read_token(home) if path.exists() else None
        if existing:
            return existing
    token = secrets.token_urlsafe(32)
    tmp = path.with_name(f".{TOKEN_FILE}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(token + "\n")
    os.replace(tmp, path)
    return token


def load_or_create(home: Path) -> str:
    """The configured token, generating the file on first use."""
    return read_token(home) or create_token(home)


def derive(token: str, purpose: str) -> str:
    """A value bound to ``token`` for one ``purpose`` (``session``, ``csrf``)."""
    return hmac.new(token.encode(), purpose.encode(), hashlib.sha256).hexdigest()


def same(a: str | None, b: str) -> bool:
    """Constant-time comparison that accepts a missing value (never equal)."""
    return a is not None and hmac.compare_digest(a.encode(), b.encode())


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and ``localhost``: the only binds allowed without a token."""
    if host.strip("[]").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
