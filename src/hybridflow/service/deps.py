"""Request dependencies: the service's shared state, a store per worker thread.

``sqlite3`` connections must not be shared by threads that use them at the same time, and
FastAPI runs plain ``def`` routes in a thread pool; :class:`Stores` gives each thread its
own :class:`~hybridflow.store.sqlite.Store` on the one database file.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request

from ..store.sqlite import Store
from .auth import Credentials
from .remotelogs import RemoteLogs
from .runner import Runner
from .settings import ServiceSettings
from .snapshots import SnapshotCache


class Stores:
    """One :class:`Store` per thread on ``path``; :meth:`close` closes them all."""

    def __init__(self, settings: ServiceSettings) -> None:
        self.path = settings.database
        self._local = threading.local()
        self._all: list[Store] = []
        self._guard = threading.Lock()
        self._epoch = 0  # bumped by close(): threads then open fresh stores

    def get(self) -> Store:
        store: Store | None = getattr(self._local, "store", None)
        if store is None or getattr(self._local, "epoch", -1) != self._epoch:
            store = Store(self.path)
            self._local.store, self._local.epoch = store, self._epoch
            with self._guard:
                self._all.append(store)
        return store

    def close(self) -> None:
        with self._guard:
            stores, self._all = self._all, []
            self._epoch += 1
        for store in stores:
            store.close()


@dataclass
class ServiceState:
    """What every request of one app instance shares (kept on ``app.state.hf``)."""

    settings: ServiceSettings
    credentials: Credentials
    stores: Stores
    cache: SnapshotCache
    runner: Runner
    #: hosts through which remote jobs' logs are read (closed with the app)
    remote_logs: RemoteLogs = field(default_factory=RemoteLogs)
    #: serializes uploads/replacements of one workflow name
    name_locks: dict[str, threading.Lock] = field(default_factory=dict)
    guard: threading.Lock = field(default_factory=threading.Lock)

    def name_lock(self, name: str) -> threading.Lock:
        with self.guard:
            return self.name_locks.setdefault(name, threading.Lock())


async def service_state(request: Request) -> ServiceState:
    """The app's :class:`ServiceState` (async: resolved on the event loop, no thread hop).

    Routes take their store with ``hf.stores.get()`` inside their own body, because a
    sync dependency may run on another pool thread than the route itself.
    """
    state: ServiceState = request.app.state.hf
    return state


StateDep = Annotated[ServiceState, Depends(service_state)]
