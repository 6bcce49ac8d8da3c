"""Notification hooks on workflow and job state changes, configured per workflow::

    notify:
      command: 'echo "$HF_JOB $HF_STATE" >> events.txt'   # run with bash; event JSON on stdin
      webhook: http://127.0.0.1:9000/hook                # POST, JSON body
      on: [failed, timeout, lost, workflow]              # default: every finished job + workflow

The command sees HF_EVENT, HF_WORKFLOW, HF_JOB, HF_STATE, HF_MESSAGE in its environment.
Hooks run in the background; a failing hook is logged, never fatal to the run.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections.abc import Mapping
from typing import Any

from .errors import SpecError

log = logging.getLogger(__name__)

HOOK_TIMEOUT = 30.0
DEFAULT_ON = frozenset({"done", "failed", "timeout", "canceled", "lost", "skipped", "workflow"})


class Notifier:
    """Sends events to the hooks of one workflow."""

    def __init__(self, workflow: str, config: Mapping[str, Any] | None) -> None:
        config = config or {}
        if not isinstance(config, Mapping):
            raise SpecError("must be a mapping with 'command' and/or 'webhook'", field="notify")
        self.workflow = workflow
        self.command = config.get("command")
        self.webhook = config.get("webhook")
        on = config.get("on")
        self.on = frozenset(on.split(",") if isinstance(on, str) else on) if on else DEFAULT_ON
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def enabled(self) -> bool:
        return bool(self.command or self.webhook)

    def job_event(self, job: str, state: str, **details: Any) -> None:
        if self.enabled and state in self.on:
            self._emit({"event": "job", "workflow": self.workflow, "job": job, "state": state, **details})

    def workflow_event(self, state: str, **details: Any) -> None:
        if self.enabled and "workflow" in self.on:
            self._emit({"event": "workflow", "workflow": self.workflow, "job": None, "state": state, **details})

    def _emit(self, event: dict[str, Any]) -> None:
        event["time"] = time.time()
        task = asyncio.get_running_loop().create_task(self._deliver(event))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, event: dict[str, Any]) -> None:
        body = json.dumps(event)
        if self.command:
            await self._run_command(event, body)
        if self.webhook:
            await self._post(body)

    async def _run_command(self, event: dict[str, Any], body: str) -> None:
        env = {
            **os.environ,
            "HF_EVENT": event["event"],
            "HF_WORKFLOW": self.workflow,
            "HF_JOB": event["job"] or "",
            "HF_STATE": event["state"],
            "HF_MESSAGE": str(event.get("message") or ""),
        }
        try:
            proc = await asyncio.create_subprocess_exec(
                "bash", "-c", str(self.command), stdin=asyncio.subprocess.PIPE, env=env,
                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
            )
            _, err = await asyncio.wait_for(proc.communicate(body.encode()), HOOK_TIMEOUT)
        except (OSError, TimeoutError) as exc:
            log.warning("workflow %s: notify command failed: %s", self.workflow, exc)
            return
        if proc.returncode:
            log.warning("workflow %s: notify command exited %s: %s", self.workflow, proc.returncode,
                        err.decode(errors="replace").strip()[:200])

    async def _post(self, body: str) -> None:
        import httpx  # only runs that have a webhook pay for importing it

        try:
            async with httpx.AsyncClient(timeout=HOOK_TIMEOUT) as client:
                response = await client.post(
                    str(self.webhook), content=body, headers={"content-type": "application/json"}
                )
            response.raise_for_status()
        except httpx.HTTPError as exc:
            log.warning("workflow %s: webhook %s failed: %s", self.workflow, self.webhook, exc)

    async def aclose(self) -> None:
        """Wait (bounded) for hooks still being delivered."""
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=HOOK_TIMEOUT)
