"""hybridflow: run workflows of jobs across local, SSH and Slurm hosts, watched live."""

from __future__ import annotations

from .api import Workflow, open_store
from .errors import HybridflowError, SpecError
from .policies import ParallelPolicy, SchedulingPolicy, SequentialPolicy
from .progress import progress
from .spec import JobSpec, WorkflowSpec
from .states import JobState, WorkflowState

__version__ = "0.1.0"

__all__ = [
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
    "open_store",
    "progress",
]
