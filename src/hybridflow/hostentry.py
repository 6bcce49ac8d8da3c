"""One host entry as written in YAML (``hosts.yaml`` or a workflow's ``hosts:``), checked
with pydantic; see :mod:`hybridflow.config` for the format."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import SpecError
from .hostconfig import HostConfig


class HostEntry(BaseModel):
    """One host as written in YAML; unknown keys become kind options."""

    model_config = ConfigDict(extra="allow", frozen=True)

    kind: str | None = None
    address: str | None = Field(default=None, min_length=1)
    port: int | None = Field(default=None, ge=1, le=65535)
    user: str | None = None
    identity: str | None = None
    known_hosts: str | None = None
    insecure_host_key: bool = False
    max_parallel: int | None = Field(default=None, ge=1)
    python: str | None = None
    workdir: str | None = None
    options: dict[str, Any] = Field(default_factory=dict)

    def to_config(self, name: str) -> HostConfig:
        options = {**(self.model_extra or {}), **self.options}
        values = self.model_dump(exclude={"options"}, exclude_unset=False)
        values = {k: v for k, v in values.items() if k in HostConfig.__slots__}
        return HostConfig(name=name, options=options, **values)


def host_entry(name: str, raw: Any, *, file: str | None) -> HostConfig:
    """The config of host ``name`` from its YAML value; one :class:`SpecError` naming the
    field when it is wrong."""
    try:
        entry = HostEntry.model_validate(raw or {})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        field = f"hosts.{name}.{where}" if where else f"hosts.{name}"
        raise SpecError(first["msg"], file=file, field=field) from None
    return entry.to_config(name)
