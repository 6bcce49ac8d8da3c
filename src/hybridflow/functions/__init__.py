"""Python functions as jobs: :func:`remote`, :class:`Future`, :func:`map`.

Importing this package loads cloudpickle; ``import hybridflow`` does not import it (its
``remote``, ``Future`` and ``map`` load it on first use).
"""

from __future__ import annotations

from ..progress import progress
from .future import Future
from .remote import RemoteFunction, map, remote
from .results import CallError, RemoteResult

__all__ = ["CallError", "Future", "RemoteFunction", "RemoteResult", "map", "progress", "remote"]
