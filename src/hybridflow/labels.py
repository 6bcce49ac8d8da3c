"""Node label templates in the cloudmesh-cc format.

A template is plain text with placeholders in braces::

    '{name}\\nProgress={progress}\\nStart={tstart.%Y/%m/%d, %H--%M--%S}\\nJob Time={dt.}'

Fields:

- ``{name}``, ``{progress}``, ``{status}``: the job's name, progress (0-100) and state.
- Points in time, ``{FIELD.FMT}``: ``now``; the job's ``created``, ``modified``,
  ``tstart``, ``tend``; the workflow's ``t0`` (start) and ``t1`` (end). Local time.
- Durations, ``{FIELD.FMT}``: ``dt0`` (workflow elapsed: ``now - t0``, or ``t1 - t0``
  once ended), ``dt1`` (workflow total ``t1 - t0``), ``dt`` (job: ``tend - tstart``, or
  ``now - tstart`` while it has no end). With a FMT, the duration is formatted by applying
  strftime to the UTC epoch plus the duration, so ``{dt0.%M--%S}`` reads minutes:seconds.
- ``{os.VAR}``: the environment variable ``VAR`` (``N/A`` when unset).

- ``{cm.VAR}``: a cloudmesh variable; hybridflow keeps none, so it renders ``None``, as
  cloudmesh-cc renders one that is not set.

In FMT, ``--`` stands for ``:``. An empty FMT (``{t0.}``) means cloudmesh-cc's defaults:
:data:`TIME_FORMAT` (``12/02/2026, 01:19:39``) for points in time and
:data:`DURATION_FORMAT` (``00:00:00``) for durations. A time that is not known yet renders
as :data:`NOT_AVAILABLE`. ``{{`` and ``}}`` are literal braces, as in ``str.format``.

Contract: :func:`render_label` never raises on a bad template. Unknown fields, malformed
braces and formats strftime rejects are left in the output exactly as written. A literal
backslash-n (as written in single-quoted YAML) becomes a line break.
"""

from __future__ import annotations

import os
import re
import time
from datetime import UTC, datetime, timedelta

from .snapshot import JobView, WorkflowView
from .spec import JobSpec

#: what a time field shows before the time is known
NOT_AVAILABLE = "N/A"
#: the format of a point in time written with an empty FMT (``{t0.}``), as in cloudmesh-cc
TIME_FORMAT = "%m/%d/%Y, %H:%M:%S"
#: the format of a duration written with an empty FMT (``{dt.}``), as in cloudmesh-cc
DURATION_FORMAT = "%H:%M:%S"

_TOKEN = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)(?:\.([^{}]*))?\}")
_POINTS = frozenset({"now", "created", "modified", "tstart", "tend", "t0", "t1"})
_DURATIONS = frozenset({"dt0", "dt1", "dt"})
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def default_label(job: JobSpec | JobView) -> str:
    """The label of a job that declares no template: its name."""
    return job.name


def label_for(job: JobView, workflow: WorkflowView, now: float | None = None) -> str:
    """The job's rendered label: its template if it has one, else :func:`default_label`."""
    template = job.spec.label
    if template is None or template == "":
        return default_label(job)
    return render_label(template, job, workflow, now)


def render_label(
    template: str, job: JobView, workflow: WorkflowView, now: float | None = None
) -> str:
    """Render ``template`` for ``job`` of ``workflow`` at time ``now`` (default: the clock).

    The result uses real ``\\n`` line breaks. Never raises for a malformed template.
    """
    current = time.time() if now is None else now
    text = template.replace("\\n", "\n")

    def substitute(match: re.Match[str]) -> str:
        whole = match.group(0)
        if whole == "{{":
            return "{"
        if whole == "}}":
            return "}"
        value = _field(match.group(1), match.group(2), job, workflow, current)
        return whole if value is None else value

    return _TOKEN.sub(substitute, text)


def format_time(when: float | None, fmt: str = "") -> str:
    """A point in time (local time) in strftime ``fmt`` (``--`` meaning ``:``)."""
    if when is None:
        return NOT_AVAILABLE
    pattern = fmt.replace("--", ":") if fmt else TIME_FORMAT
    return datetime.fromtimestamp(when).strftime(pattern)


def format_duration(seconds: float | None, fmt: str = "") -> str:
    """A duration: ``H:MM:SS`` without ``fmt``, else strftime of the UTC epoch + duration.

    Negative durations (clock skew) count as zero.
    """
    if seconds is None:
        return NOT_AVAILABLE
    seconds = max(0.0, seconds)
    if fmt:
        return (_EPOCH + timedelta(seconds=seconds)).strftime(fmt.replace("--", ":"))
    whole = int(seconds)
    return f"{whole // 3600}:{whole // 60 % 60:02d}:{whole % 60:02d}"


def _field(
    key: str, fmt: str | None, job: JobView, workflow: WorkflowView, now: float
) -> str | None:
    """The value of one placeholder, or None to leave it as written."""
    if fmt is None:
        if key == "name":
            return job.name
        if key == "progress":
            return str(job.progress)
        if key == "status":
            return job.state.value
        return None
    if key == "os":
        return None if not fmt else os.environ.get(fmt, NOT_AVAILABLE)
    if key == "cm":
        return None if not fmt else "None"
    try:
        if key in _POINTS:
            return format_time(_point(key, job, workflow, now), fmt)
        if key in _DURATIONS:
            return format_duration(_duration(key, job, workflow, now), fmt or DURATION_FORMAT)
    except (ValueError, OverflowError, OSError):
        return None
    return None


def _point(key: str, job: JobView, workflow: WorkflowView, now: float) -> float | None:
    match key:
        case "now":
            return now
        case "t0":
            return workflow.t0
        case "t1":
            return workflow.t1
        case _:
            value: float | None = getattr(job, key)
            return value


def _duration(key: str, job: JobView, workflow: WorkflowView, now: float) -> float | None:
    if key == "dt":
        if job.tstart is None:
            return None
        return (job.tend if job.tend is not None else now) - job.tstart
    if workflow.t0 is None:
        return None
    if key == "dt1":
        return None if workflow.t1 is None else workflow.t1 - workflow.t0
    return (workflow.t1 if workflow.t1 is not None else now) - workflow.t0
