"""The bill of a workflow: node-hours and allocation units per job, per sweep and per run.

Built from the attempts' :class:`~hybridflow.usage.Usage` (recorded for batch attempts
when they finish). Every attempt counts, retries included (the cluster charged them);
"this run" is the attempts created since the workflow's current run started, "all runs"
everything recorded. Jobs whose kind reports no usage (local, ssh) are left out of the
rows and named in ``unmetered``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from rich.table import Table

from ..snapshot import AttemptView, WorkflowView
from ..usage import Bill, Usage


@dataclass(slots=True)
class CostReport:
    """Sums of one workflow's usage (see the module)."""

    workflow: str
    jobs: dict[str, Bill] = field(default_factory=dict)  # this run, by job
    sweeps: dict[str, Bill] = field(default_factory=dict)  # this run, by sweep node
    run: Bill = field(default_factory=Bill)
    all_runs: Bill = field(default_factory=Bill)
    unmetered: list[str] = field(default_factory=list)  # jobs of this run without usage
    latest: dict[str, Usage] = field(default_factory=dict)  # this run, each job's latest attempt

    def to_dict(self) -> dict[str, Any]:
        return {
            "workflow": self.workflow,
            "run": self.run.view(),
            "all_runs": self.all_runs.view(),
            "jobs": {job: {**bill.view(), "latest": self.latest[job].view()} for job, bill in self.jobs.items()},
            "sweeps": {sweep: bill.view() for sweep, bill in self.sweeps.items()},
            "unmetered": self.unmetered,
        }


def cost(view: WorkflowView, attempts: Sequence[AttemptView]) -> CostReport:
    """The bill of ``view`` from all its ``attempts`` (``Store.attempts(name)``)."""
    report = CostReport(view.name)
    since = view.t0 or 0.0
    started: set[str] = set()
    for attempt in attempts:
        this_run = attempt.created >= since
        if this_run:
            started.add(attempt.job)
        if attempt.usage is None:
            continue
        report.all_runs.add(attempt.usage)
        if not this_run:
            continue
        report.run.add(attempt.usage)
        report.jobs.setdefault(attempt.job, Bill()).add(attempt.usage)
        report.latest[attempt.job] = attempt.usage
        job = view.jobs.get(attempt.job)
        if job is not None and job.spec.sweep:
            report.sweeps.setdefault(job.spec.sweep, Bill()).add(attempt.usage)
    report.unmetered = sorted(started - set(report.jobs))
    return report


def cost_table(report: CostReport) -> Table:
    """Rows per job, then per sweep, then the run and all runs."""
    table = Table(title=f"{report.workflow}: cost", title_justify="left")
    for column in ("", "attempts", "elapsed s", "node-hours", "units (SU)", "cpus", "gpus", "SU/h", "cpu eff.",
                   "max RSS MB"):
        table.add_column(column, justify="left" if not column else "right")

    def row(label: str, bill: Bill, style: str | None = None, usage: Usage | None = None) -> None:
        detail = ["", "", "", "", ""]
        if usage is not None:
            eff = usage.cpu_efficiency
            detail = [str(usage.cpus), str(usage.gpus), f"{usage.billing:g}", "-" if eff is None else f"{eff:.0%}",
                      "-" if usage.max_rss_mb is None else f"{usage.max_rss_mb:.0f}"]
        table.add_row(label, str(bill.attempts), f"{bill.elapsed:.0f}", f"{bill.node_hours:.4f}", f"{bill.units:.4f}",
                      *detail, style=style)

    for job, bill in report.jobs.items():
        row(job, bill, usage=report.latest[job])
    for sweep, bill in report.sweeps.items():
        row(f"sweep {sweep}", bill, "italic")
    row("this run", report.run, "bold")
    row("all runs", report.all_runs, "bold")
    return table
