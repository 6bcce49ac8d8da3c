"""hybridflow: run workflows of jobs across local, SSH and Slurm hosts, watched live."""

from __future__ import annotations

import gc
from typing import TYPE_CHECKING, Any

# Importing the package makes tens of thousands of objects and no garbage: the collections
# it would set off (5-10 ms of `import hybridflow.cli`) are left out; the collector is left as found.
_collecting = gc.isenabled()
gc.disable()
try:
    from .api import Workflow, open_store
    from .errors import HybridflowError, SpecError
    from .policies import ParallelPolicy, SchedulingPolicy, SequentialPolicy
    from .progress import progress
    from .spec import JobSpec, WorkflowSpec
    from .states import JobState, WorkflowState
finally:
    if _collecting:
        gc.enable()

if TYPE_CHECKING:
    from .client import Client
    from .functions.future import Future
    from .functions.remote import map, remote

__version__ = "0.1.0"

__all__ = [
    "Client",
    "Future",
    "HybridflowError",
    "JobSpec",
    "JobState",
    "ParallelPolicy",
    "SchedulingPolicy",
    "SequentialPolicy",
    "SpecError",
    "Workflow",
    "WorkflowSpec",
    "WorkflowState",
    "__version__",
    "map",
    "open_store",
    "progress",
    "remote",
]

#: loaded on first use, so that ``import hybridflow`` (and ``hflow``) stays without cloudpickle
_LAZY = frozenset({"Future", "map", "remote"})


def __getattr__(name: str) -> Any:
    if name == "Client":  # the HTTP client: httpx only when asked for
        from .client import Client

        return Client
    if name in _LAZY:
        from . import functions

        return getattr(functions, name)
    raise AttributeError(f"module 'hybridflow' has no attribute {name!r}")
