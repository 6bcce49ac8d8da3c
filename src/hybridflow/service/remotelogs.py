"""Logs that lie on a remote host, read by the service through that host's own connection.

One host object per (workflow, host name) is kept while it is used, so that a viewer
following a log over SSH reuses one connection; a host not read from for :data:`IDLE`
seconds is closed at the next read, all of them when the app stops. Routes run in the
thread pool; :meth:`RemoteLogs.read` runs on the event loop (``anyio.from_thread.run``),
where asyncssh connections live.

A remote log's size is not asked for separately: a read that returns fewer bytes than
asked reached the end (``size`` is then ``next_offset``); a full read reports ``size`` one
past what it read, so a follower knows there is more. A ``tail`` read of a remote log
starts at its beginning (the viewer follows from there).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator

from ..hosts.base import Host
from ..logsource import host_for, read_remote
from ..snapshot import AttemptView
from ..spec import WorkflowSpec
from .logs import LogChunk, complete_utf8

log = logging.getLogger(__name__)

IDLE = 120.0
DOWNLOAD_CHUNK = 1 << 20


class RemoteLogs:
    """The hosts the service reads remote logs through; call from the event loop."""

    def __init__(self) -> None:
        self._hosts: dict[tuple[str, str], tuple[Host, float]] = {}
        self._lock = asyncio.Lock()

    async def _host(self, spec: WorkflowSpec, attempt: AttemptView) -> Host:
        now = time.monotonic()
        async with self._lock:
            for key, (host, used) in list(self._hosts.items()):
                if now - used > IDLE:
                    del self._hosts[key]
                    await _close(host)
            key = (spec.name, attempt.host)
            host = self._hosts[key][0] if key in self._hosts else host_for(spec, attempt)
            self._hosts[key] = (host, now)
            return host

    async def read(self, spec: WorkflowSpec, attempt: AttemptView, offset: int, limit: int) -> LogChunk:
        """Bytes of the remote attempt's log from ``offset``, at most ``limit`` (see the module)."""
        host = await self._host(spec, attempt)
        raw, _ = await read_remote(host, attempt, offset, limit)
        full = len(raw) >= limit
        raw = complete_utf8(raw)
        end = offset + len(raw)
        return LogChunk(raw.decode("utf-8", errors="replace"), offset, end, end + 1 if full else end)

    async def download(self, spec: WorkflowSpec, attempt: AttemptView) -> AsyncIterator[bytes]:
        """The whole remote log, chunk by chunk; the first chunk is read before this returns,
        so that a host that cannot be read fails the request (502) instead of the stream."""
        host = await self._host(spec, attempt)
        first, offset = await read_remote(host, attempt, 0, DOWNLOAD_CHUNK)

        async def rest() -> AsyncIterator[bytes]:
            nonlocal offset
            raw = first
            while raw:
                yield raw
                raw, offset = await read_remote(host, attempt, offset, DOWNLOAD_CHUNK)

        return rest()

    async def close(self) -> None:
        async with self._lock:
            hosts, self._hosts = self._hosts, {}
            for host, _ in hosts.values():
                await _close(host)


async def _close(host: Host) -> None:
    try:
        await host.close()
    except OSError as exc:  # a connection already gone: nothing left to close
        log.debug("closing host %s after reading logs: %s", host.name, exc)
