"""Host kinds: one module per kind behind :class:`~hybridflow.hosts.base.Host`.

Kinds are looked up in :data:`KINDS` and imported lazily, so that a kind's dependencies
(asyncssh for ``ssh``) are only needed when it is used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from ..errors import SpecError

if TYPE_CHECKING:
    from .base import Host

KINDS: dict[str, str] = {
    "local": "hybridflow.hosts.local:LocalHost",
    "ssh": "hybridflow.hosts.ssh:SshHost",
    "slurm": "hybridflow.hosts.slurm:SlurmHost",
    "wsl": "hybridflow.hosts.wsl:WslHost",
    "lsf": "hybridflow.hosts.lsf:LsfHost",
}


def host_class(kind: str) -> type[Host]:
    """The class implementing ``kind``; an unknown kind lists the valid ones."""
    try:
        target = KINDS[kind]
    except KeyError:
        raise SpecError(f"unknown kind '{kind}' (valid: {', '.join(sorted(KINDS))})") from None
    module, _, attr = target.partition(":")
    cls: type[Host] = getattr(importlib.import_module(module), attr)
    return cls
