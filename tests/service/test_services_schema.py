"""Schemathesis over the services routes (with one function published): no 5xx, answers
conform to the documented schema, invalid input refused. The event stream is left out."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from hybridflow.service import create_app
from hybridflow.service.publish import function_row
from hybridflow.service.servicedb import ServiceDB

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, settings  # noqa: E402  # after importorskip
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

TOKEN = "services-schema-token"
HOME = Path(tempfile.mkdtemp(prefix="hf-services-schemathesis-"))
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def _app():  # type: ignore[no-untyped-def]
    db = ServiceDB(HOME)
    db.put_service(function_row("adder-svc", "svcfuncs:add", {}, str(Path(__file__).resolve().parent)))
    db.close()
    return create_app(home=HOME, token=TOKEN)


schema = (schemathesis.openapi.from_asgi("/openapi.json", _app(), headers=AUTH)
          .include(path_regex=r"^/api/v1/services").exclude(path_regex=r"/events$")
          .exclude(method="POST", path="/api/v1/services"))  # publishing imports the module it names
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, negative_data_rejection]


@pytest.mark.timeout(240)
@schema.parametrize()
@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_services_routes_conform_to_their_schema(case) -> None:  # type: ignore[no-untyped-def]
    case.call_and_validate(headers=AUTH, checks=CHECKS)
