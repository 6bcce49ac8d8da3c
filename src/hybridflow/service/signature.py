"""A pydantic model of a function's parameters: the JSON body of a call of its service.

:func:`model_for` reads ``inspect.signature`` and the type hints: every parameter is a
field (its default kept, a parameter without a hint is ``Any``), so ``Literal``, numbers,
lists, dicts, nested dataclasses and pydantic models are checked and converted as
pydantic does; unknown fields are refused. Bodies are validated in strict JSON mode
(``"3"`` is not an ``int``), and :func:`validate` raises :class:`BodyError` naming the
first wrong field. The function's docstring documents the model (and the OpenAPI
operation).

Contract: :func:`model_for` raises :class:`~hybridflow.errors.SpecError` (one line) for
a function that cannot be a service: ``*args`` or positional-only parameters, or a hint
pydantic cannot build a schema for.
"""

from __future__ import annotations

import difflib
import inspect
import typing
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from ..errors import SpecError


class BodyError(SpecError):
    """A call's JSON body does not fit the function's parameters (HTTP 422)."""


def description(fn: Callable[..., Any]) -> str:
    return inspect.cleandoc(fn.__doc__ or "").strip()


def model_for(fn: Callable[..., Any], name: str) -> type[BaseModel]:
    """The model of ``fn``'s parameters, titled ``name`` (see the module's contract)."""
    try:
        signature = inspect.signature(fn)
        hints = typing.get_type_hints(fn, include_extras=True)
    except (TypeError, ValueError, NameError) as exc:
        raise SpecError(f"service '{name}': cannot read the signature of {fn!r}: {exc}") from None
    fields: dict[str, Any] = {}
    extra: typing.Literal["forbid", "allow"] = "forbid"
    for parameter in signature.parameters.values():
        if parameter.kind is inspect.Parameter.VAR_KEYWORD:
            extra = "allow"
            continue
        if parameter.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.POSITIONAL_ONLY):
            raise SpecError(f"service '{name}': parameter '{parameter.name}' cannot be given by name "
                            "(a service's parameters are the JSON body's fields)")
        annotation = hints.get(parameter.name, Any)
        default = ... if parameter.default is inspect.Parameter.empty else parameter.default
        fields[parameter.name] = (annotation, Field(default))
    try:
        model: type[BaseModel] = create_model(
            model_title(name), __config__=ConfigDict(extra=extra, strict=True), __doc__=description(fn) or None, **fields)
        model.model_json_schema()
    except Exception as exc:  # pydantic raises several types for a hint it cannot handle
        raise SpecError(f"service '{name}': its parameters cannot be described as JSON: "
                        f"{type(exc).__name__}: {str(exc).splitlines()[0]}") from None
    return model


def model_title(name: str) -> str:
    return "".join(part.capitalize() for part in name.replace(".", "-").replace("_", "-").split("-") if part) + "Call"


def validate(model: type[BaseModel], body: bytes) -> dict[str, Any]:
    """The keyword arguments in ``body`` (JSON), converted to the hinted types."""
    try:
        value = model.model_validate_json(body or b"{}")
    except ValidationError as exc:
        errors = exc.errors()
        first = errors[0]
        loc = _field_path(first.get("loc", ()))
        alike = [e for e in errors if _field_path(e.get("loc", ())) == loc]  # the members of one union
        where = ".".join(str(part) for part in loc) or "body"
        message = " or ".join(dict.fromkeys(str(e.get("msg", "invalid")) for e in alike))
        more = f" (and {len(errors) - len(alike)} more)" if len(errors) > len(alike) else ""
        hint = ""
        if first.get("type") == "extra_forbidden" and len(first.get("loc", ())) == 1:
            close = difflib.get_close_matches(str(first["loc"][0]), list(model.model_fields), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else f" (parameters: {', '.join(model.model_fields)})"
        raise BodyError(f"{where}: {message}{hint}{more}") from None
    kwargs = {key: getattr(value, key) for key in type(value).model_fields}
    kwargs.update(value.model_extra or {})
    return kwargs


_TYPE_TAGS = frozenset({"int", "float", "str", "bool", "bytes", "none", "list", "dict", "tuple", "set"})


def _field_path(loc: tuple[int | str, ...]) -> tuple[int | str, ...]:
    """``loc`` without the union members pydantic names in it (``scale.int`` is ``scale``)."""
    return tuple(part for part in loc if not (isinstance(part, str) and (
        part in _TYPE_TAGS or "[" in part or part.startswith(("function-", "literal")))))


def schema(model: type[BaseModel], ref_prefix: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The model's JSON schema with references to ``#/components/schemas/PREFIX...``, and
    the definitions they refer to (for an OpenAPI document)."""
    document = model.model_json_schema(ref_template=f"#/components/schemas/{ref_prefix}{{model}}")
    definitions = document.pop("$defs", {})
    return document, {f"{ref_prefix}{key}": value for key, value in definitions.items()}
