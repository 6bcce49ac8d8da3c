"""The REST service and web UI: a FastAPI app factory over the same store as the CLI.

>>> from hybridflow.service import create_app   # doctest: +SKIP
>>> app = create_app(home="/tmp/hf", token="secret")

``create_app`` is imported on first use, so that ``hflow`` commands which only need the
token or the service record (``hybridflow.service.tokens``, ``.daemon``) do not pay for
importing FastAPI.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .app import create_app

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from .app import create_app

        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
