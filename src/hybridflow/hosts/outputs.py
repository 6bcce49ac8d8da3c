"""A job's ``stage_out`` files where the job ran in the workflow's folder: checked, not copied.

Used by the local kind and by remote kinds on a file system shared with the coordinator;
the other kinds copy the files back (:func:`.staging.stage_out`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from ..states import JobState
from .base import Observation, Submission

log = logging.getLogger(__name__)


def check_outputs(patterns: Sequence[str], sub: Submission, folder: Path, obs: Observation) -> Observation:
    """A successful attempt whose job ran in the workflow's ``folder``: FAILED, naming the
    first ``stage_out`` pattern that matches no file there (nothing is copied)."""
    if obs.state is not JobState.DONE:
        return obs
    for pattern in patterns:
        if not any(folder.glob(pattern)):
            message = f"stage_out file '{pattern}' missing in {folder}"
            log.warning("job %s: %s", sub.job, message)
            return Observation(JobState.FAILED, obs.exit_code, message)
    return obs
