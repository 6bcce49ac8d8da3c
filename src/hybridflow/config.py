"""Where hybridflow keeps its files, and which host a job runs on.

``$HYBRIDFLOW_HOME`` (default ``~/.hybridflow``) holds the state database
(``hybridflow.db``), run directories (``runs/NAME``) and the hosts file (``hosts.yaml``).
"""

from __future__ import annotations

import os
from pathlib import Path

from .hosts.base import HostConfig
from .spec import JobSpec, WorkflowSpec

LOCAL_NAMES = frozenset({None, "", "local", "localhost"})


def home() -> Path:
    """The hybridflow home directory (created on first use)."""
    path = Path(os.environ.get("HYBRIDFLOW_HOME") or Path.home() / ".hybridflow").expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


def database_path() -> Path:
    return home() / "hybridflow.db"


def default_run_dir(workflow: str) -> Path:
    return home() / "runs" / workflow


def host_key(job: JobSpec) -> tuple[str, str]:
    """(kind, host name) identifying the host instance that runs ``job``."""
    host = "localhost" if job.host in LOCAL_NAMES else str(job.host)
    return job.kind, host


def host_config(spec: WorkflowSpec, job: JobSpec) -> HostConfig:
    """Settings for the host that runs ``job``: inline ``hosts:`` over the hosts file."""
    kind, name = host_key(job)
    return HostConfig(name=name, kind=kind, user=job.user)
