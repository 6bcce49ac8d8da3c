"""What an attempt used and what it costs: node-hours and allocation units.

A :class:`Usage` is what a batch system reported about one finished attempt: elapsed
time, allocated nodes/CPUs/GPUs/memory, and its **billing** rate — the units per hour
Slurm charges for the allocation, computed by Slurm from the partition's
``TRESBillingWeights`` (the ``billing=`` of ``AllocTRES``; on Rivanna GPU jobs bill
cores + 2 × GPUs). Then::

    node_hours = nodes × elapsed / 3600
    units      = billing × elapsed / 3600          (service units, SUs)

``total_cpu`` and ``max_rss_mb`` come only from ``sacct`` (accounting); without it they
are ``None``, never guessed. :class:`Bill` adds usages up (per job, per sweep, per run).
Pure parsers of Slurm's spellings live here too, so that they are tested without Slurm.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

_MEM = re.compile(r"^(?P<value>\d+(?:\.\d+)?)(?P<unit>[KMGTP]?)$", re.IGNORECASE)
_MEM_MB = {"": 1.0, "K": 1 / 1024, "M": 1.0, "G": 1024.0, "T": 1024.0**2, "P": 1024.0**3}

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Usage:
    """Resources one finished attempt held (see the module)."""

    source: str  # "sacct" or "squeue"
    elapsed: float  # seconds
    nodes: int = 1
    cpus: int = 0
    gpus: int = 0
    mem_mb: float | None = None
    billing: float = 0.0  # units per hour
    total_cpu: float | None = None  # CPU seconds (user + system), sacct only
    max_rss_mb: float | None = None  # the largest step's peak resident memory, sacct only

    @property
    def node_hours(self) -> float:
        return self.nodes * self.elapsed / 3600

    @property
    def units(self) -> float:
        return self.billing * self.elapsed / 3600

    @property
    def cpu_efficiency(self) -> float | None:
        """CPU time used over CPU time allocated (0..1), when known."""
        if self.total_cpu is None or not self.cpus or self.elapsed <= 0:
            return None
        return self.total_cpu / (self.cpus * self.elapsed)

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | None) -> Usage | None:
        """The usage :meth:`to_json` wrote; None for no text, and (logged) for text that is
        not such a record (a damaged or hand-edited database)."""
        if not text:
            return None
        try:
            data = json.loads(text)
        except ValueError as exc:
            log.warning("an attempt's usage record is not JSON (%s): %.80r", exc, text)
            return None
        known = {f.name for f in fields(cls)}
        if not isinstance(data, dict) or not {"source", "elapsed"} <= set(data):
            log.warning("an attempt's usage record lacks source and elapsed: %.80r", text)
            return None
        return cls(**{k: v for k, v in data.items() if k in known})

    def view(self) -> dict[str, Any]:
        """The fields and the derived figures, for JSON answers."""
        return {**asdict(self), "node_hours": round(self.node_hours, 6), "units": round(self.units, 6),
                "cpu_efficiency": None if self.cpu_efficiency is None else round(self.cpu_efficiency, 4)}


@dataclass(slots=True)
class Bill:
    """Usages added up."""

    attempts: int = 0
    elapsed: float = 0.0
    node_hours: float = 0.0
    units: float = 0.0
    sources: set[str] = field(default_factory=set)

    def add(self, usage: Usage) -> None:
        self.attempts += 1
        self.elapsed += usage.elapsed
        self.node_hours += usage.node_hours
        self.units += usage.units
        self.sources.add(usage.source)

    @classmethod
    def of(cls, usages: Iterable[Usage]) -> Bill:
        bill = cls()
        for usage in usages:
            bill.add(usage)
        return bill

    def view(self) -> dict[str, Any]:
        return {"attempts": self.attempts, "elapsed": round(self.elapsed, 3), "node_hours": round(self.node_hours, 6),
                "units": round(self.units, 6), "sources": sorted(self.sources)}


# -- Slurm's spellings ---------------------------------------------------------------------


def parse_tres(text: str) -> dict[str, str]:
    """``cpu=2,mem=4G,node=1,billing=4,gres/gpu=1`` as a mapping (empty for ``''``/``N/A``)."""
    found: dict[str, str] = {}
    for item in text.strip().split(","):
        key, sep, value = item.partition("=")
        if sep and key.strip():
            found[key.strip().lower()] = value.strip()
    return found


def parse_duration(text: str) -> float | None:
    """Seconds in ``[D-]HH:MM:SS``, ``MM:SS``, ``MM:SS.mmm`` (sacct ``TotalCPU``) or ``INVALID``."""
    text = text.strip()
    if not text or not text[0].isdigit():
        return None
    days, _, rest = text.rpartition("-") if "-" in text else ("0", "", text)
    try:
        parts = [float(p) for p in rest.split(":")]
        seconds = 0.0
        for part in parts:
            seconds = seconds * 60 + part
        return int(days or 0) * 86400 + seconds
    except ValueError:
        return None


def parse_mem_mb(text: str) -> float | None:
    """Megabytes in ``24105M``, ``4G``, ``512K``, ``1000`` (bytes are ``K``-less sacct RSS: MB)."""
    match = _MEM.match(text.strip())
    if not match:
        return None
    return float(match.group("value")) * _MEM_MB[match.group("unit").upper()]


def from_tres(source: str, elapsed: float, tres: Mapping[str, str], *, nodes: int | None = None,
              total_cpu: float | None = None, max_rss_mb: float | None = None) -> Usage:
    """A usage from an ``AllocTRES``/``tres-alloc`` mapping and the elapsed seconds."""

    def number(key: str) -> float:
        try:
            return float(tres.get(key, "0") or 0)
        except ValueError:
            return 0.0

    gpus = int(number("gres/gpu")) or sum(int(number(k)) for k in tres if k.startswith("gres/gpu:"))
    mem = parse_mem_mb(tres["mem"]) if "mem" in tres else None
    return Usage(source=source, elapsed=elapsed, nodes=nodes or int(number("node")) or 1, cpus=int(number("cpu")),
                 gpus=gpus, mem_mb=mem, billing=number("billing"), total_cpu=total_cpu, max_rss_mb=max_rss_mb)


# -- estimates before a run ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Request:
    """What a batch job asks for: the largest charge it can run up is ``rate × seconds``."""

    cpus: int = 1
    gpus: int = 0
    mem_mb: float | None = None
    nodes: int = 1
    seconds: float | None = None  # its time limit; None: the partition's


def parse_weights(text: str) -> dict[str, float]:
    """``TRESBillingWeights`` (``CPU=1.0,Mem=0.25G,GRES/gpu=2.0``) as units per hour per
    TRES unit, memory per MB (``0.25G``: a quarter unit per GB)."""
    weights: dict[str, float] = {}
    for item in text.split(","):
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            continue
        value = value.strip()
        per_mb = 1.0
        if value[-1:].upper() in _MEM_MB and value[-1:].isalpha():
            per_mb = 1 / _MEM_MB[value[-1].upper()]
            value = value[:-1]
        try:
            weights[key.strip().lower()] = float(value) * per_mb
        except ValueError:
            continue
    return weights


def billing_rate(weights: Mapping[str, float], request: Request) -> float:
    """Units per hour Slurm bills ``request`` with ``weights`` (the default sum of the
    weighted TRES; no weights: one unit per CPU, as Slurm bills)."""
    if not weights:
        return float(request.cpus)
    mem = (request.mem_mb or 0.0) * request.nodes
    return (weights.get("cpu", 0.0) * request.cpus + weights.get("gres/gpu", 0.0) * request.gpus
            + weights.get("mem", 0.0) * mem + weights.get("node", 0.0) * request.nodes)
