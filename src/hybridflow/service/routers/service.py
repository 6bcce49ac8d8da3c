"""``/api/v1/service``: what a client (``hflow service status``) asks the service itself."""

from __future__ import annotations

import os

from fastapi import APIRouter, Request

from ... import __version__
from ..deps import StateDep
from ..schemas import ServiceInfo
from .common import API, RESPONSES

router = APIRouter(prefix=API, tags=["service"], responses=RESPONSES)


@router.get("/service", response_model=ServiceInfo, summary="About this service")
def service_info(request: Request, hf: StateDep) -> ServiceInfo:
    """Version, home, process id, start time and number of stored workflows."""
    return ServiceInfo(version=__version__, home=str(hf.settings.home), pid=os.getpid(),
                       started=request.app.state.started, workflows=len(hf.stores.get().names()))
