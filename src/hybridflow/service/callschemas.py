"""Answers of the services routes (``/api/v1/services``), as pydantic models."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

CallState = Literal["waiting", "running", "done", "failed", "canceled", "lost"]


class CallOut(BaseModel):
    """One call of a service: its state, and once it ended its result or error."""

    id: str = Field(description="The call's id (for a workflow service, the name of its run).")
    service: str
    user: str = Field(description="'admin', or 'token:ID' for a call token.")
    created: float
    state: CallState
    progress: int = Field(description="Percent reported with hybridflow.progress() (workflows: the mean of jobs).")
    done: bool
    result: Any = Field(None, description="The return value when it is JSON (workflows: named outputs).")
    result_url: str | None = Field(None, description="Download of a value that is not JSON (a cloudpickle file).")
    result_type: str | None = None
    result_repr: str | None = None
    error: str | None = Field(None, description="One line: the exception, or why the call could not run.")
    traceback: str | None = None
    log: str | None = Field(None, description="The call's output (with log=true).")


class CallList(BaseModel):
    calls: list[CallOut]


class ParameterOut(BaseModel):
    name: str
    required: bool
    default: Any = None
    type: str = Field(description="The JSON schema type ('integer', 'number', 'string', 'array', 'object'...).")


class ServiceOut(BaseModel):
    """A published service: how to call it."""

    name: str
    kind: Literal["function", "workflow"]
    target: str
    description: str
    options: dict[str, Any]
    parameters: list[ParameterOut]
    body_schema: dict[str, Any] = Field(description="JSON schema of a call's body.")


class ServiceList(BaseModel):
    services: list[ServiceOut]


class PublishIn(BaseModel):
    """Publish a function (``function: module:func``) or a workflow file (``workflow: PATH``)."""

    name: str | None = Field(None, pattern=r"^[A-Za-z0-9_][A-Za-z0-9._-]*$", max_length=200)
    function: str | None = Field(None, max_length=400)
    workflow: str | None = Field(None, max_length=4000)
    path: str | None = Field(None, max_length=4000, description="Folder to import the function from.")
    options: dict[str, Any] = Field(default_factory=dict, description="Host options: host, kind, time, partition...")
