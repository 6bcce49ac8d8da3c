"""Coordinators of service calls, batched: one detached process drives several calls.

A coordinator process costs its interpreter's start-up and imports (about 0.2 CPU-s),
as much as a small call itself; under load :class:`Launcher` gathers the calls started
within :attr:`Launcher.window` seconds (at most :attr:`Launcher.max_batch`) and starts
one process, :func:`main`, that runs their engines side by side on one event loop, each
with its own store connection and workflow lock. The process is started like the
service's other coordinators (:mod:`.runner`): in its own session, so it outlives the
service, output in ``service/runs/``.

Nothing is lost when it dies: each engine records its attempts before starting them,
and a call that is not finished and whose lock is free is given a coordinator again when
it is read (:meth:`~.calls.Calls.read`); two coordinators of one call cannot both run it
(the store's lock: the later one exits at once).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from ..errors import LockedError
from ..store.sqlite import STARTED_BY_ENV

log = logging.getLogger(__name__)

COMMAND = [sys.executable, "-c", "from hybridflow.service.batchrun import main; main()"]


class Launcher:
    """Starts batched coordinator processes for calls (see the module's docstring)."""

    def __init__(self, home: Path, log_dir: Path, *, window: float = 0.05, max_batch: int = 32) -> None:
        self.home = home
        self.log_dir = log_dir
        self.window = window
        self.max_batch = max_batch
        self._pending: list[tuple[str, Path]] = []
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None

    def launch(self, call_id: str, workdir: Path) -> None:
        """Have ``call_id`` driven by a coordinator started within :attr:`window` seconds."""
        with self._wake:
            self._pending.append((call_id, workdir))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="call-launcher", daemon=True)
                self._thread.start()
            self._wake.notify()

    def _loop(self) -> None:
        while True:
            with self._wake:
                while not self._pending:
                    # a launch may come as the wait times out: only an empty queue ends the thread
                    if not self._wake.wait(timeout=30) and not self._pending:
                        self._thread = None
                        return
            time.sleep(self.window)  # let the calls of this moment join the batch
            with self._wake:
                batch, self._pending = self._pending[:self.max_batch], self._pending[self.max_batch:]
            try:
                self._spawn(batch)
            except OSError as exc:  # no process could start: the calls are resumed when read
                log.warning("cannot start a coordinator for %d calls: %s", len(batch), exc)

    def _spawn(self, batch: Sequence[tuple[str, Path]]) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.log_dir / f"{batch[0][0]}.log"
        argv = [*COMMAND, json.dumps([[call_id, str(workdir)] for call_id, workdir in batch])]
        env = {**os.environ, "HYBRIDFLOW_HOME": str(self.home), STARTED_BY_ENV: "service"}
        with log_path.open("wb") as out:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                    cwd=self.home, env=env, start_new_session=True, close_fds=True)
        log.info("started coordinator pid %d for %d calls", proc.pid, len(batch))
        threading.Thread(target=proc.wait, name=f"reap-{proc.pid}", daemon=True).start()


async def _drive(calls: Sequence[tuple[str, str]]) -> int:
    """Run the calls' engines together; the number that could not run."""
    from ..api import Workflow, open_store
    from ..engine import Engine

    engines: list[Engine] = []

    async def one(name: str, workdir: str) -> object:
        store = open_store()
        try:
            engine = Workflow(name, store=store).engine(workdir=workdir)
            engines.append(engine)
            return await engine.run()
        finally:
            store.close()

    def cancel_all() -> None:
        for engine in engines:
            engine.request_cancel()

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, cancel_all)
    outcomes = await asyncio.gather(*(one(name, workdir) for name, workdir in calls), return_exceptions=True)
    failed = 0
    for (name, _), outcome in zip(calls, outcomes):
        if isinstance(outcome, LockedError):
            print(f"{name}: another coordinator runs it", flush=True)
        elif isinstance(outcome, BaseException):
            failed += 1
            print(f"error: {name}: {type(outcome).__name__}: {outcome}", flush=True)
        else:
            print(f"{name}: {getattr(outcome, 'value', outcome)}", flush=True)
    return failed


def main(argv: Sequence[str] | None = None) -> None:
    """``[[CALL_ID, WORKDIR], ...]`` (JSON) in argv: drive those calls to their ends."""
    args = list(sys.argv[1:] if argv is None else argv)
    calls = [(str(name), str(workdir)) for name, workdir in json.loads(args[0])]
    sys.exit(1 if asyncio.run(_drive(calls)) else 0)
