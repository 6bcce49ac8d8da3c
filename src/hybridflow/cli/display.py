"""Live display of a running engine with rich: overall bar, state counts, running jobs."""

from __future__ import annotations

from collections import Counter

from rich.console import Group, RenderableType
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from ..engine import Engine
from ..states import JobState

STATE_STYLES = {
    "done": "green",
    "failed": "red",
    "timeout": "red",
    "lost": "red",
    "running": "cyan",
    "pending": "yellow",
    "submitted": "yellow",
    "unknown": "magenta",
    "skipped": "dim",
    "canceled": "dim",
    "ready": "white",
    "retrying": "yellow",
}
MAX_ROWS = 15


class LiveRun:
    """A renderable that reads the engine's in-memory state whenever rich refreshes."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def __rich__(self) -> RenderableType:
        states = dict(self.engine.states)
        total = len(states) or 1
        counts = Counter(state.value for state in states.values())
        finished = sum(n for s, n in counts.items() if JobState(s).is_terminal)
        head = Table.grid(padding=(0, 1))
        head.add_row(
            Text(self.engine.name, style="bold"),
            ProgressBar(total=total, completed=finished, width=40),
            Text(f"{finished}/{total}"),
            Text.from_markup("  ".join(f"[{STATE_STYLES.get(s, 'white')}]{s} {n}[/]" for s, n in sorted(counts.items()))),
        )
        running = [job for job, state in states.items() if state.is_active][:MAX_ROWS]
        rows = Table.grid(padding=(0, 1))
        for job in running:
            value = self.engine.progress.get(job, 0)
            state = states[job].value
            rows.add_row(
                Text(f"  {job}", overflow="ellipsis", no_wrap=True),
                ProgressBar(total=100, completed=value, width=30),
                Text(f"{value:3d}%"),
                Text(state, style=STATE_STYLES.get(state, "")),
            )
        return Group(head, rows)
