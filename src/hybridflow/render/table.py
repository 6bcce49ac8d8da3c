"""The status of a workflow as rows of plain data and as a ``rich`` table.

Jobs are listed in topological order, ties kept in declaration order (a workflow whose
edges do not form a DAG is listed in declaration order).
"""

from __future__ import annotations

import time
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from .. import dag
from ..labels import format_duration
from ..snapshot import JobView, WorkflowView

if TYPE_CHECKING:
    from rich.table import Table

#: rich style of each state's name in the table
STATE_STYLES: dict[str, str] = {
    "ready": "dim", "submitted": "yellow", "pending": "yellow", "running": "bold blue",
    "unknown": "magenta", "done": "green", "failed": "bold red", "timeout": "red",
    "canceled": "yellow", "skipped": "dim", "lost": "bold magenta",
}
COLUMNS = ("job", "state", "progress", "kind", "host", "attempt", "start", "duration", "exit", "message")


def ordered_jobs(view: WorkflowView) -> list[JobView]:
    """The view's jobs, parents before children, otherwise in declaration order."""
    rank = {name: k for k, name in enumerate(view.jobs)}
    graph = dag.build(view.jobs, ((a, b) for a, b in view.edges if a in rank and b in rank))
    try:
        names = dag.topological_order(graph, key=rank.__getitem__)
    except ValueError:
        names = list(view.jobs)
    return [view.jobs[name] for name in names]


def _iso(when: float | None) -> str | None:
    return None if when is None else datetime.fromtimestamp(when).isoformat(timespec="seconds")


def _clock(iso: str | None, today: date) -> str:
    """A start time as shown in the table: the time of day, with the date unless today."""
    if iso is None:
        return ""
    when = datetime.fromisoformat(iso)
    return when.strftime("%H:%M:%S" if when.date() == today else "%Y-%m-%d %H:%M")


def _duration(job: JobView, now: float) -> float | None:
    if job.tstart is None:
        return None
    return round(max(0.0, (job.tend if job.tend is not None else now) - job.tstart), 3)


def status_rows(view: WorkflowView, now: float | None = None) -> list[dict[str, Any]]:
    """One dict per job with the keys of :data:`COLUMNS` plus ``exit_code`` and ``end``.

    Values are plain (str, int, float, None): ``start``/``end`` are local ISO-8601 times,
    ``duration`` is seconds (for a job without an end: up to ``now``, default the clock).
    ``host`` and ``attempt`` are those of the job's latest attempt in this run (the declared
    host and 0 for a job not started in it).
    """
    current = time.time() if now is None else now
    rows = []
    for job in ordered_jobs(view):
        attempt = view.attempts.get(job.name)
        rows.append({
            "job": job.name,
            "state": job.state.value,
            "progress": job.progress,
            "kind": job.spec.kind,
            "host": attempt.host if attempt is not None else job.spec.host,
            "attempt": attempt.number if attempt is not None else 0,  # this run's only
            "start": _iso(job.tstart),
            "duration": _duration(job, current),
            "message": job.message or (attempt.message if attempt is not None else None),
            "exit_code": job.exit_code,
            "end": _iso(job.tend),
        })
    return rows


def state_text(view: WorkflowView) -> str:
    """The workflow's state as shown: ``interrupted (coordinator pid 123 died)``, ``running (pid 9)``."""
    if view.dead_pid is not None:
        return f"{view.state.value} (coordinator pid {view.dead_pid} died; run it again to resume)"
    if view.running_pid is not None:
        return f"{view.state.value} (pid {view.running_pid})"
    return view.state.value


def status_table(view: WorkflowView, now: float | None = None) -> Table:
    """A ``rich`` table of :func:`status_rows`; the title names the workflow and its state
    (rich is imported here: plain rows and JSON do not need it)."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    counts = ", ".join(f"{n} {state}" for state, n in view.counts().items())
    title = f"{view.name}: {state_text(view)}" + (f" ({counts})" if counts else "")
    table = Table(title=title, box=box.SIMPLE_HEAD, collapse_padding=True)
    rows = status_rows(view, now)
    today = datetime.now().date()
    for column in COLUMNS:
        table.add_column(
            column,
            justify="right" if column in ("progress", "attempt", "duration", "exit") else "left",
            no_wrap=column != "message",
            min_width={"job": max((len(r["job"]) for r in rows), default=3), "message": 12}.get(
                column
            ),
            overflow="fold" if column == "message" else "ellipsis",
        )
    for row in rows:
        table.add_row(
            row["job"],
            Text(row["state"], style=STATE_STYLES.get(row["state"], "")),
            f"{row['progress']}%",
            row["kind"],
            row["host"] or "",
            str(row["attempt"]) if row["attempt"] else "",
            _clock(row["start"], today),
            "" if row["duration"] is None else format_duration(row["duration"]),
            "" if row["exit_code"] is None else str(row["exit_code"]),
            row["message"] or _hint(view, row),
        )
    return table


def _hint(view: WorkflowView, row: dict[str, Any]) -> str:
    """For a job that failed without a message: where to read why."""
    if row["state"] in ("failed", "timeout", "lost") and row["attempt"]:
        return f"see: hflow workflow logs {view.name} {row['job']}"
    return ""
