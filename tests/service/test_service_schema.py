"""Schemathesis over the OpenAPI document: no 5xx, answers conform to the documented schema.

Bounded in time: a few dozen generated cases per operation (in-process ASGI calls). The
event stream is left out (an endless response); it is covered in the API tests.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from hybridflow.api import Workflow, open_store
from hybridflow.service import create_app

from schemacheck import conformance_test, schemathesis

TOKEN = "schema-token"
HOME = Path(tempfile.mkdtemp(prefix="hf-schemathesis-"))
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def _app():  # type: ignore[no-untyped-def]
    app = create_app(home=HOME, token=TOKEN)
    store = open_store(HOME)
    for name in ("a", "wf"):  # short names so that generated paths sometimes hit real workflows
        wf = Workflow(name, store=store)
        wf.add_job("a", exec="echo a")
        wf.add_job("b", exec="echo b")
        wf.add_dependencies("a,b")
    store.close()
    return app


schema = schemathesis.openapi.from_asgi("/openapi.json", _app(), headers=AUTH).exclude(path_regex=r"/events$")
test_api_conforms_to_its_schema = conformance_test(schema, AUTH, max_examples=40)
