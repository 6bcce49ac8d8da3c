"""A client of published services: ``hf.Client(url, token).call("forecast", days=7)``.

Plain HTTP (httpx) against ``/api/v1/services``, so it works wherever the service is
reachable, with the admin token or a call token. :meth:`Client.call` starts the call and
long-polls until it finished; :meth:`Client.acall` does the same without blocking an
event loop; :meth:`Client.service` is a callable with the service's parameters as its
keyword-only signature (from ``GET /api/v1/services/NAME``), so ``help()`` and a wrong
argument behave as for a local function.

Contract: a finished call's value is returned (a value that is not JSON is downloaded
and unpickled with cloudpickle, which must then be installed); a call that ended without
one raises :class:`ServiceCallError` with its one-line error and the remote traceback;
a refused request (401, 403, 404, 422...) raises :class:`ServiceRequestError` with the
service's one-line reason. Importing this module imports neither the service nor
cloudpickle.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable
from typing import Any

import httpx

from . import config
from .errors import HybridflowError
from .service.tokens import read_token

API = "/api/v1/services"
#: seconds one long poll asks the service to wait
POLL = 30.0
_TYPES: dict[str, Any] = {"integer": int, "number": float, "string": str, "boolean": bool, "array": list,
                          "object": dict}


class ServiceRequestError(HybridflowError):
    """The service refused a request; ``status`` is the HTTP status."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"{detail} (HTTP {status})")
        self.status = status
        self.detail = detail


class ServiceCallError(HybridflowError):
    """A call ended without a value; ``remote_traceback`` holds the function's traceback."""

    def __init__(self, call: dict[str, Any]) -> None:
        super().__init__(f"call {call.get('id')} of {call.get('service')} {call.get('state')}: "
                         f"{call.get('error') or 'no value'}")
        self.call = call
        self.remote_traceback: str | None = call.get("traceback")


def _default_token() -> str | None:
    """The token the service on this machine uses (as ``hflow service`` reads it)."""
    return read_token(config.home_path())


def _check(response: httpx.Response) -> httpx.Response:
    if response.status_code >= 400:
        try:
            detail = str(response.json().get("detail"))
        except ValueError:
            detail = response.text[:200] or response.reason_phrase
        raise ServiceRequestError(response.status_code, detail)
    return response


class Client:
    """Calls the services of the hybridflow service at ``url`` (see the module's contract).

    ``token`` defaults to ``$HYBRIDFLOW_SERVICE_TOKEN`` or this home's service token.
    """

    def __init__(self, url: str, token: str | None = None, *, timeout: float = 60.0) -> None:
        self.url = url.rstrip("/")
        token = token or _default_token()
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.timeout = timeout
        self._http = httpx.Client(base_url=self.url, headers=self.headers, timeout=timeout + POLL)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # -- blocking ----------------------------------------------------------------------------

    def submit(self, name: str, /, **kwargs: Any) -> dict[str, Any]:
        """Start a call; its answer at once (``id``, ``state``...)."""
        answer: dict[str, Any] = _check(self._http.post(f"{API}/{name}/calls", json=kwargs)).json()
        return answer

    def wait(self, name: str, call_id: str, timeout: float | None = None) -> dict[str, Any]:
        """The call's answer once it finished; TimeoutError after ``timeout`` seconds."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            left = deadline - time.monotonic()
            answer: dict[str, Any] = _check(self._http.get(f"{API}/{name}/calls/{call_id}",
                                                           params={"wait": max(0.0, min(POLL, left))})).json()
            if answer["done"]:
                return answer
            if time.monotonic() >= deadline:
                raise TimeoutError(f"call {call_id} of {name} not finished after {timeout or self.timeout:g} s "
                                   f"(state {answer['state']})")

    def call(self, name: str, /, **kwargs: Any) -> Any:
        """Call service ``name`` with ``kwargs`` and return its value (see the contract)."""
        deadline = time.monotonic() + self.timeout
        first: dict[str, Any] = _check(self._http.post(f"{API}/{name}/calls", json=kwargs,
                                                       params={"wait": min(POLL, self.timeout)})).json()
        answer = first if first["done"] else self.wait(name, first["id"], deadline - time.monotonic())
        return self.value(answer)

    def value(self, answer: dict[str, Any]) -> Any:
        """The value of a finished call's answer (downloaded when it is not JSON)."""
        if answer.get("error") is not None or answer.get("state") != "done":
            raise ServiceCallError(answer)
        if answer.get("result_url"):
            import cloudpickle

            data = _check(self._http.get(answer["result_url"])).content
            return cloudpickle.loads(data)
        return answer.get("result")

    def calls(self, name: str) -> list[dict[str, Any]]:
        """The latest calls of ``name`` (a call token: its own)."""
        found: list[dict[str, Any]] = _check(self._http.get(f"{API}/{name}/calls")).json()["calls"]
        return found

    def describe(self, name: str) -> dict[str, Any]:
        info: dict[str, Any] = _check(self._http.get(f"{API}/{name}")).json()
        return info

    def service(self, name: str) -> Callable[..., Any]:
        """A function that calls ``name``, with the service's parameters as its signature."""
        info = self.describe(name)
        parameters = [
            inspect.Parameter(p["name"], inspect.Parameter.KEYWORD_ONLY,
                              default=inspect.Parameter.empty if p["required"] else p["default"],
                              annotation=_TYPES.get(p["type"], Any))
            for p in info["parameters"]
        ]
        signature = inspect.Signature(parameters)

        def call(**kwargs: Any) -> Any:
            bound = signature.bind(**kwargs)  # TypeError for a missing or unknown argument, as a local call
            return self.call(name, **bound.arguments)

        call.__signature__ = signature  # type: ignore[attr-defined]  # inspect reads it
        call.__name__ = call.__qualname__ = name.replace("-", "_").replace(".", "_")
        call.__doc__ = info.get("description") or None
        return call

    # -- async -------------------------------------------------------------------------------

    async def acall(self, name: str, /, **kwargs: Any) -> Any:
        """:meth:`call` for an event loop (its own ``httpx.AsyncClient``)."""
        async with httpx.AsyncClient(base_url=self.url, headers=self.headers, timeout=self.timeout + POLL) as http:
            deadline = time.monotonic() + self.timeout
            answer: dict[str, Any] = _check(await http.post(f"{API}/{name}/calls", json=kwargs,
                                                            params={"wait": min(POLL, self.timeout)})).json()
            while not answer["done"]:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"call {answer['id']} of {name} not finished after {self.timeout:g} s")
                answer = _check(await http.get(f"{API}/{name}/calls/{answer['id']}",
                                               params={"wait": min(POLL, left)})).json()
        return await asyncio.to_thread(self.value, answer) if answer.get("result_url") else self.value(answer)
