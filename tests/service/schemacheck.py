"""Schemathesis checks shared by the schema tests (importable as ``schemacheck``): no 5xx,
answers conform to the documented schema, invalid input refused."""

from __future__ import annotations

from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, settings  # noqa: E402  # after importorskip
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, negative_data_rejection]


def conformance_test(schema: Any, headers: dict[str, str], max_examples: int) -> Any:
    """A test of every operation of ``schema`` (bind it to a ``test_*`` name in a module)."""

    @pytest.mark.timeout(240)
    @schema.parametrize()
    @settings(max_examples=max_examples, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    def check(case: Any) -> None:
        case.call_and_validate(headers=headers, checks=CHECKS)

    return check
