"""``budget: 500`` at the top of a workflow: no new batch job once the charge committed
could exceed it.

Committed is, for every attempt started in this run, its actual charge once its host
reported it (:mod:`hybridflow.usage`), else the most it can be charged (its rate × its
time limit, from the host's :meth:`~hybridflow.hosts.base.Host.estimate`). A job that
would take the committed charge over the budget is not submitted: it ends ``skipped``
with a message saying so (and so do its dependants); jobs that bill nothing (local, ssh)
always run. A job whose charge nothing bounds (no time limit anywhere) is refused while a
budget is set.
"""

from __future__ import annotations

from collections.abc import Mapping

from .errors import SpecError
from .spec import WorkflowSpec


def budget_of(spec: WorkflowSpec) -> float | None:
    """The workflow's ``budget:`` in allocation units, if any (SpecError unless a number >= 0)."""
    value = spec.options.get("budget")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise SpecError(f"{value!r} is not a number of allocation units (>= 0)", file=spec.source, field="budget")
    return float(value)


class Budget:
    """One run's committed charge against the limit (no I/O)."""

    def __init__(self, limit: float, estimates: Mapping[str, float | None]) -> None:
        self.limit = limit
        self.estimates = dict(estimates)  # job -> most units one attempt can cost (absent: bills nothing)
        self.committed = 0.0
        self._held: dict[str, float] = {}  # job -> the estimate its running attempt holds

    def admit(self, job: str) -> str | None:
        """Commit the job's next attempt; or, when it does not fit, the message why not."""
        if job not in self.estimates:
            return None
        estimate = self.estimates[job]
        if estimate is None:
            return f"not submitted: budget {self.limit:g} units, and nothing bounds this job's charge (set time:)"
        if self.committed + estimate > self.limit:
            return (f"not submitted: budget {self.limit:g} units would be exceeded "
                    f"({self.committed:.4g} committed, this job up to {estimate:.4g})")
        self.committed += estimate
        self._held[job] = estimate
        return None

    def settle(self, job: str, units: float) -> None:
        """The attempt ended and its host told what it cost: that replaces its estimate."""
        self.committed += units - self._held.pop(job, 0.0)
