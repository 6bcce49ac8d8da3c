"""Driving calls' workflows from the caller's process: their engines on one event loop.

A :class:`~.future.Future` needs its workflow to make progress while the caller waits, so
:func:`ensure` runs the stored workflow's engine as a task of one event loop that a daemon
thread of this process runs for all calls (each engine with its own store connection).
Sharing the loop shares the hosts' transports: calls submitted one by one to the same SSH
host while others run use one SSH connection (the pool of ``hosts.shell`` is per loop).

The engine records every attempt before it starts it and re-attaches to recorded ones, so
a caller that dies (``kill -9``) loses nothing: a later :func:`ensure`
(``Future.attach(id).result()``) resumes the run and finds the attempt by its token
instead of submitting it again. When another process already drives the workflow (its
coordinator lock is alive), the task ends with :attr:`Driver.locked` set and the caller
only watches the store.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

from ..engine import Engine
from ..errors import HybridflowError, LockedError
from ..store.sqlite import Store

log = logging.getLogger(__name__)
T = TypeVar("T")


class Driver:
    """The engine of one stored workflow, run to its end (or cancellation) on the shared loop."""

    def __init__(self, db_path: Path, workflow: str, run_dir: Path) -> None:
        self.db_path = db_path
        self.workflow = workflow
        self.run_dir = run_dir
        self.locked = False
        self.error: HybridflowError | None = None
        self.engine: Engine | None = None
        self.task: concurrent.futures.Future[None] = asyncio.run_coroutine_threadsafe(self._run(), _loop())

    def is_alive(self) -> bool:
        return not self.task.done()

    async def _run(self) -> None:
        store = Store(self.db_path)
        try:
            self.engine = Engine(store, self.workflow, run_dir=self.run_dir)
            await self.engine.run()
        except LockedError:
            self.locked = True
        except HybridflowError as exc:
            self.error = exc
            log.warning("workflow %s: %s", self.workflow, exc)
        except Exception:  # the loop's boundary: a bug must not pass unseen (a later ensure() resumes)
            log.exception("workflow %s: its engine stopped", self.workflow)
            raise
        finally:
            store.close()


_lock = threading.RLock()
_drivers: dict[tuple[str, str], Driver] = {}
_shared: asyncio.AbstractEventLoop | None = None


def _loop() -> asyncio.AbstractEventLoop:
    """The event loop of this process's calls, started (in a daemon thread) on first use."""
    global _shared
    with _lock:
        if _shared is None or _shared.is_closed():
            _shared = asyncio.new_event_loop()
            threading.Thread(target=_shared.run_forever, name="hybridflow-calls", daemon=True).start()
        return _shared


def ensure(db_path: Path, workflow: str, run_dir: Path) -> Driver:
    """The live driver of ``workflow`` in this process, started when there is none."""
    key = (str(db_path), workflow)
    with _lock:
        driver = _drivers.get(key)
        if driver is None or not driver.is_alive():
            driver = _drivers[key] = Driver(db_path, workflow, run_dir)
        return driver


def current(db_path: Path, workflow: str) -> Driver | None:
    """The driver of ``workflow`` started by this process (alive or ended), if any."""
    with _lock:
        return _drivers.get((str(db_path), workflow))


def run_sync(coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
    """Run ``coro`` on the calls' loop and wait for it: works where ``asyncio.run`` does
    not (inside a running event loop, a notebook's say). Not from that loop itself."""
    return asyncio.run_coroutine_threadsafe(coro, _loop()).result(timeout)
