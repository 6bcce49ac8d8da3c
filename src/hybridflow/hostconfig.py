""":class:`HostConfig`: the settings of one named host, as the hosts configuration gives them.

Data only (no I/O, no imports of hybridflow): ``hybridflow.config`` builds these from
``hosts.yaml`` and a workflow's ``hosts:``, host kinds (``hybridflow.hosts``) are given
one. It sits below both so that neither imports the other.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class HostConfig:
    """Connection and policy settings of one named host (see ``hybridflow.config``)."""

    name: str = "localhost"
    kind: str | None = None
    address: str | None = None
    port: int | None = None
    user: str | None = None
    identity: str | None = None
    known_hosts: str | None = None
    insecure_host_key: bool = False
    max_parallel: int | None = None
    python: str | None = None
    workdir: str | None = None  # root of remote run directories
    options: Mapping[str, Any] = field(default_factory=dict)  # kind-specific (slurm: partition...)
