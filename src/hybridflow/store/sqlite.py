"""SQLite state store: WAL, ``BEGIN IMMEDIATE`` writes, busy timeout, versioned schema.

Readers in other processes (the CLI's ``status``, the service) see committed state while a
coordinator runs. Every write that belongs together goes through :meth:`Store.transaction`.
"""

from __future__ import annotations

import getpass
import json
import os
import socket
import sqlite3
import time
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

from ..errors import BusyError, LockedError, NotFoundError, StateError, StoreError
from ..processes import same_process, start_stamp
from ..rounds import AttemptChange, FingerprintChange, JobRow, NewAttempt, ProgressChange, RunEnd, StateChange, Write, coalesce
from ..snapshot import AttemptView, JobView, RunView, WorkflowView
from ..spec import JobSpec, WorkflowSpec
from ..states import JobState, WorkflowState, predecessors
from ..usage import Usage

SCHEMA_VERSION = 6
#: statements that bring a database of version N (key) to N + 1
MIGRATIONS = {
    1: "ALTER TABLE jobs ADD COLUMN fingerprint TEXT;",
    # a job's exit code and times are its latest attempt's (derived, not stored twice)
    2: "ALTER TABLE jobs DROP COLUMN exit_code; ALTER TABLE jobs DROP COLUMN tstart; ALTER TABLE jobs DROP COLUMN tend;",
    # every run recorded (the runs table); a workflow's last run before v4 is not recovered
    3: "CREATE TABLE IF NOT EXISTS runs (id INTEGER PRIMARY KEY, workflow_id INTEGER NOT NULL REFERENCES "
       "workflows(id) ON DELETE CASCADE, number INTEGER NOT NULL, started REAL NOT NULL, ended REAL, "
       "state TEXT NOT NULL, started_by TEXT NOT NULL, pid INTEGER, options TEXT NOT NULL DEFAULT '{}', "
       "counts TEXT NOT NULL DEFAULT '{}', UNIQUE (workflow_id, number));",
    # what a finished batch attempt used (node-hours, allocation units)
    4: "ALTER TABLE attempts ADD COLUMN usage TEXT;",
    # cancelling one job (a call of a map) while the rest of its workflow goes on
    5: "ALTER TABLE jobs ADD COLUMN cancel_requested INTEGER NOT NULL DEFAULT 0;",
}
#: ``workflows.cancel_requested``: nothing asked, cancel the whole run, cancel the jobs marked
CANCEL_NONE, CANCEL_ALL, CANCEL_JOBS = 0, 1, 2
#: who starts a run, as the runs table records it (the service's runner sets it to "service")
STARTED_BY_ENV = "HYBRIDFLOW_STARTED_BY"
#: the latest attempt of each job *in the current run* (none for a job not started in it)
_THIS_RUN_ATTEMPT = (
    "LEFT JOIN attempts a ON a.workflow_id=jobs.workflow_id AND a.job=jobs.name AND a.number=jobs.attempt "
    "AND jobs.state NOT IN ('ready', 'skipped') AND a.created >= COALESCE(w.t0, 0)"
)

#: how many workflows' parsed specs a store keeps (the most recently read ones)
PARSED_SPECS = 32
EVENT_SQL = "INSERT INTO events (workflow_id, job, ts, kind, state, progress, message) VALUES (?,?,?,?,?,?,?)"
#: a job's progress after a move to these states
_PROGRESS_AT = {JobState.SUBMITTED: 0, JobState.DONE: 100}


def _events(wid: int, writes: Iterable[Write]) -> list[tuple[Any, ...]]:
    """The event rows of a round's writes, in order: one per move and per progress mark."""
    rows: list[tuple[Any, ...]] = []
    for write in writes:
        if isinstance(write, StateChange):
            rows.append((wid, write.job, write.ts, "state", write.state.value, None, write.message))
        elif isinstance(write, ProgressChange):
            rows.append((wid, write.job, write.ts, "progress", None, write.progress, write.message))
    return rows


def _spec_meta(spec: WorkflowSpec) -> str:
    return json.dumps(
        {
            "colors": dict(spec.colors),
            "hosts": dict(spec.hosts),
            "options": dict(spec.options),
            "source": spec.source,
            "base_dir": spec.base_dir,
        }
    )


def _job_json(job: JobSpec) -> str:
    return json.dumps(job.to_dict())


def _started_by() -> str:
    """``user@host (origin)``: who starts a run, for the runs table."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container)
        user = str(os.getuid())
    return f"{user}@{socket.gethostname()} ({os.environ.get(STARTED_BY_ENV) or 'cli'})"


class Store:
    """The state database of one ``$HYBRIDFLOW_HOME``."""

    def __init__(self, path: str | Path, *, synchronous: str = "NORMAL") -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: cannot open state database: {exc}") from exc
        self.db.row_factory = sqlite3.Row
        self._parsed: dict[int, tuple[tuple[Any, ...], WorkflowSpec]] = {}  # workflow id -> (version, spec)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.synchronous = synchronous
        self.db.execute(f"PRAGMA synchronous={synchronous}")
        self.db.execute("PRAGMA foreign_keys=ON")
        self.db.execute("PRAGMA busy_timeout=30000")
        self._migrate()

    def _migrate(self) -> None:
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreError(f"{self.path}: schema version {version} is newer than this hybridflow ({SCHEMA_VERSION})")
        if version == 0:
            schema = resources.files("hybridflow.store").joinpath("schema.sql").read_text(encoding="utf-8")
            self.db.executescript(f"BEGIN IMMEDIATE;{schema};PRAGMA user_version={SCHEMA_VERSION};COMMIT;")
            return
        for old in range(version, SCHEMA_VERSION):
            self.db.executescript(f"BEGIN IMMEDIATE;{MIGRATIONS[old]}PRAGMA user_version={old + 1};COMMIT;")

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def transaction(self, *, durable: bool = False) -> Iterator[sqlite3.Connection]:
        """One ``BEGIN IMMEDIATE`` transaction; rolled back if the block raises.

        Commits survive a crash of this process either way (WAL). ``durable=True`` also
        makes this commit survive an OS crash or power loss (``synchronous=FULL``): used
        for rounds that record attempts on remote hosts, whose jobs outlive this machine.
        """
        if durable:
            self.db.execute("PRAGMA synchronous=FULL")
        try:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")
        finally:
            if durable:
                self.db.execute(f"PRAGMA synchronous={self.synchronous}")

    # -- workflows -------------------------------------------------------------------------

    def workflow_id(self, name: str) -> int:
        row = self.db.execute("SELECT id FROM workflows WHERE name=?", (name,)).fetchone()
        if row is None:
            raise NotFoundError(f"no workflow named '{name}'")
        return int(row[0])

    def names(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT name FROM workflows ORDER BY name")]

    def exists(self, name: str) -> bool:
        return self.db.execute("SELECT 1 FROM workflows WHERE name=?", (name,)).fetchone() is not None

    def save(self, spec: WorkflowSpec) -> None:
        """Store ``spec``, replacing a workflow of that name that is not running.

        Jobs that keep their name keep their state when their spec is unchanged.
        """
        now = time.time()
        with self.transaction() as db:
            row = db.execute("SELECT id FROM workflows WHERE name=?", (spec.name,)).fetchone()
            if row is None:
                wid = db.execute(
                    "INSERT INTO workflows (name, spec, created, modified) VALUES (?,?,?,?)",
                    (spec.name, _spec_meta(spec), now, now),
                ).lastrowid
            else:
                wid = row[0]
                self._refuse_if_running(db, wid, spec.name)
                db.execute(
                    "UPDATE workflows SET spec=?, modified=?, generation=generation+1 WHERE id=?",
                    (_spec_meta(spec), now, wid),
                )
            old = {r["name"]: r["spec"] for r in db.execute("SELECT name, spec FROM jobs WHERE workflow_id=?", (wid,))}
            db.execute("DELETE FROM jobs WHERE workflow_id=? AND name NOT IN (SELECT value FROM json_each(?))",
                       (wid, json.dumps(list(spec.jobs))))
            for position, job in enumerate(spec.jobs.values()):
                text = _job_json(job)
                if job.name not in old:
                    db.execute(
                        "INSERT INTO jobs (workflow_id, name, position, spec, created, modified) VALUES (?,?,?,?,?,?)",
                        (wid, job.name, position, text, now, now),
                    )
                elif old[job.name] != text:
                    db.execute(
                        "UPDATE jobs SET position=?, spec=?, state='ready', progress=0, message=NULL, "
                        "modified=? WHERE workflow_id=? AND name=?",
                        (position, text, now, wid, job.name),
                    )
                else:
                    db.execute("UPDATE jobs SET position=? WHERE workflow_id=? AND name=?", (position, wid, job.name))
            db.execute("DELETE FROM edges WHERE workflow_id=?", (wid,))
            db.executemany(
                "INSERT INTO edges (workflow_id, parent, child, position) VALUES (?,?,?,?)",
                [(wid, a, b, i) for i, (a, b) in enumerate(spec.edges)],
            )

    def restore_states(self, name: str, states: Mapping[str, tuple[JobState, int]]) -> None:
        """Show a saved run: set jobs' states and progress as a file recorded them.

        Not a run (no attempts, no transition checks): for a workflow that is not running;
        its state becomes done when every job is, failed when one did not succeed.
        """
        now = time.time()
        with self.transaction() as db:
            wid = self.workflow_id(name)
            self._refuse_if_running(db, wid, name)
            db.executemany("UPDATE jobs SET state=?, progress=?, modified=? WHERE workflow_id=? AND name=?",
                           [(state.value, progress, now, wid, job) for job, (state, progress) in states.items()])
            rows = [JobState(r[0]) for r in db.execute("SELECT state FROM jobs WHERE workflow_id=?", (wid,))]
            if rows and all(state is JobState.DONE for state in rows):
                overall = WorkflowState.DONE
            elif any(state.is_unsuccessful for state in rows):
                overall = WorkflowState.FAILED
            else:
                overall = WorkflowState.DEFINED
            db.execute("UPDATE workflows SET state=?, modified=? WHERE id=?", (overall.value, now, wid))
            self.event(wid, None, "workflow", overall.value, None, "state restored from a saved file")

    def _refuse_if_running(self, db: sqlite3.Connection, wid: int, name: str) -> None:
        row = db.execute("SELECT lock_pid, lock_ctime FROM workflows WHERE id=?", (wid,)).fetchone()
        if row["lock_pid"] and self._lock_alive(row["lock_pid"], row["lock_ctime"]):
            raise LockedError(f"workflow '{name}' is running (coordinator pid {row['lock_pid']}); cancel it first")

    def delete(self, name: str) -> None:
        with self.transaction() as db:
            wid = self.workflow_id(name)
            self._refuse_if_running(db, wid, name)
            db.execute("DELETE FROM workflows WHERE id=?", (wid,))

    def add_jobs(self, name: str, jobs: Sequence[JobSpec], edges: Iterable[tuple[str, str]] = ()) -> None:
        """Add (or replace) jobs and edges of a stored workflow, running or not.

        The caller validates the resulting spec first (see ``api.Workflow``).
        """
        now = time.time()
        with self.transaction() as db:
            wid = self.workflow_id(name)
            names = json.dumps([job.name for job in jobs])
            for row in db.execute(
                "SELECT name, state FROM jobs WHERE workflow_id=? AND name IN (SELECT value FROM json_each(?))",
                (wid, names),
            ):
                if JobState(row["state"]).is_active:
                    raise BusyError(f"job '{row['name']}' is {row['state']}: it cannot be replaced now")
            start = db.execute("SELECT COALESCE(MAX(position)+1, 0) FROM jobs WHERE workflow_id=?", (wid,)).fetchone()[0]
            for offset, job in enumerate(jobs):
                db.execute(
                    "INSERT INTO jobs (workflow_id, name, position, spec, created, modified) VALUES (?,?,?,?,?,?) "
                    "ON CONFLICT (workflow_id, name) DO UPDATE SET spec=excluded.spec, modified=excluded.modified",
                    (wid, job.name, start + offset, _job_json(job), now, now),
                )
            epos = db.execute("SELECT COALESCE(MAX(position)+1, 0) FROM edges WHERE workflow_id=?", (wid,)).fetchone()[0]
            for offset, (parent, child) in enumerate(edges):
                db.execute(
                    "INSERT OR IGNORE INTO edges (workflow_id, parent, child, position) VALUES (?,?,?,?)",
                    (wid, parent, child, epos + offset),
                )
            db.execute("UPDATE workflows SET generation=generation+1, modified=? WHERE id=?", (now, wid))

    def remove_job(self, name: str, job: str) -> None:
        with self.transaction() as db:
            wid = self.workflow_id(name)
            row = db.execute("SELECT state FROM jobs WHERE workflow_id=? AND name=?", (wid, job)).fetchone()
            if row is None:
                raise NotFoundError(f"workflow '{name}' has no job '{job}'")
            if JobState(row["state"]).is_active:
                raise BusyError(f"job '{job}' is {row['state']}; cancel the workflow first")
            db.execute("DELETE FROM jobs WHERE workflow_id=? AND name=?", (wid, job))
            db.execute("DELETE FROM edges WHERE workflow_id=? AND (parent=? OR child=?)", (wid, job, job))
            db.execute("UPDATE workflows SET generation=generation+1, modified=? WHERE id=?", (time.time(), wid))

    def version(self, name: str) -> tuple[int, int, float, str, int | None, float | None, int]:
        """What changes whenever anything shown about ``name`` changes, in one cheap read:
        (id, generation, modified, state, lock pid, lock start time, last event id)."""
        row = self.db.execute(
            "SELECT id, generation, modified, state, lock_pid, lock_ctime, "
            "(SELECT MAX(e.id) FROM events e WHERE e.workflow_id = workflows.id) "
            "FROM workflows WHERE name = ?",
            (name,),
        ).fetchone()
        if row is None:
            raise NotFoundError(f"no workflow named '{name}'")
        return (int(row[0]), int(row[1]), float(row[2]), str(row[3]), row[4], row[5], int(row[6] or 0))

    def state(self, name: str) -> WorkflowState:
        """The stored state of ``name`` (one cheap read; ``running`` even where its
        coordinator died: :meth:`running_pid` tells)."""
        row = self.db.execute("SELECT state FROM workflows WHERE name=?", (name,)).fetchone()
        if row is None:
            raise NotFoundError(f"no workflow named '{name}'")
        return WorkflowState(row[0])

    def generation(self, wid: int) -> tuple[int, bool]:
        """(generation counter, cancel of the whole run requested) — the one cheap read of a
        scheduler tick."""
        generation, cancel = self.control(wid)
        return generation, cancel == CANCEL_ALL

    def control(self, wid: int) -> tuple[int, int]:
        """(generation counter, ``cancel_requested``: one of the ``CANCEL_*`` values)."""
        row = self.db.execute("SELECT generation, cancel_requested FROM workflows WHERE id=?", (wid,)).fetchone()
        return int(row[0]), int(row[1])

    def request_cancel_jobs(self, name: str, jobs: Collection[str]) -> bool:
        """Ask the coordinator to cancel these jobs only (the others go on); False when
        none runs (the next one to start cancels them first)."""
        with self.transaction() as db:
            wid = self.workflow_id(name)
            marks = [(wid, job) for job in jobs]
            db.executemany("UPDATE jobs SET cancel_requested=1 WHERE workflow_id=? AND name=?", marks)
            db.execute("UPDATE workflows SET cancel_requested=? WHERE id=? AND cancel_requested=?",
                       (CANCEL_JOBS, wid, CANCEL_NONE))
            row = db.execute("SELECT lock_pid, lock_ctime FROM workflows WHERE id=?", (wid,)).fetchone()
        return bool(row["lock_pid"]) and self._lock_alive(row["lock_pid"], row["lock_ctime"])

    def take_job_cancels(self, wid: int) -> list[str]:
        """The jobs marked by :meth:`request_cancel_jobs`, unmarked as they are read."""
        with self.transaction() as db:
            jobs = [r[0] for r in db.execute("SELECT name FROM jobs WHERE workflow_id=? AND cancel_requested=1 "
                                             "ORDER BY position", (wid,))]
            db.execute("UPDATE jobs SET cancel_requested=0 WHERE workflow_id=? AND cancel_requested=1", (wid,))
            db.execute("UPDATE workflows SET cancel_requested=? WHERE id=? AND cancel_requested=?",
                       (CANCEL_NONE, wid, CANCEL_JOBS))
        return jobs

    def request_cancel(self, name: str) -> bool:
        """Ask the running coordinator to cancel; False when none is running."""
        with self.transaction() as db:
            wid = self.workflow_id(name)
            db.execute("UPDATE workflows SET cancel_requested=1 WHERE id=?", (wid,))
            row = db.execute("SELECT lock_pid, lock_ctime FROM workflows WHERE id=?", (wid,)).fetchone()
        return bool(row["lock_pid"]) and self._lock_alive(row["lock_pid"], row["lock_ctime"])

    # -- the coordinator lock ----------------------------------------------------------------

    @staticmethod
    def _lock_alive(pid: int, ctime: float | None) -> bool:
        return same_process(pid, ctime)

    def acquire(self, name: str) -> int:
        """Take the coordinator lock of ``name`` for this process; returns the workflow id.

        Raises :class:`LockedError` when a live process holds it; a dead holder's lock is
        taken over.
        """
        pid = os.getpid()
        ctime = start_stamp(pid)
        with self.transaction() as db:
            wid = self.workflow_id(name)
            row = db.execute("SELECT lock_pid, lock_ctime, lock_host FROM workflows WHERE id=?", (wid,)).fetchone()
            holder = row["lock_pid"]
            if holder and holder != pid and self._lock_alive(holder, row["lock_ctime"]):
                raise LockedError(
                    f"workflow '{name}' is already being run by process {holder} on {row['lock_host']}"
                )
            db.execute(
                # an old request to cancel the whole run is void; one for single jobs stands
                "UPDATE workflows SET lock_pid=?, lock_ctime=?, lock_host=?, cancel_requested="
                f"CASE cancel_requested WHEN {CANCEL_JOBS} THEN {CANCEL_JOBS} ELSE {CANCEL_NONE} END WHERE id=?",
                (pid, ctime, socket.gethostname(), wid),
            )
            db.execute("UPDATE jobs SET cancel_requested=0 WHERE workflow_id=? AND cancel_requested=1 AND "
                       "(SELECT cancel_requested FROM workflows WHERE id=?) != ?", (wid, wid, CANCEL_JOBS))
        return wid

    def release(self, wid: int) -> None:
        with self.transaction() as db:
            db.execute("UPDATE workflows SET lock_pid=NULL, lock_ctime=NULL, lock_host=NULL WHERE id=?", (wid,))

    # -- reading ---------------------------------------------------------------------------

    def spec(self, name: str) -> WorkflowSpec:
        row = self.db.execute("SELECT * FROM workflows WHERE name=?", (name,)).fetchone()
        if row is None:
            raise NotFoundError(f"no workflow named '{name}'")
        return self._spec(row)

    def _spec(self, row: sqlite3.Row) -> WorkflowSpec:
        """The spec of a ``workflows`` row; parsed once per version: every change of its jobs or
        edges bumps ``generation`` in the same transaction, a workflow made again under a
        reused id has another ``created`` (a 1000-job view parses 1000 job specs: ~10 ms)."""
        key = (row["generation"], row["created"], row["spec"])
        cached = self._parsed.pop(row["id"], None)
        spec = cached[1] if cached is not None and cached[0] == key else self._parse_spec(row)
        self._parsed[row["id"]] = (key, spec)  # the most recent last
        if len(self._parsed) > PARSED_SPECS:  # a long-lived store (the service's) reads many workflows
            del self._parsed[next(iter(self._parsed))]
        return spec

    def _parse_spec(self, row: sqlite3.Row) -> WorkflowSpec:
        meta = json.loads(row["spec"])
        jobs = {
            r["name"]: JobSpec.from_dict(r["name"], json.loads(r["spec"]))
            for r in self.db.execute("SELECT name, spec FROM jobs WHERE workflow_id=? ORDER BY position", (row["id"],))
        }
        edges = tuple(
            (r[0], r[1])
            for r in self.db.execute("SELECT parent, child FROM edges WHERE workflow_id=? ORDER BY position", (row["id"],))
        )
        return WorkflowSpec(
            name=row["name"],
            jobs=jobs,
            edges=edges,
            colors=meta["colors"],
            hosts=meta["hosts"],
            options=meta["options"],
            source=meta["source"],
            base_dir=meta["base_dir"],
        )

    def view(self, name: str) -> WorkflowView:
        """A consistent snapshot of the workflow and all its jobs (one read transaction)."""
        self.db.execute("BEGIN")
        try:
            row = self.db.execute("SELECT * FROM workflows WHERE name=?", (name,)).fetchone()
            if row is None:
                raise NotFoundError(f"no workflow named '{name}'")
            spec = self._spec(row)
            jobs = {
                r["name"]: JobView(
                    spec=spec.jobs[r["name"]],
                    state=JobState(r["state"]),
                    progress=r["progress"],
                    message=r["message"],
                    attempt=r["attempt"],
                    exit_code=r["exit_code"],
                    created=r["created"],
                    modified=r["modified"],
                    # a job seen only once it ended (a short batch job) started when submitted
                    tstart=r["started"] if r["started"] is not None or r["ended"] is None else r["submitted"],
                    tend=r["ended"],
                )
                for r in self.db.execute(
                    "SELECT jobs.*, a.exit_code, a.created AS submitted, a.started, a.ended FROM jobs "
                    f"JOIN workflows w ON w.id=jobs.workflow_id {_THIS_RUN_ATTEMPT} "
                    "WHERE jobs.workflow_id=? ORDER BY jobs.position", (row["id"],))
            }
            # this run's latest attempts only: a job not started in this run shows no stale host
            since = row["t0"] or 0.0
            attempts = {a.job: a for a in self._attempts(row["id"], latest=True)
                        if a.job in jobs and a.created >= since and a.number == jobs[a.job].attempt
                        and jobs[a.job].state not in (JobState.READY, JobState.SKIPPED)}
        finally:
            self.db.execute("COMMIT")
        running = row["lock_pid"] if row["lock_pid"] and self._lock_alive(row["lock_pid"], row["lock_ctime"]) else None
        state = WorkflowState(row["state"])
        dead = None
        if state is WorkflowState.RUNNING and running is None:  # its coordinator died (kill -9, power loss)
            state, dead = WorkflowState.INTERRUPTED, row["lock_pid"]
        return WorkflowView(
            spec=spec,
            jobs=jobs,
            state=state,
            dead_pid=dead,
            run_dir=row["run_dir"],
            created=row["created"],
            modified=row["modified"],
            t0=row["t0"],
            t1=row["t1"],
            running_pid=running,
            attempts=attempts,
        )

    def _attempts(self, wid: int, *, latest: bool = False, job: str | None = None) -> list[AttemptView]:
        sql = "SELECT * FROM attempts WHERE workflow_id=?"
        args: list[Any] = [wid]
        if job is not None:
            sql += " AND job=?"
            args.append(job)
        if latest:
            sql += " AND number=(SELECT MAX(number) FROM attempts a2 WHERE a2.workflow_id=attempts.workflow_id AND a2.job=attempts.job)"
        return [self._attempt(r) for r in self.db.execute(sql + " ORDER BY id", args)]

    @staticmethod
    def _attempt(r: sqlite3.Row) -> AttemptView:
        return AttemptView(
            job=r["job"], number=r["number"], token=r["token"], kind=r["kind"], host=r["host"],
            workdir=r["workdir"], stem=r["stem"], native_id=r["native_id"], state=JobState(r["state"]),
            exit_code=r["exit_code"], log_offset=r["log_offset"], created=r["created"],
            started=r["started"], ended=r["ended"], message=r["message"], usage=Usage.from_json(r["usage"]),
        )

    def running_pid(self, name: str) -> int | None:
        """The pid of the live coordinator of ``name``, or None (one cheap read)."""
        row = self.db.execute("SELECT lock_pid, lock_ctime FROM workflows WHERE name=?", (name,)).fetchone()
        if row is None:
            raise NotFoundError(f"no workflow named '{name}'")
        return row["lock_pid"] if row["lock_pid"] and self._lock_alive(row["lock_pid"], row["lock_ctime"]) else None

    def runs(self, name: str) -> list[RunView]:
        """Every recorded run of ``name``, newest first; a run marked running whose
        coordinator is gone reads as ``interrupted``."""
        wid = self.workflow_id(name)
        lock = self.db.execute("SELECT lock_pid, lock_ctime FROM workflows WHERE id=?", (wid,)).fetchone()
        alive = bool(lock["lock_pid"]) and self._lock_alive(lock["lock_pid"], lock["lock_ctime"])
        found = []
        for r in self.db.execute("SELECT * FROM runs WHERE workflow_id=? ORDER BY number DESC", (wid,)):
            state = WorkflowState(r["state"])
            if state is WorkflowState.RUNNING and not (alive and lock["lock_pid"] == r["pid"]):
                state = WorkflowState.INTERRUPTED
            found.append(RunView(number=r["number"], started=r["started"], ended=r["ended"], state=state,
                                 started_by=r["started_by"], pid=r["pid"], options=json.loads(r["options"]),
                                 counts=json.loads(r["counts"])))
        return found

    def attempts(self, name: str, job: str | None = None) -> list[AttemptView]:
        return self._attempts(self.workflow_id(name), job=job)

    def open_attempts(self, wid: int) -> list[AttemptView]:
        """Attempts recorded but not finished: what a restarted coordinator re-attaches."""
        active = [s.value for s in JobState if s.is_active]
        marks = ",".join("?" * len(active))
        rows = self.db.execute(f"SELECT * FROM attempts WHERE workflow_id=? AND state IN ({marks}) ORDER BY id", [wid, *active])
        return [self._attempt(r) for r in rows]

    def events(self, name: str, after: int = 0, limit: int = 1000) -> list[dict[str, Any]]:
        """Events with id > ``after`` (state changes and progress), oldest first."""
        wid = self.workflow_id(name)
        rows = self.db.execute(
            "SELECT id, job, ts, kind, state, progress, message FROM events WHERE workflow_id=? AND id>? ORDER BY id LIMIT ?",
            (wid, after, limit),
        )
        return [dict(r) for r in rows]

    # -- writing a run (call inside ``transaction()``) ----------------------------------------

    def start_run(self, wid: int, run_dir: str, reset: Iterable[str], *, fresh: bool,
                  options: Mapping[str, object] | None = None) -> None:
        """Mark the workflow running; ``reset`` jobs go back to ``ready`` for a new attempt.

        A fresh run is a new row of the runs table (number, start, who, ``options``); a
        resumed one (``fresh=False``) continues the latest row, under this process's pid.
        """
        now = time.time()
        latest = self.db.execute("SELECT id FROM runs WHERE workflow_id=? ORDER BY number DESC LIMIT 1",
                                 (wid,)).fetchone()
        if fresh or latest is None:
            self.db.execute(
                "INSERT INTO runs (workflow_id, number, started, state, started_by, pid, options) "
                "VALUES (?, (SELECT COALESCE(MAX(number), 0) + 1 FROM runs WHERE workflow_id=?), ?, 'running', ?, ?, ?)",
                (wid, wid, now, _started_by(), os.getpid(), json.dumps(dict(options or {}))),
            )
        else:
            self.db.execute("UPDATE runs SET state='running', ended=NULL, pid=? WHERE id=?", (os.getpid(), latest[0]))
        if fresh:
            self.db.execute("UPDATE workflows SET state='running', run_dir=?, t0=?, t1=NULL, modified=? WHERE id=?",
                            (run_dir, now, now, wid))
        else:
            self.db.execute("UPDATE workflows SET state='running', run_dir=?, t0=COALESCE(t0, ?), t1=NULL, modified=? WHERE id=?",
                            (run_dir, now, now, wid))
        self.db.executemany(
            "UPDATE jobs SET state='ready', progress=0, message=NULL, modified=? "
            "WHERE workflow_id=? AND name=?",
            [(now, wid, job) for job in reset],
        )
        self.event(wid, None, "workflow", WorkflowState.RUNNING.value, None, None)

    def end_run(self, wid: int, state: WorkflowState) -> None:
        """The coordinator's end of the run; ``handed-off`` leaves it without an end time
        (Slurm goes on with it; the next coordinator continues the same run)."""
        now = time.time()
        ended = None if state is WorkflowState.HANDED_OFF else now
        counts = dict(self.db.execute("SELECT state, COUNT(*) FROM jobs WHERE workflow_id=? GROUP BY state", (wid,)))
        self.db.execute(
            "UPDATE runs SET state=?, ended=?, counts=? WHERE id=(SELECT id FROM runs WHERE workflow_id=? "
            "ORDER BY number DESC LIMIT 1)", (state.value, ended, json.dumps(counts), wid))
        self.db.execute("UPDATE workflows SET state=?, t1=?, modified=?, cancel_requested=0 WHERE id=?",
                        (state.value, ended, now, wid))
        self.db.execute("UPDATE jobs SET cancel_requested=0 WHERE workflow_id=? AND cancel_requested=1", (wid,))
        self.event(wid, None, "workflow", state.value, None, None)

    def event(self, wid: int, job: str | None, kind: str, state: str | None, progress: int | None,
              message: str | None, ts: float | None = None) -> None:
        self.db.execute(EVENT_SQL, (wid, job, ts or time.time(), kind, state, progress, message))

    def set_job_state(self, wid: int, job: str, state: JobState, *, message: str | None = None,
                      attempt: int | None = None, ts: float | None = None) -> None:
        """Record a job's new state (and the number of its latest attempt) plus the event.

        Raises :class:`StateError` for a move the transition table forbids.
        """
        change = StateChange(job, state, ts or time.time(), message, attempt)
        self._update_job(wid, JobRow(job, (change,)))
        self.db.executemany(EVENT_SQL, _events(wid, [change]))

    def _update_job(self, wid: int, row: JobRow) -> None:
        """One UPDATE of a job's row for its moves of a round, in order (see
        :func:`~hybridflow.rounds.coalesce`): the first move is checked in SQL against the
        row's state, each later one against the move before it.

        Success clears what an earlier attempt said ("attempt 2 failed; retry..."); other
        moves keep the message unless they bring one. Raises :class:`StateError`.
        """
        sets: dict[str, Any] = {}
        first: JobState | None = None
        last: JobState | None = None
        for move in row.moves:
            sets["modified"] = move.ts
            if isinstance(move, ProgressChange):
                sets["progress"] = move.progress
                continue
            if last is None:
                first = move.state
            elif last not in predecessors(move.state):
                raise StateError(f"job '{row.job}': cannot go from {last.value} to {move.state.value}")
            last = sets["state"] = move.state
            if move.state is JobState.DONE or move.message is not None:
                sets["message"] = move.message
            if move.state in _PROGRESS_AT:
                sets["progress"] = _PROGRESS_AT[move.state]
            if move.attempt is not None:
                sets["attempt"] = move.attempt
        if row.fingerprint is not None:
            sets["fingerprint"] = row.fingerprint
        if not sets:
            return
        args = [value.value if isinstance(value, JobState) else value for value in sets.values()]
        sql = f"UPDATE jobs SET {', '.join(f'{column}=?' for column in sets)} WHERE workflow_id=? AND name=?"
        if first is None:
            self.db.execute(sql, [*args, wid, row.job])
            return
        allowed = [old.value for old in predecessors(first)]
        cursor = self.db.execute(f"{sql} AND state IN ({','.join('?' * len(allowed))})", [*args, wid, row.job, *allowed])
        if cursor.rowcount != 1:
            found = self.db.execute("SELECT state FROM jobs WHERE workflow_id=? AND name=?", (wid, row.job)).fetchone()
            raise StateError(f"job '{row.job}': cannot go from {found['state'] if found else 'nowhere'} to {first.value}")

    def add_attempt(self, wid: int, *, job: str, number: int, token: str, kind: str, host: str,
                    workdir: str, stem: str, ts: float | None = None) -> None:
        self.db.execute(
            "INSERT INTO attempts (workflow_id, job, number, token, kind, host, workdir, stem, state, created) "
            "VALUES (?,?,?,?,?,?,?,?,?,?)",
            (wid, job, number, token, kind, host, workdir, stem, JobState.SUBMITTED.value, ts or time.time()),
        )

    def update_attempt(self, change: AttemptChange) -> None:
        """Apply what became known about an attempt (see :class:`AttemptChange`)."""
        sets: list[str] = []
        args: list[Any] = []
        if change.state is not None:
            sets += ["state=?", "message=?"]
            args += [change.state.value, change.message]
        for column in ("exit_code", "native_id", "log_offset", "ended"):
            value = getattr(change, column)
            if value is not None:
                sets.append(f"{column}=?")
                args.append(value)
        if change.started is not None:
            sets.append("started=COALESCE(started, ?)")
            args.append(change.started)
        if change.usage is not None:
            sets.append("usage=?")
            args.append(change.usage.to_json())
        if sets:
            self.db.execute(f"UPDATE attempts SET {', '.join(sets)} WHERE token=?", [*args, change.token])

    def apply(self, wid: int, writes: Sequence[Write], *, durable: bool = False) -> None:
        """Write one round of a run (:mod:`hybridflow.runstate`) in one transaction: one
        statement per row it changes (:func:`~hybridflow.rounds.coalesce`) and its events in
        order; a :class:`RunEnd` counts the rows written before it.

        Raises :class:`StateError` (and writes nothing) when a job's move is not allowed.
        """
        with self.transaction(durable=durable):
            segment: list[Write] = []
            for write in [*writes, None]:
                if write is not None and not isinstance(write, RunEnd):
                    segment.append(write)
                    continue
                self._apply_rows(wid, segment)
                segment = []
                if write is not None:
                    self.end_run(wid, write.state)

    def _apply_rows(self, wid: int, writes: Sequence[Write]) -> None:
        for row in coalesce(writes):
            match row:
                case JobRow():
                    self._update_job(wid, row)
                case AttemptChange():
                    self.update_attempt(row)
                case NewAttempt():
                    self.add_attempt(wid, job=row.job, number=row.number, token=row.token, kind=row.kind,
                                     host=row.host, workdir=row.workdir, stem=row.stem, ts=row.ts)
                case FingerprintChange():
                    self.set_fingerprint(wid, row.job, row.fingerprint)
        self.db.executemany(EVENT_SQL, _events(wid, writes))

    def set_fingerprint(self, wid: int, job: str, fingerprint: str) -> None:
        self.db.execute("UPDATE jobs SET fingerprint=? WHERE workflow_id=? AND name=?", (fingerprint, wid, job))

    def fingerprints(self, wid: int) -> dict[str, str | None]:
        """The fingerprint each job had when it last succeeded."""
        return dict(self.db.execute("SELECT name, fingerprint FROM jobs WHERE workflow_id=?", (wid,)).fetchall())
