"""The services database: published services, their calls and call tokens.

A SQLite file of its own (``$HYBRIDFLOW_HOME/services.db``), so that the workflow store's
schema is not touched: a call's run is an ordinary stored workflow there, and this file
only says which service and which user it belongs to. WAL, one connection per thread,
``user_version`` for the schema. The CLI (``hflow service publish``, ``token create``)
and the service share it, so a service published from the command line is served at once.

Contract: every method is one transaction; :meth:`ServiceDB.generation` grows with every
change of the published services (the service rebuilds its OpenAPI document then).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FILE = "services.db"
VERSION = 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS services (
  name TEXT PRIMARY KEY, kind TEXT NOT NULL, target TEXT NOT NULL, options TEXT NOT NULL,
  path TEXT, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS calls (
  id TEXT PRIMARY KEY, service TEXT NOT NULL, user TEXT NOT NULL, created REAL NOT NULL,
  outcome TEXT);
CREATE INDEX IF NOT EXISTS calls_by_service ON calls (service, user, created);
CREATE TABLE IF NOT EXISTS call_tokens (
  id TEXT PRIMARY KEY, service TEXT NOT NULL, hash TEXT NOT NULL UNIQUE, created REAL NOT NULL,
  expires REAL, revoked REAL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


@dataclass(frozen=True, slots=True)
class ServiceRow:
    name: str
    kind: str  # "function" or "workflow"
    target: str  # module:function, or the workflow file's absolute path
    options: dict[str, Any]
    path: str | None  # a folder put on sys.path to import the function
    created: float


@dataclass(frozen=True, slots=True)
class CallRow:
    id: str
    service: str
    user: str
    created: float
    outcome: dict[str, Any] | None  # the finished call's answer, kept once it is known


@dataclass(frozen=True, slots=True)
class TokenRow:
    id: str
    service: str
    created: float
    expires: float | None
    revoked: float | None

    def valid(self, now: float | None = None) -> bool:
        now = time.time() if now is None else now
        return self.revoked is None and (self.expires is None or now < self.expires)


def database_path(home: Path) -> Path:
    return home / FILE


class ServiceDB:
    """The services database of one home (see the module's contract)."""

    def __init__(self, home: Path) -> None:
        self.path = database_path(home)
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._guard = threading.Lock()
        home.mkdir(parents=True, exist_ok=True)
        conn = self._conn()
        if conn.execute("PRAGMA user_version").fetchone()[0] < VERSION:
            conn.executescript(f"BEGIN IMMEDIATE; {SCHEMA} PRAGMA user_version = {VERSION}; COMMIT;")

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            self._local.conn = conn
            with self._guard:
                self._all.append(conn)
        return conn

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def close(self) -> None:
        with self._guard:
            conns, self._all = self._all, []
        for conn in conns:
            conn.close()
        self._local = threading.local()

    # -- services ----------------------------------------------------------------------------

    def put_service(self, row: ServiceRow) -> None:
        """Publish ``row`` (replacing a service of that name)."""
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO services VALUES (?, ?, ?, ?, ?, ?)",
                       (row.name, row.kind, row.target, json.dumps(row.options, sort_keys=True), row.path, row.created))
            self._bump(db)

    def remove_service(self, name: str) -> bool:
        with self._tx() as db:
            gone = db.execute("DELETE FROM services WHERE name = ?", (name,)).rowcount > 0
            self._bump(db)
        return gone

    def services(self) -> list[ServiceRow]:
        rows = self._conn().execute("SELECT * FROM services ORDER BY name").fetchall()
        return [ServiceRow(r[0], r[1], r[2], json.loads(r[3]), r[4], r[5]) for r in rows]

    def service(self, name: str) -> ServiceRow | None:
        r = self._conn().execute("SELECT * FROM services WHERE name = ?", (name,)).fetchone()
        return None if r is None else ServiceRow(r[0], r[1], r[2], json.loads(r[3]), r[4], r[5])

    def generation(self) -> int:
        row = self._conn().execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
        return int(row[0]) if row else 0

    @staticmethod
    def _bump(db: sqlite3.Connection) -> None:
        db.execute("INSERT INTO meta VALUES ('generation', '1') ON CONFLICT (key) "
                   "DO UPDATE SET value = CAST(value AS INTEGER) + 1")

    def set_meta(self, key: str, value: str) -> None:
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def meta(self, key: str) -> str | None:
        row = self._conn().execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    # -- calls -------------------------------------------------------------------------------

    def add_call(self, call_id: str, service: str, user: str) -> CallRow:
        row = CallRow(call_id, service, user, time.time(), None)
        with self._tx() as db:
            db.execute("INSERT INTO calls VALUES (?, ?, ?, ?, NULL)", (row.id, row.service, row.user, row.created))
        return row

    def call(self, call_id: str) -> CallRow | None:
        r = self._conn().execute("SELECT * FROM calls WHERE id = ?", (call_id,)).fetchone()
        return None if r is None else _call_row(r)

    def calls(self, service: str, user: str | None = None, limit: int = 100) -> list[CallRow]:
        """The latest calls of ``service`` (of ``user`` only, when given), newest first."""
        if user is None:
            rows = self._conn().execute("SELECT * FROM calls WHERE service = ? ORDER BY created DESC LIMIT ?",
                                        (service, limit)).fetchall()
        else:
            rows = self._conn().execute("SELECT * FROM calls WHERE service = ? AND user = ? ORDER BY created DESC "
                                        "LIMIT ?", (service, user, limit)).fetchall()
        return [_call_row(r) for r in rows]

    def set_outcome(self, call_id: str, outcome: dict[str, Any]) -> None:
        with self._tx() as db:
            db.execute("UPDATE calls SET outcome = ? WHERE id = ?", (json.dumps(outcome), call_id))

    def expired_calls(self, before: float) -> list[CallRow]:
        rows = self._conn().execute("SELECT * FROM calls WHERE created < ? ORDER BY created", (before,)).fetchall()
        return [_call_row(r) for r in rows]

    def remove_call(self, call_id: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM calls WHERE id = ?", (call_id,))

    # -- call tokens -------------------------------------------------------------------------

    def add_token(self, token_id: str, service: str, digest: str, expires: float | None) -> TokenRow:
        row = TokenRow(token_id, service, time.time(), expires, None)
        with self._tx() as db:
            db.execute("INSERT INTO call_tokens VALUES (?, ?, ?, ?, ?, NULL)",
                       (row.id, row.service, digest, row.created, row.expires))
        return row

    def token_by_hash(self, digest: str) -> TokenRow | None:
        r = self._conn().execute("SELECT id, service, created, expires, revoked FROM call_tokens WHERE hash = ?",
                                 (digest,)).fetchone()
        return None if r is None else TokenRow(*r)

    def tokens(self) -> list[TokenRow]:
        rows = self._conn().execute("SELECT id, service, created, expires, revoked FROM call_tokens "
                                    "ORDER BY created").fetchall()
        return [TokenRow(*r) for r in rows]

    def revoke_token(self, token_id: str) -> bool:
        with self._tx() as db:
            return db.execute("UPDATE call_tokens SET revoked = ? WHERE id = ? AND revoked IS NULL",
                              (time.time(), token_id)).rowcount > 0


def _call_row(r: tuple[Any, ...]) -> CallRow:
    return CallRow(r[0], r[1], r[2], r[3], None if r[4] is None else json.loads(r[4]))
