"""``hflow workflow result NAME JOB``: print a function node's result (repr or JSON)."""

from __future__ import annotations

import json
from typing import Any

from ..api import Workflow
from ..errors import HybridflowError, SpecError
from ..store.sqlite import Store


def result_text(store: Store, workflow: str, job: str, output: str) -> str:
    """The result of ``job`` as text: ``repr`` or ``json``.

    Raises :class:`~hybridflow.errors.SpecError` for a value JSON cannot show, and
    :class:`~hybridflow.errors.HybridflowError` (one line) when the call raised.
    """
    try:
        value: Any = Workflow(workflow, store=store).result(job)
    except HybridflowError:
        raise
    except Exception as exc:  # the function's own exception, raised again here: shown as one line
        first = str(exc).splitlines()[0] if str(exc) else ""
        raise HybridflowError(f"job '{job}' raised {type(exc).__name__}: {first} "
                              f"(traceback: hflow workflow logs {workflow} {job})") from None
    if output == "json":
        try:
            return json.dumps(value, indent=2, sort_keys=True)
        except (TypeError, ValueError) as exc:
            raise SpecError(f"the result of '{job}' is not JSON ({exc}): use --output repr") from None
    return repr(value)
