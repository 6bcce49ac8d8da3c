"""Cached snapshots of workflows, so that many clients polling cost one read per change.

A snapshot (``Store.view``) of a 1,000-job workflow and its renderings cost milliseconds;
the version of a workflow — generation, modification time, state, lock holder and the id
of its newest event — is one indexed row. :class:`SnapshotCache` keeps, per workflow and
rendering, the value computed for the last version seen, and recomputes only when the
version changed or the entry is older than the TTL (the TTL catches what no row records,
such as a coordinator that died and left its lock). Concurrent misses of one entry wait
for a single computation.

Contract: a value returned was computed from a snapshot taken *after* the version it is
filed under was read, so it is never older than that version.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from ..errors import NotFoundError
from ..snapshot import WorkflowView
from ..store.sqlite import Store, process_start_time

T = TypeVar("T")

_VERSION_SQL = (
    "SELECT id, generation, modified, state, lock_pid, lock_ctime, "
    "(SELECT MAX(e.id) FROM events e WHERE e.workflow_id = workflows.id) AS last_event "
    "FROM workflows WHERE name = ?"
)


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
        started = process_start_time(self.lock_pid)
        return started is not None and (self.lock_ctime is None or abs(started - self.lock_ctime) < 1.0)

    @property
    def etag(self) -> str:
        return f'"{self.wid}-{self.generation}-{self.last_event}-{self.lock_pid or 0}-{self.modified:.6f}"'


def read_version(store: Store, name: str) -> Version:
    """The current :class:`Version` of ``name``; raises :class:`NotFoundError`.

    Reads the store's schema directly (one row); see the module docstring for why.
    """
    row = store.db.execute(_VERSION_SQL, (name,)).fetchone()
    if row is None:
        raise NotFoundError(f"no workflow named '{name}'")
    return Version(int(row[0]), int(row[1]), float(row[2]), str(row[3]), row[4], row[5], int(row[6] or 0))


@dataclass
class _Entry:
    version: Version
    taken: float
    value: Any


class SnapshotCache:
    """Per-(workflow, rendering) values filed under the version they were computed at."""

    def __init__(self, ttl: float = 1.0, max_entries: int = 256) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: OrderedDict[tuple[str, str], _Entry] = OrderedDict()
        self._locks: dict[tuple[str, str], threading.Lock] = {}
        self._guard = threading.Lock()

    def _fresh(self, key: tuple[str, str], version: Version) -> _Entry | None:
        entry = self._entries.get(key)
        if entry and entry.version == version and time.monotonic() - entry.taken < self.ttl:
            return entry
        return None

    def get(self, store: Store, name: str, rendering: str,
            build: Callable[[WorkflowView, Version], T]) -> tuple[Version, T]:
        """``build(view, version)`` for the current version of ``name``, computed at most once per version.

        Raises :class:`NotFoundError` when the workflow does not exist.
        """
        key = (name, rendering)
        version = read_version(store, name)
        with self._guard:
            entry = self._fresh(key, version)
            if entry:
                self._entries.move_to_end(key)
                return entry.version, entry.value
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            version = read_version(store, name)
            with self._guard:
                entry = self._fresh(key, version)
            if entry:
                return entry.version, entry.value
            value = build(self.view(store, name, version), version)
            with self._guard:
                self._entries[key] = _Entry(version, time.monotonic(), value)
                self._entries.move_to_end(key)
                while len(self._entries) > self.max_entries:
                    old, _ = self._entries.popitem(last=False)
                    self._locks.pop(old, None)
            return version, value

    def view(self, store: Store, name: str, version: Version) -> WorkflowView:
        """The snapshot for ``version`` (shared by every rendering of that version)."""
        key = (name, "__view__")
        with self._guard:
            entry = self._fresh(key, version)
        if entry:
            return entry.value  # type: ignore[no-any-return]
        view = store.view(name)
        with self._guard:
            self._entries[key] = _Entry(version, time.monotonic(), view)
        return view

    def forget(self, name: str) -> None:
        """Drop every entry of ``name`` (after it was deleted or replaced)."""
        with self._guard:
            for key in [k for k in self._entries if k[0] == name]:
                del self._entries[key]
