"""The FastAPI app factory of the hybridflow service.

``create_app(home, token)`` builds an app on the state database of ``home`` (default
``$HYBRIDFLOW_HOME``): the same store the CLI and the Python API use, so workflows
started by either are visible in the other. Routes: the JSON API under ``/api/v1`` (one
router per noun), the OpenAPI document at ``/openapi.json``, its docs page at ``/docs``,
the web UI at ``/`` and its assets under ``/static``. Every one of them needs the token
(see :mod:`hybridflow.service.auth`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from .. import __version__, config
from ..store.sqlite import Store
from . import errors, tokens
from .auth import AuthMiddleware, Credentials
from .calls import Calls
from .deps import ServiceState, Stores
from .headers import ResponseHeadersMiddleware
from .publish import Registry
from .routers import (
    cloudmesh,
    dependencies,
    events,
    graph,
    jobs,
    pages,
    results,
    runs,
    service,
    services,
    status,
    workflows,
)
from .routers.pages import UI
from .runner import Runner
from .scopes import resolve
from .servicedb import ServiceDB
from .settings import ServiceSettings
from .snapshots import SnapshotCache

log = logging.getLogger(__name__)

DESCRIPTION = """Manage hybridflow workflows over HTTP: upload (YAML or an archive with scripts),
run, cancel, add jobs and dependencies, read status, graphs and logs, and follow state
changes as server-sent events. Authenticate with `Authorization: Bearer TOKEN`
(`hflow service token` shows it).

Reads of workflows are cached per change: a change made by another process (a CLI run)
shows in the next answers, typically within a fraction of a second; the event stream
(`/api/v1/workflows/{name}/events`) reports every change as it is stored."""


def create_app(home: str | Path | None = None, token: str | None = None, **limits: Any) -> FastAPI:
    """Build the service app.

    ``token`` defaults to the configured one (``$HYBRIDFLOW_SERVICE_TOKEN`` or the token
    file in ``home``), generated (mode 0600) on first use. ``limits`` override fields of
    :class:`~hybridflow.service.settings.ServiceSettings` (``max_upload_bytes``...).
    """
    root = Path(home).expanduser() if home else config.home()
    root.mkdir(parents=True, exist_ok=True)
    settings = replace(ServiceSettings(home=root.resolve(), token=token or tokens.load_or_create(root)), **limits)
    Store(settings.database).close()  # create/migrate the database before serving
    credentials = Credentials(settings.token)
    stores = Stores(settings)
    state = ServiceState(
        settings=settings, credentials=credentials, stores=stores,
        cache=SnapshotCache(stores.get, ttl=settings.snapshot_ttl, min_age=settings.snapshot_min_age,
                            max_stale=settings.snapshot_max_stale),
        runner=Runner(settings.home, settings.coordinator_logs, timeout=settings.run_start_timeout),
    )

    service_db = ServiceDB(settings.home)
    registry = Registry(service_db)
    published = services.Services(service_db, registry, Calls(settings.home, service_db, registry, state.runner,
                                                              retention=settings.call_retention))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        log.info("hybridflow service on %s", settings.home)
        yield
        state.cache.close()
        await state.remote_logs.close()
        state.stores.close()
        service_db.close()

    app = FastAPI(
        title="hybridflow", version=__version__, description=DESCRIPTION, lifespan=lifespan,
        docs_url=None, redoc_url=None, openapi_url="/openapi.json",
    )
    _document_bearer_auth(app, published)
    app.state.hf = state
    app.state.hf_services = published
    app.state.started = time.time()
    errors.install(app)
    for module in (workflows, runs, jobs, results, dependencies, status, graph, events, service, services, cloudmesh,
                   pages):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=str(UI.joinpath("static"))), name="static")
    app.add_middleware(AuthMiddleware, credentials=credentials, call_scope=lambda token: resolve(service_db, token))
    app.add_middleware(ResponseHeadersMiddleware)
    return app


def _document_bearer_auth(app: FastAPI, published: services.Services) -> None:
    """Declare the bearer token in the OpenAPI document (the docs page's Authorize button),
    and a path per published service (rebuilt when the services change)."""
    plain = app.openapi
    generation = [-1]

    def openapi() -> dict[str, Any]:
        current = published.db.generation()
        if current != generation[0]:
            app.openapi_schema = None
            generation[0] = current
        if app.openapi_schema is None:
            schema = plain()
            schema.setdefault("components", {})["securitySchemes"] = {
                "bearerAuth": {"type": "http", "scheme": "bearer",
                               "description": "The service token ('hflow service token')."}
            }
            schema["security"] = [{"bearerAuth": []}]
            app.openapi_schema = services.openapi_paths(schema, published.registry.all())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to customise the schema


def create_app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory`` (``--reload``): home and token from the environment."""
    return create_app()
