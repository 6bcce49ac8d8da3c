"""Size limits of a workflow description, the same for the CLI, the Python API and REST.

=====================  ========================  =========  ==================================
field                  environment variable      default    bounds
=====================  ========================  =========  ==================================
``max_bytes``          ``HYBRIDFLOW_MAX_BYTES``  4 MiB      the workflow (or hosts) file
``max_depth``          ``HYBRIDFLOW_MAX_DEPTH``  100        nesting of YAML collections
``max_values``         ``HYBRIDFLOW_MAX_VALUES`` 1,000,000  YAML values, aliases expanded
``max_jobs``           ``HYBRIDFLOW_MAX_JOBS``   10,000     jobs after bracket/sweep expansion
``max_edges``          ``HYBRIDFLOW_MAX_EDGES``  100,000    dependencies after expansion
=====================  ========================  =========  ==================================

The service takes its ``max_jobs``/``max_edges`` from its settings (whose defaults are
these). Exceeding one raises :class:`~hybridflow.errors.LimitError` naming what and how many.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields

from .errors import SpecError

MIB = 1 << 20
#: environment variable of each field
ENV = {
    "max_bytes": "HYBRIDFLOW_MAX_BYTES",
    "max_depth": "HYBRIDFLOW_MAX_DEPTH",
    "max_values": "HYBRIDFLOW_MAX_VALUES",
    "max_jobs": "HYBRIDFLOW_MAX_JOBS",
    "max_edges": "HYBRIDFLOW_MAX_EDGES",
}


@dataclass(frozen=True, slots=True)
class Limits:
    """How large a workflow description may be (see the module table)."""

    max_bytes: int = 4 * MIB
    max_depth: int = 100
    max_values: int = 1_000_000
    max_jobs: int = 10_000
    max_edges: int = 100_000

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Limits:
        """Defaults overridden by the ``HYBRIDFLOW_MAX_*`` variables; a bad value is a SpecError."""
        env = os.environ if environ is None else environ
        values: dict[str, int] = {}
        for item in fields(cls):
            raw = env.get(ENV[item.name])
            if raw is None or raw == "":
                continue
            if not raw.strip().isdigit() or int(raw) < 1:
                raise SpecError(f"environment variable {ENV[item.name]}={raw!r}: must be a whole number >= 1")
            values[item.name] = int(raw)
        return cls(**values)

    def hint(self, name: str) -> str:
        """``(limit N; set VAR)``: the tail of a limit message."""
        return f"(limit {getattr(self, name)}; set {ENV[name]} to change it)"
