"""Cached snapshots of workflows, so that many clients polling cost one read per change.

A snapshot (``Store.view``) of a 1,000-job workflow and its renderings cost milliseconds;
the version of a workflow — generation, modification time, state, lock holder and the id
of its newest event — is one indexed row. :class:`SnapshotCache` keeps, per workflow and
rendering, the value computed for the last version seen, and recomputes only when the
version changed or the entry is older than the TTL (the TTL catches what no row records,
such as a coordinator that died and left its lock). Concurrent misses of one entry wait
for a single computation. While a big workflow runs, events arrive many times a second;
an entry younger than ``min_age`` is served even if the version moved on, so a rendering
is rebuilt at most ``1/min_age`` times a second however many clients poll (the event
stream, not polling, is the way to see every change at once), and an entry whose version
moved on is answered while it is rebuilt in the background (see :class:`SnapshotCache`).

Contract: a value returned was computed from a snapshot taken *after* the version it is
filed under was read, so it is never older than that version, and it is at most
``max_stale`` seconds older than the database unless :meth:`SnapshotCache.forget` was
skipped after a write of this process (the routers call it after every write).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from starlette.concurrency import run_in_threadpool

from ..errors import NotFoundError
from ..processes import same_process
from ..snapshot import WorkflowView
from ..store.sqlite import Store

T = TypeVar("T")
log = logging.getLogger(__name__)

@dataclass(frozen=True, slots=True)
class Version:
    """What changes whenever anything shown about a workflow changes."""

    wid: int
    generation: int
    modified: float
    state: str
    lock_pid: int | None
    lock_ctime: float | None
    last_event: int

    def lock_alive(self) -> bool:
        """Whether the lock holder is alive (same process: start time checked, as the store does)."""
        if not self.lock_pid:
            return False
        return same_process(self.lock_pid, self.lock_ctime)

    @property
    def etag(self) -> str:
        return f'"{self.wid}-{self.generation}-{self.last_event}-{self.lock_pid or 0}-{self.modified:.6f}"'


def read_version(store: Store, name: str) -> Version:
    """The current :class:`Version` of ``name``; raises :class:`NotFoundError`.

    One cheap read (:meth:`Store.version`).
    """
    return Version(*store.version(name))


@dataclass
class _Entry:
    version: Version
    taken: float
    value: Any


class SnapshotCache:
    """Per-(workflow, rendering) values filed under the version they were computed at.

    Stale-while-revalidate: when the version moved on, an entry younger than
    ``max_stale`` is still answered at once while one background thread rebuilds it, so
    polling clients never queue behind a rebuild; only a missing (or forgotten) entry is
    built in the request. ``store_factory`` gives the background thread its own store.
    """

    def __init__(self, store_factory: Callable[[], Store], *, ttl: float = 1.0, min_age: float = 0.0,
                 max_stale: float = 2.0, max_entries: int = 256) -> None:
        self.store_factory = store_factory
        self.ttl = ttl
        self.min_age = min_age
        self.max_stale = max_stale
        self.max_entries = max_entries
        self._entries: OrderedDict[tuple[str, str], _Entry] = OrderedDict()
        self._locks: dict[tuple[str, str], threading.Lock] = {}
        self._refreshing: set[tuple[str, str]] = set()
        self._epochs: dict[str, int] = {}  # bumped by forget(): older builds are discarded
        self._guard = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="snapshot-refresh")

    def _entry(self, key: tuple[str, str], version: Version, exact: bool = False) -> tuple[_Entry | None, bool]:
        """(entry usable for ``version`` or None, whether it is fresh); ``exact``: only an
        entry of exactly ``version`` (and within the TTL) is usable."""
        entry = self._entries.get(key)
        if entry is None or entry.version.wid != version.wid:
            return None, False
        age = time.monotonic() - entry.taken
        if entry.version == version and age < self.ttl:
            return entry, True
        if exact:
            return None, False
        if age < self.min_age:
            return entry, True
        return (entry, False) if age < self.max_stale else (None, False)

    def peek(self, store: Store, name: str, rendering: str,
             build: Callable[[WorkflowView, Version], T], exact: bool = False) -> tuple[Version, T] | None:
        """The cached value if one is usable (a stale one schedules its rebuild), else None.

        Cheap (one indexed row read), so it may run on the event loop; raises
        :class:`NotFoundError` when the workflow does not exist.
        """
        key = (name, rendering)
        version = read_version(store, name)
        with self._guard:
            entry, fresh = self._entry(key, version, exact)
            if entry is None:
                return None
            self._entries.move_to_end(key)
            if not fresh and key not in self._refreshing:
                self._refreshing.add(key)
                self._pool.submit(self._refresh, key, build)
            return entry.version, entry.value

    def get(self, store: Store, name: str, rendering: str,
            build: Callable[[WorkflowView, Version], T], exact: bool = False) -> tuple[Version, T]:
        """``build(view, version)`` for ``name``, rebuilt at most once per version.

        With ``exact`` the answer is built from the current version (no coalescing, no
        stale answer). Raises :class:`NotFoundError` when the workflow does not exist.
        """
        key = (name, rendering)
        hit = self.peek(store, name, rendering, build, exact)
        if hit is not None:
            return hit
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            version = read_version(store, name)
            with self._guard:
                entry, fresh = self._entry(key, version, exact)
            if entry is not None and fresh:
                return entry.version, entry.value
            return self._build(store, key, version, build)

    def _build(self, store: Store, key: tuple[str, str], version: Version,
               build: Callable[[WorkflowView, Version], T]) -> tuple[Version, T]:
        name = key[0]
        epoch = self._epochs.get(name, 0)
        value = build(self.view(store, name, version), version)
        with self._guard:
            if self._epochs.get(name, 0) == epoch:
                self._entries[key] = _Entry(version, time.monotonic(), value)
                self._entries.move_to_end(key)
                while len(self._entries) > self.max_entries:
                    old, _ = self._entries.popitem(last=False)
                    self._locks.pop(old, None)
        return version, value

    def _refresh(self, key: tuple[str, str], build: Callable[[WorkflowView, Version], Any]) -> None:
        try:
            store = self.store_factory()
            self._build(store, key, read_version(store, key[0]), build)
        except NotFoundError:
            self.forget(key[0])
        except Exception:  # a loop boundary: log it, the next request builds in-line
            log.exception("refreshing the %s of workflow %s failed", key[1], key[0])
        finally:
            with self._guard:
                self._refreshing.discard(key)

    def view(self, store: Store, name: str, version: Version) -> WorkflowView:
        """The snapshot for ``version`` (shared by the renderings built for that version)."""
        key = (name, "__view__")
        with self._guard:
            entry = self._entries.get(key)
        if entry is not None and entry.version == version:
            return cast(WorkflowView, entry.value)
        view = store.view(name)
        with self._guard:
            self._entries[key] = _Entry(version, time.monotonic(), view)
        return view

    def forget(self, name: str) -> None:
        """Drop every entry of ``name`` (after this process changed it): the next read is fresh."""
        with self._guard:
            self._epochs[name] = self._epochs.get(name, 0) + 1
            for key in [k for k in self._entries if k[0] == name]:
                del self._entries[key]

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    async def aget(self, stores: Callable[[], Store], name: str, rendering: str,
                   build: Callable[[WorkflowView, Version], T], exact: bool = False) -> tuple[Version, T]:
        """:meth:`get` for async routes: a hit is answered on the loop, a build in a thread."""
        hit = self.peek(stores(), name, rendering, build, exact)
        if hit is not None:
            return hit
        return await run_in_threadpool(lambda: self.get(stores(), name, rendering, build, exact))
