"""Placeholders: ``{param}``, ``{var.key.sub}`` substituted in the strings of a sweep job.

Contract of :func:`substitute`: ``{{``/``}}`` are literal braces, ``${VAR}`` is left to the
shell, a placeholder names a scope entry of a :class:`Namespace` (built-ins, parameters,
constants, workflow variables, in that order) with dotted lookups into mappings and lists,
and an undefined one, or one naming a mapping or a list, is the :class:`SpecError` that
``where(problem)`` builds. In ``label`` mode the runtime label fields
(:data:`RUNTIME_PLAIN`, :data:`RUNTIME_DOTTED`) are kept for the label renderer.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from .errors import SpecError

#: label fields rendered at run time (``labels.py``); left as written in labels
RUNTIME_PLAIN = frozenset({"name", "progress", "status"})
RUNTIME_DOTTED = frozenset({"now", "created", "modified", "tstart", "tend", "t0", "t1", "dt0", "dt1", "dt", "os"})

_PATH = r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_-]+)*"
_TOKEN = re.compile(r"\{\{|\}\}|(?<!\$)\{(" + _PATH + r")\}")
_LABEL_TOKEN = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)((?:\.[^{}]*)?)\}")


def scalar(value: Any) -> str:
    """A YAML scalar as it is substituted: booleans lower-case, numbers as written by Python."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class Namespace:
    """What placeholders of one job resolve to: built-ins, parameters, constants, variables."""

    def __init__(self, builtins: Mapping[str, str], params: Mapping[str, str],
                 constants: Mapping[str, Any], variables: Mapping[str, Any]) -> None:
        self.scopes = (builtins, params, constants, variables)

    def names(self) -> list[str]:
        return sorted({str(k) for scope in self.scopes for k in scope})

    def lookup(self, path: str) -> str | None:
        """The value of ``a.b.c``; None when undefined, TypeError for a mapping or list."""
        head, *rest = path.split(".")
        for scope in self.scopes:
            if head in scope:
                value: Any = scope[head]
                break
        else:
            return None
        for part in rest:
            if isinstance(value, Mapping):
                key: Any = part if part in value else _int_key(part)
                if key not in value:
                    return None
                value = value[key]
            elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
                value = value[int(part)]
            else:
                return None
        if value is None:
            return None
        if isinstance(value, (Mapping, list)):
            raise TypeError("a mapping" if isinstance(value, Mapping) else "a list")
        return scalar(value)


def _int_key(part: str) -> Any:
    return int(part) if part.isdigit() else part


def substitute(text: str, ns: Namespace, *, where: Callable[[str], SpecError], label: bool = False) -> str:
    """Replace the placeholders of ``text``; ``where(problem)`` builds the error to raise.

    In ``label`` mode runtime label fields and ``{{``/``}}`` are kept for the renderer.
    """

    def undefined(path: str) -> SpecError:
        known = ", ".join(ns.names()) or "none"
        return where(f"undefined placeholder '{{{path}}}' (known: {known}; write {{{{ }}}} for a literal brace)")

    def lookup(path: str) -> str:
        try:
            value = ns.lookup(path)
        except TypeError as exc:
            raise where(f"placeholder '{{{path}}}' is {exc}, not a value: name an item, e.g. '{{{path}.KEY}}'") from None
        if value is None:
            raise undefined(path)
        return value

    if label:
        def in_label(match: re.Match[str]) -> str:
            whole, head, rest = match.group(0), match.group(1), match.group(2)
            if head is None:
                return whole
            if (not rest and head in RUNTIME_PLAIN) or (rest and head in RUNTIME_DOTTED):
                return whole
            path = head + rest
            if rest and not re.fullmatch(_PATH, path):
                raise undefined(path)
            return lookup(path)

        return _LABEL_TOKEN.sub(in_label, text)

    def in_text(match: re.Match[str]) -> str:
        whole = match.group(0)
        if whole == "{{":
            return "{"
        if whole == "}}":
            return "}"
        return lookup(match.group(1))

    return _TOKEN.sub(in_text, text)


def substitute_tree(value: Any, ns: Namespace, where: Callable[[str], Callable[[str], SpecError]], path: str) -> Any:
    """Substitute every string inside lists and mappings (keys are left alone)."""
    if isinstance(value, str):
        return substitute(value, ns, where=where(path))
    if isinstance(value, Mapping):
        return {k: substitute_tree(v, ns, where, f"{path}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [substitute_tree(v, ns, where, f"{path}[{i}]") for i, v in enumerate(value)]
    return value
