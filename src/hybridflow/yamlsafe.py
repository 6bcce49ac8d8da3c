"""Reading and parsing YAML that may be hostile: bounded before anything is built.

Contract: :func:`parse` refuses text over ``limits.max_bytes`` or holding a NUL, then
walks the YAML *events* (a flat stream: no recursion, no objects built) and refuses
nesting deeper than ``limits.max_depth``, a document whose value count, every alias
expanded, exceeds ``limits.max_values`` (a "billion laughs" is refused in milliseconds,
never expanded), and an alias inside the collection it names (a recursive structure).
Only then is the text loaded with the safe loader (libyaml's when available), so no
arbitrary object is ever built; timestamps stay text (``2024-01-02``), as JSON stores them.

Every refusal is one :class:`~hybridflow.errors.SpecError` line (a
:class:`~hybridflow.errors.LimitError` for a limit) naming the file and, where known, the line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import yaml

from .errors import LimitError, SpecError
from .limits import Limits

if TYPE_CHECKING:  # the base is chosen at run time (libyaml is optional); both have SafeLoader's API
    _Base = yaml.SafeLoader
else:
    _Base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class Loader(_Base):
    """The safe loader (libyaml's when available), timestamps kept as written: a spec is JSON data."""


def _timestamp_as_text(loader: Loader, node: yaml.ScalarNode) -> str:
    return loader.construct_scalar(node)


Loader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_as_text)


def parse(text: str, *, limits: Limits, file: str | None = None) -> Any:
    """The YAML document of ``text``, safely loaded once it is known to be bounded."""
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > limits.max_bytes:
        raise LimitError(f"YAML text of {size} bytes is too large {limits.hint('max_bytes')}", file=file)
    if "\x00" in text:
        offset = text.index("\x00")
        raise SpecError(f"NUL character at offset {offset}", file=file, line=text.count("\n", 0, offset) + 1)
    try:
        check_events(text, limits=limits, file=file)
        return yaml.load(text, Loader=Loader)  # noqa: S506 - Loader is a safe loader
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark is not None else None
        problem = " ".join(part for part in (exc.context, exc.problem) if part)
        raise SpecError(f"YAML syntax error: {problem}", file=file, line=line) from None
    except yaml.reader.ReaderError as exc:
        raise SpecError(f"character {chr(exc.character)!r} at offset {exc.position} is not allowed in YAML",
                        file=file) from None
    except yaml.YAMLError as exc:
        raise SpecError(f"YAML error: {exc}", file=file) from None
    except (ValueError, OverflowError) as exc:  # int('9' * 5000) in the constructor
        raise SpecError(f"YAML value cannot be read: {exc}", file=file) from None


def check_events(text: str, *, limits: Limits, file: str | None = None) -> None:
    """Refuse deep nesting, alias bombs and recursive aliases, from the event stream alone.

    Each open collection is a frame ``[values so far, anchor]``; a finished anchored node
    remembers its expanded size, which every alias to it adds again.
    """
    anchors: dict[str, int] = {}
    frames: list[list[Any]] = [[0, None]]
    for event in yaml.parse(text, Loader=Loader):
        if isinstance(event, yaml.CollectionStartEvent):
            frames.append([1, event.anchor])
            if len(frames) - 1 > limits.max_depth:
                raise LimitError(f"YAML nested deeper than {limits.max_depth} levels {limits.hint('max_depth')}",
                                 file=file, line=_line(event))
            continue
        if isinstance(event, yaml.CollectionEndEvent):
            size, anchor = frames.pop()
            if anchor is not None:
                anchors[anchor] = size
        elif isinstance(event, yaml.ScalarEvent):
            size = 1
            if event.anchor is not None:
                anchors[event.anchor] = 1
        elif isinstance(event, yaml.AliasEvent):
            if any(frame[1] == event.anchor for frame in frames):
                raise SpecError(f"alias '*{event.anchor}' inside the collection it names (a recursive structure)",
                                file=file, line=_line(event))
            size = anchors.get(str(event.anchor), 1)
        else:
            continue
        frames[-1][0] += size
        if frames[-1][0] > limits.max_values:
            raise LimitError(f"YAML document has more than {limits.max_values} values, aliases counted "
                             f"{limits.hint('max_values')}", file=file, line=_line(event))


def _line(event: yaml.Event) -> int | None:
    mark = event.start_mark
    return mark.line + 1 if mark is not None else None
