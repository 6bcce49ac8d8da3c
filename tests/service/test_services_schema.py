"""Schemathesis over the services routes (with one function published): no 5xx, answers
conform to the documented schema, invalid input refused. The event stream is left out."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hybridflow.service import create_app
from hybridflow.service.publish import function_row
from hybridflow.service.servicedb import ServiceDB

from schemacheck import conformance_test, schemathesis

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
test_services_routes_conform_to_their_schema = conformance_test(schema, AUTH, max_examples=12)
