"""Every route needs the token; browser sessions need CSRF; the token file is private."""

from __future__ import annotations

import re
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.routing import Mount

from hybridflow.service import create_app, daemon, tokens

TOKEN = "auth-test-token"
STATIC = Path(__file__).resolve().parents[2] / "src" / "hybridflow" / "service" / "ui"


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return create_app(home=tmp_path_factory.mktemp("auth"), token=TOKEN)


@pytest.fixture
def anon(app: Any) -> Iterator[TestClient]:
    with TestClient(app, follow_redirects=False) as client:
        yield client


def walk(routes: list[Any], prefix: str = "") -> Iterator[tuple[str, set[str]]]:
    """(path, methods) of every route, descending into included routers and mounts."""
    for route in routes:
        original = getattr(route, "original_router", None)  # FastAPI >= 0.16x wraps included routers
        if original is not None:
            yield from walk(original.routes, prefix + route.include_context.prefix)
        elif isinstance(route, Mount):
            yield prefix + route.path + "/app.css", {"GET"}
        elif hasattr(route, "routes") and not hasattr(route, "methods"):
            yield from walk(route.routes, prefix + getattr(route, "prefix", ""))
        else:
            yield prefix + route.path, set(route.methods or {"GET"})


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x", path)


def test_every_route_refuses_anonymous_and_wrong_tokens(app: Any, anon: TestClient) -> None:
    routes = list(walk(app.routes))
    paths = {path for path, _ in routes}
    assert {"/api/v1/workflows", "/openapi.json", "/docs", "/", "/workflows/{name}", "/static/app.css",
            "/api/v1/workflows/{name}/events", "/login", "/logout"} <= paths, paths
    checked = 0
    for path, methods in routes:
        if path == "/login":
            continue
        for method in sorted(methods - {"HEAD", "OPTIONS"}):
            url = concrete(path)
            answer = anon.request(method, url)
            if answer.status_code == 303:
                assert method == "GET" and answer.headers["location"].startswith("/login?next="), (method, url)
                assert not url.startswith("/api/") and url != "/openapi.json"
            else:
                assert answer.status_code == 401, (method, url, answer.status_code)
                assert answer.headers["www-authenticate"].startswith("Bearer")
            wrong = anon.request(method, url, headers={"Authorization": "Bearer nope"})
            assert wrong.status_code == 401, (method, url)
            checked += 1
    assert checked >= 20


def test_bearer_token_opens_api_docs_and_pages(app: Any) -> None:
    with TestClient(app, headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        assert client.get("/api/v1/workflows").json() == []
        assert client.get("/openapi.json").json()["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
        docs = client.get("/docs")
        assert docs.status_code == 200 and "/static/vendor/swagger-ui/swagger-ui-bundle.js" in docs.text
        assert client.get("/static/vendor/swagger-ui/swagger-ui-bundle.js").status_code == 200
        page = client.get("/")
        assert page.status_code == 200 and "default-src 'self'" in page.headers["content-security-policy"]
        assert page.headers["x-frame-options"] == "DENY"


def test_login_cookie_csrf_and_logout(app: Any, anon: TestClient) -> None:
    form = anon.get("/login?next=/workflows/abc")
    assert form.status_code == 200
    nonce = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
    forged = anon.post("/login", data={"token": TOKEN, "csrf_token": "forged", "next": "/"})
    assert forged.status_code == 403
    nonce = re.search(r'name="csrf_token" value="([^"]+)"', forged.text).group(1)
    wrong = anon.post("/login", data={"token": "bad", "csrf_token": nonce, "next": "/"})
    assert wrong.status_code == 401 and "Wrong token" in wrong.text
    nonce = re.search(r'name="csrf_token" value="([^"]+)"', wrong.text).group(1)
    ok = anon.post("/login", data={"token": TOKEN, "csrf_token": nonce, "next": "/workflows/abc"})
    assert ok.status_code == 303 and ok.headers["location"] == "/workflows/abc"
    cookie = ok.headers["set-cookie"]
    assert "hf_session=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    page = anon.get("/")
    assert page.status_code == 200
    csrf = re.search(r'<meta name="csrf-token" content="([^"]+)"', page.text).group(1)
    assert anon.get("/api/v1/workflows").status_code == 200
    no_csrf = anon.post("/api/v1/workflows/x/cancel")
    assert no_csrf.status_code == 403 and "CSRF" in no_csrf.json()["detail"]
    assert anon.post("/api/v1/workflows/x/cancel", headers={"X-CSRF-Token": csrf}).status_code == 404
    evil = anon.post("/api/v1/workflows/x/cancel", headers={"X-CSRF-Token": csrf, "Origin": "http://evil.example"})
    assert evil.status_code == 403
    assert anon.post("/logout", data={"csrf_token": "forged"}).status_code == 403
    out = anon.post("/logout", data={"csrf_token": csrf})
    assert out.status_code == 303 and out.headers["location"] == "/login"
    anon.cookies.clear()
    assert anon.get("/").status_code == 303


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example", "/\\evil", ""])
def test_login_redirects_only_to_local_paths(anon: TestClient, target: str) -> None:
    form = anon.get("/login")
    nonce = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
    answer = anon.post("/login", data={"token": TOKEN, "csrf_token": nonce, "next": target})
    assert answer.status_code == 303 and answer.headers["location"] == "/"


def test_token_file_is_created_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(tokens.TOKEN_ENV, raising=False)
    home = tmp_path / "h"
    create_app(home=home)
    path = home / tokens.TOKEN_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    first = path.read_text().strip()
    assert len(first) >= 40 and tokens.load_or_create(home) == first
    path.chmod(0o644)
    assert tokens.read_token(home) == first and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert tokens.create_token(home, rotate=True) != first


def test_non_loopback_bind_needs_a_configured_token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(tokens.TOKEN_ENV, raising=False)
    home = tmp_path / "h"
    home.mkdir()
    with pytest.raises(daemon.ServiceError, match="without a configured token"):
        daemon.check_bind("0.0.0.0", home)
    assert not (home / tokens.TOKEN_FILE).exists()
    cli = subprocess.run(
        [sys.executable, "-c", "from hybridflow.cli import main; main()", "service", "start", "--host", "0.0.0.0", "--port", "0"],
        capture_output=True, text=True, timeout=60, env={"HYBRIDFLOW_HOME": str(home), "PATH": "/usr/bin:/bin"}, check=False,
    )
    assert cli.returncode == 1 and "without a configured token" in cli.stderr
    assert daemon.check_bind("127.0.0.1", home)  # loopback: generated on first start
    assert daemon.check_bind("0.0.0.0", home) == tokens.read_token(home)
    for host, loop in [("127.0.0.2", True), ("::1", True), ("localhost", True), ("10.0.0.1", False), ("example.org", False)]:
        assert tokens.is_loopback(host) is loop


def test_pages_and_scripts_load_nothing_from_outside() -> None:
    own = [p for p in STATIC.rglob("*") if p.is_file() and "vendor" not in p.parts and p.suffix in (".html", ".js", ".css")]
    assert len(own) >= 8
    for path in own:
        assert not re.search(r"(src|href)=[\"']?(https?:)?//", path.read_text()), path
        assert "cdn" not in path.read_text().lower(), path
