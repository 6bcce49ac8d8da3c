"""The REST service and web UI: a FastAPI app factory over the same store as the CLI.

>>> from hybridflow.service import create_app   # doctest: +SKIP
>>> app = create_app(home="/tmp/hf", token="secret")
"""

from __future__ import annotations

from .app import create_app

__all__ = ["create_app"]
