"""What ``hflow workflow run`` prints when a run ends.

The run directory and the counts; for each job that did not succeed (up to
:data:`MAX_FAILED`), its exit code, the last lines of its log and the log's path; and,
for a workflow of more than :data:`MAX_ROWS` jobs, a table by family and state instead
of one row per job (``--table`` prints every row).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from ..render.families import families
from ..render.table import STATE_STYLES
from ..snapshot import WorkflowView
from ..states import JobState

MAX_ROWS = 50
MAX_FAILED = 10
TAIL_LINES = 5
TAIL_BYTES = 16384
BAD = (JobState.FAILED, JobState.TIMEOUT, JobState.LOST, JobState.UNKNOWN)


def log_tail(path: Path, lines: int = TAIL_LINES) -> list[str] | None:
    """The last ``lines`` lines of a local log, or None when it is not here."""
    try:
        with path.open("rb") as handle:
            size = handle.seek(0, 2)
            handle.seek(max(0, size - TAIL_BYTES))
            text = handle.read().decode("utf-8", "replace")
    except OSError:
        return None
    return text.splitlines()[-lines:]


def failures(view: WorkflowView) -> RenderableType | None:
    """Each job that did not succeed: exit code, message, last lines and path of its log."""
    bad = [job for job in view.jobs.values() if job.state in BAD]
    if not bad:
        return None
    parts: list[RenderableType] = []
    for job in bad[:MAX_FAILED]:
        attempt = view.attempts.get(job.name)
        head = Text(f"{job.name}", style="bold")
        head.append(f" {job.state.value}", style=STATE_STYLES.get(job.state.value, ""))
        if job.exit_code is not None:
            head.append(f", exit code {job.exit_code}")
        if attempt is not None:
            head.append(f", attempt {attempt.number} on {attempt.host}")
        message = job.message or (attempt.message if attempt is not None else None)
        if message:
            head.append(f": {' '.join(message.split())}")
        parts.append(head)
        if attempt is None:
            continue
        path = Path(attempt.workdir) / attempt.log_name
        tail = log_tail(path)
        if tail:
            parts.extend(Text(f"  | {line}", style="dim") for line in tail)
        where = str(path) if tail is not None else f"{path} on {attempt.host}"
        parts.append(Text(f"  log: {where}  (hflow workflow logs {view.name} {job.name})"))
    if len(bad) > MAX_FAILED:
        parts.append(Text(f"... and {len(bad) - MAX_FAILED} more that did not succeed "
                          f"(hflow workflow status {view.name})"))
    return Group(*parts)


def by_family(view: WorkflowView) -> Table:
    """One row per family (a bracket expansion, a sweep, siblings) and one for the other jobs."""
    fams = families(view.spec.jobs, view.spec.edges)
    grouped = {member for fam in fams for member in fam.members}
    rows: list[tuple[str, list[str]]] = [(fam.label, list(fam.members)) for fam in fams]
    others = [name for name in view.jobs if name not in grouped]
    if others:
        rows.append(("other jobs" if rows else "jobs", others))
    counts = view.counts()
    title = f"{view.name}: {view.state.value} ({', '.join(f'{n} {s}' for s, n in counts.items())})"
    table = Table("family", "jobs", "states", title=title, title_justify="left")
    for label, members in rows:
        states = Counter(view.jobs[m].state.value for m in members if m in view.jobs)
        cells = Text(", ").join(Text(f"{s} {n}", style=STATE_STYLES.get(s, "")) for s, n in states.most_common())
        table.add_row(label, str(len(members)), cells)
    return table


def closing(view: WorkflowView, *, full_table: bool | None) -> list[RenderableType]:
    """What to print after the run: the table (every row when ``full_table`` or the workflow
    is small; by family when it is big and ``full_table`` is None), the run directory and the failures."""
    from ..render.table import status_table

    out: list[RenderableType] = []
    if full_table or (full_table is None and len(view.jobs) <= MAX_ROWS):
        out.append(status_table(view))
    elif full_table is None:
        out.append(by_family(view))
    if view.run_dir:
        out.append(Text(f"run directory: {view.run_dir}"))
    failed = failures(view)
    if failed is not None:
        out.append(failed)
    return out
