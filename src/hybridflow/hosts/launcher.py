"""Starting local attempts cheaply: one long-lived ``bash`` that forks a subshell per job.

Starting a fresh ``bash`` per job (exec, dynamic loading, start-up) costs milliseconds; a
running shell forking itself costs a fraction of that. :class:`Launcher` keeps one
``bash -s`` per local host, in its own session, with job control on (``set -m``), so that
every attempt is a background job in **its own process group** (its PID), which cancel
signals as a whole. Protocol on the launcher's pipes (lines are short: writes are atomic):

* to it: ``( WRAPPER ) 3>&1 </dev/null >/dev/null 2>&1 & echo "started TOKEN $!"; disown``
* from it: ``started TOKEN PID`` once forked; ``ended TOKEN`` from the attempt itself (fd 3)
  after it wrote its exit file — the wake-up that needs no polling and no pidfd.

Attempts outlive the launcher and the coordinator: when the coordinator goes away the
launcher reads end-of-file and exits, its background jobs keep running (non-interactive
bash does not hang them up). A new launcher is started when the old one is gone.
"""

from __future__ import annotations

import asyncio
import logging
import shlex
from collections.abc import Callable, Mapping, Sequence

from ..errors import HostError

log = logging.getLogger(__name__)

START_TIMEOUT = 30.0


class Launcher:
    """One ``bash`` that starts wrapper texts as background jobs; call from one event loop."""

    def __init__(self, env: Mapping[str, str], on_ended: Callable[[str], None], bash: str = "bash") -> None:
        self._env = dict(env)
        self._on_ended = on_ended
        self._bash = bash
        self._proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self._waiting: dict[str, asyncio.Future[int]] = {}

    async def _ensure(self) -> asyncio.subprocess.Process:
        proc = self._proc
        if proc is not None and proc.returncode is None and self._reader is not None and not self._reader.done():
            return proc
        try:
            proc = await asyncio.create_subprocess_exec(
                self._bash, "--norc", "--noprofile", "-s", stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL, env=self._env,
                start_new_session=True,
            )
        except OSError as exc:
            raise HostError(f"cannot start the local launcher ({self._bash}): {exc}") from exc
        assert proc.stdin is not None
        proc.stdin.write(b"set -m\n")
        self._proc = proc
        self._reader = asyncio.ensure_future(self._read(proc))
        return proc

    async def _read(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None
        while True:
            line = await proc.stdout.readline()
            if not line:
                break
            word, _, rest = line.decode("utf-8", "replace").strip().partition(" ")
            if word == "started":
                token, _, pid = rest.partition(" ")
                future = self._waiting.pop(token, None)
                if future is not None and not future.done() and pid.isdigit():
                    future.set_result(int(pid))
            elif word == "ended":
                self._on_ended(rest)
        error = HostError("the local launcher exited", transient=True)
        for future in self._waiting.values():
            if not future.done():
                future.set_exception(error)
        self._waiting.clear()

    async def launch(self, items: Sequence[tuple[str, str]]) -> list[int]:
        """Start ``(token, wrapper text)`` items; their PIDs (= process groups), in order.

        Raises a transient :class:`HostError` when the launcher died before confirming
        (some may have started: the engine looks them up by token).
        """
        proc = await self._ensure()
        assert proc.stdin is not None
        loop = asyncio.get_running_loop()
        futures = []
        chunks = []
        for token, text in items:
            future: asyncio.Future[int] = loop.create_future()
            self._waiting[token] = future
            futures.append(future)
            q = shlex.quote(token)
            chunks.append(f"( {text}\n) 3>&1 </dev/null >/dev/null 2>&1 &\necho started {q} \"$!\"; disown\n")
        try:
            proc.stdin.write("".join(chunks).encode())
            await proc.stdin.drain()
            async with asyncio.timeout(START_TIMEOUT):
                return [await future for future in futures]
        except (OSError, TimeoutError) as exc:
            for token, _ in items:
                self._waiting.pop(token, None)
            raise HostError(f"local launcher did not confirm the start: {exc}", transient=True) from exc

    async def close(self) -> None:
        """End the launcher (its jobs keep running)."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.stdin is not None and not proc.stdin.is_closing():
            proc.stdin.close()
        try:
            await asyncio.wait_for(proc.wait(), 5)
        except TimeoutError:
            log.warning("local launcher %d did not exit; killing it", proc.pid)
            proc.kill()
            await proc.wait()
        reader, self._reader = self._reader, None
        if reader is not None:  # running attempts hold its pipe open: do not wait for them
            reader.cancel()
