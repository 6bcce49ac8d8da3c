"""Headers every response gets: the security headers (unless the route set its own) and
``Server-Timing: app;dur=MS``, the time spent in the app from the request's arrival to
its response head, so clients (the load benchmark) can tell server work from network and
client delays. No response names the server software: a ``Server`` header set inside the
app is dropped here, and uvicorn runs with ``server_header=False`` (it adds its own
below the app, where no middleware sees it)."""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .auth import SECURITY_HEADERS


class ResponseHeadersMiddleware:
    """Adds CSP, nosniff, referrer policy, frame denial and Server-Timing to every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"server"]
                present = {name.lower() for name, _ in headers}
                headers += [(k, v) for k, v in SECURITY_HEADERS if k not in present]
                duration = (time.perf_counter() - started) * 1000
                headers.append((b"server-timing", f"app;dur={duration:.2f}".encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)
