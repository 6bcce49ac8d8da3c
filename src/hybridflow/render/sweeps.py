"""Rows that show sweeps: ``hflow workflow expand`` and the grouped status table.

Presentation only: :func:`expansion_rows` lists expanded jobs (one row each),
:func:`group_rows` folds the status rows of each sweep's jobs into one row.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..spec import JobSpec
from ..sweeps import MKDIR


def command(job: JobSpec) -> str:
    """What a job runs, in one line for tables: the user's command without our preamble."""
    if job.script:
        return job.script
    text = job.exec or ""
    if job.sweep and text.startswith(MKDIR + "\n"):
        text = text[len(MKDIR) + 1:]
        if text.startswith("cat > ") and "\n" in text:
            return text.rsplit("\n", 1)[1] + "  (rendered script)"
    return text


def expansion_rows(jobs: Mapping[str, JobSpec]) -> list[dict[str, Any]]:
    """One row per job for ``hflow workflow expand``: job, sweep, parameters, output dir..."""
    rows = []
    for job in jobs.values():
        rows.append({
            "job": job.name,
            "sweep": job.sweep or "",
            "parameters": " ".join(f"{k}={v}" for k, v in job.sweep_params.items()),
            "output_dir": job.env.get("HF_OUTPUT_DIR", "") if job.sweep else "",
            "kind": job.kind,
            "host": job.host or "",
            "command": command(job),
        })
    return rows


#: order in which state counts of a sweep are listed
STATE_ORDER = ("failed", "timeout", "lost", "unknown", "running", "pending", "submitted",
               "ready", "done", "canceled", "skipped")


def group_rows(rows: Sequence[Mapping[str, Any]], sweeps: Mapping[str, str]) -> list[dict[str, Any]]:
    """Status rows with each sweep's jobs folded into one row at its first job's place.

    ``rows`` are ``render.status_rows`` dicts; ``sweeps`` maps job → sweep node. A sweep
    row has ``jobs`` (how many), ``counts`` (state → number), ``state`` (the counts as
    text, e.g. ``done 4, running 2``), mean ``progress``, the earliest ``start`` and the
    ``failed`` job names in ``message``.
    """
    grouped: list[dict[str, Any]] = []
    members: dict[str, list[Mapping[str, Any]]] = {}
    for row in rows:
        node = sweeps.get(row["job"])
        if node is None:
            grouped.append({**row, "jobs": 1})
            continue
        if node not in members:
            members[node] = []
            grouped.append({"job": node, "sweep": True})
        members[node].append(row)
    for index, row in enumerate(grouped):
        if not row.get("sweep"):
            continue
        items = members[row["job"]]
        counts: dict[str, int] = {}
        for item in items:
            counts[item["state"]] = counts.get(item["state"], 0) + 1
        order = {s: k for k, s in enumerate(STATE_ORDER)}
        counts = dict(sorted(counts.items(), key=lambda kv: order.get(kv[0], len(order))))
        starts = [item["start"] for item in items if item["start"]]
        durations = [item["duration"] for item in items if item["duration"] is not None]
        bad = [item["job"] for item in items if item["state"] in ("failed", "timeout", "lost")]
        grouped[index] = {
            "job": row["job"],
            "sweep": True,
            "jobs": len(items),
            "counts": counts,
            "state": ", ".join(f"{s} {n}" for s, n in counts.items()),
            "progress": round(sum(item["progress"] for item in items) / len(items)),
            "kind": ",".join(sorted({item["kind"] for item in items})),
            "host": ",".join(sorted({item["host"] or "" for item in items})),
            "attempt": max(item["attempt"] for item in items),
            "start": min(starts) if starts else None,
            "duration": max(durations) if durations else None,
            "message": ("failed: " + ", ".join(bad[:3]) + (" ..." if len(bad) > 3 else "")) if bad else None,
        }
    return grouped
