"""The typed keys of a job node: the policy that the engine and the hosts read.

Each key of :data:`PARSERS` is a field of :class:`~hybridflow.spec.JobSpec` (never an
entry of its ``args``)::

    env:                 Mapping[str, str]       names [A-Za-z_][A-Za-z0-9_]*, values kept as text
    retries:             int | None              attempts after the first, >= 0
    retry_delay:         float | None            seconds (hybridflow.durations: 30s, 5m, 1h30m...)
    retry_max_delay:     float | None            seconds
    retry_on:            tuple[str, ...] | None  failure kinds (FAILURE_KINDS), in the order written
    timeout:             float | None            seconds, per attempt
    stage_in, stage_out: tuple[str, ...]         relative paths, globs allowed (names.check_path)
    stage_follow_links:  bool                    stage_in may copy what links point to
    sweep:               str | None              the sweep node a job was expanded from
    sweep_params:        Mapping[str, str]       that job's parameter values
    max_parallel:        int | None              >= 1: at most this many jobs of its sweep active

Contracts: ``PARSERS[key](value)`` returns the typed value for a YAML value (``None``
gives the default) or raises :class:`SpecError` whose ``field`` is ``key`` or a part of
it (``env.X``); the caller adds the file and the job. :func:`written` gives back YAML
values that the parsers read as the same typed values (a duration as ``1h30m``-style
text, tuples as lists), leaving out fields at their default. The workflow-level defaults
(top-level ``retries:``... of :data:`POLICY_KEYS`) use the same parsers
(:func:`parse_policy`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from .durations import parse_duration
from .errors import SpecError
from .names import check_path

#: failure kinds that ``retry_on`` may name
FAILURE_KINDS = ("exit", "lost", "node_fail", "preempted", "timeout")
#: keys that also have a workflow-level default (top-level ``retries:`` and so on)
POLICY_KEYS = ("retries", "retry_delay", "retry_max_delay", "retry_on", "timeout")
#: an environment variable name, matched whole
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

Parser = Callable[[Any], Any]


def parse_env(value: Any) -> dict[str, str]:
    """``env:``: a mapping of variable names to strings, numbers or booleans (kept as text)."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise SpecError("must be a mapping of variable to value", field="env")
    env: dict[str, str] = {}
    for key, item in value.items():
        if not isinstance(key, str) or not ENV_NAME.fullmatch(key):
            raise SpecError(f"{key!r} is not a variable name ([A-Za-z_][A-Za-z0-9_]*)", field="env")
        if not isinstance(item, (str, int, float)):
            raise SpecError("value must be a string, number or boolean", field=f"env.{key}")
        env[key] = str(item)
    return env


def _whole(value: Any, key: str, least: int) -> int | None:
    """A whole number >= ``least`` (a digit string too, as ``KEY=VALUE`` on the CLI gives)."""
    if value is None:
        return None
    if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) <= 18:
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise SpecError(f"'{value}' is not a whole number >= {least}", field=key)
    return value


def parse_retries(value: Any) -> int | None:
    return _whole(value, "retries", 0)


def parse_max_parallel(value: Any) -> int | None:
    return _whole(value, "max_parallel", 1)


def duration_parser(key: str) -> Parser:
    """A parser of a finite duration in seconds for ``key`` (``None`` stays ``None``)."""

    def parse(value: Any) -> float | None:
        if value is None:
            return None
        seconds = parse_duration(value, field=key)
        if not math.isfinite(seconds):
            raise SpecError(f"'{value}' is not a finite duration", field=key)
        return seconds

    return parse


def parse_retry_on(value: Any) -> tuple[str, ...] | None:
    """``retry_on:``: a list of failure kinds, or one ``"exit,lost"`` string."""
    if value is None:
        return None
    kinds = [v.strip() for v in value.split(",") if v.strip()] if isinstance(value, str) else value
    if not isinstance(kinds, list):
        raise SpecError(f"must be a list of failure kinds ({', '.join(FAILURE_KINDS)})", field="retry_on")
    for kind in kinds:
        if kind not in FAILURE_KINDS:
            raise SpecError(f"unknown failure kind '{kind}' (valid: {', '.join(FAILURE_KINDS)})", field="retry_on")
    return tuple(dict.fromkeys(kinds))


def path_parser(key: str) -> Parser:
    """A parser of a ``stage_in``/``stage_out`` value: one path or a list of paths."""

    def parse(value: Any) -> tuple[str, ...]:
        if value in (None, "", []):
            return ()
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list):
            raise SpecError("must be a path or a list of paths", field=key)
        try:
            return tuple(check_path(item) for item in items)
        except SpecError as exc:
            raise SpecError(exc.problem, field=key) from None

    return parse


def parse_follow_links(value: Any) -> bool:
    if value is None:
        return False
    if not isinstance(value, bool):
        raise SpecError(f"'{value}' is not true or false", field="stage_follow_links")
    return value


def parse_sweep(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise SpecError("must be the name of a sweep node", field="sweep")
    return value


def parse_sweep_params(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise SpecError("must be a mapping of parameter to value", field="sweep_params")
    params: dict[str, str] = {}
    for key, item in value.items():
        if isinstance(item, bool) or not isinstance(item, (str, int, float)):
            raise SpecError("value must be a string or a number", field=f"sweep_params.{key}")
        params[str(key)] = str(item)
    return params


#: node key -> parser, in the order :func:`written` lists them
PARSERS: dict[str, Parser] = {
    "env": parse_env,
    "retries": parse_retries,
    "retry_delay": duration_parser("retry_delay"),
    "retry_max_delay": duration_parser("retry_max_delay"),
    "retry_on": parse_retry_on,
    "timeout": duration_parser("timeout"),
    "stage_in": path_parser("stage_in"),
    "stage_out": path_parser("stage_out"),
    "stage_follow_links": parse_follow_links,
    "sweep": parse_sweep,
    "sweep_params": parse_sweep_params,
    "max_parallel": parse_max_parallel,
}
#: the typed node keys
FIELDS = tuple(PARSERS)
DURATIONS = frozenset({"retry_delay", "retry_max_delay", "timeout"})


def parse_policy(source: Mapping[str, Any]) -> dict[str, Any]:
    """The :data:`POLICY_KEYS` set in ``source`` (workflow options), parsed; unset ones left out."""
    found: dict[str, Any] = {}
    for key in POLICY_KEYS:
        value = PARSERS[key](source.get(key))
        if value is not None:
            found[key] = value
    return found


def spelled(seconds: float) -> str:
    """A duration as text that :func:`~hybridflow.durations.parse_duration` reads back
    exactly: ``30s``, ``5m``, ``1h30m``, ``1d``, ``1.5s``."""
    if seconds != int(seconds):
        return format(Decimal(repr(seconds)), "f") + "s"
    rest = int(seconds)
    parts: list[str] = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, rest = divmod(rest, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"


def written(values: Mapping[str, Any]) -> dict[str, Any]:
    """The YAML values of typed fields (``values``: field -> typed value), defaults left out."""
    data: dict[str, Any] = {}
    for key in FIELDS:
        value = values.get(key)
        if value is None or value is False or (not value and key in ("env", "stage_in", "stage_out", "sweep_params")):
            continue
        if key in DURATIONS:
            data[key] = spelled(value)
        elif isinstance(value, tuple):
            data[key] = list(value)
        elif isinstance(value, Mapping):
            data[key] = dict(value)
        else:
            data[key] = value
    return data
