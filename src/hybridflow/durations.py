"""Durations as users write them: ``90``, ``30s``, ``5m``, ``2h``, ``1h30m``, ``1d``, ``00:10:00``."""

from __future__ import annotations

import re

from .errors import SpecError

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_PART = re.compile(r"(\d+(?:\.\d+)?)([smhd])")


def parse_duration(value: object, *, field: str = "duration") -> float:
    """Seconds in ``value``; raises :class:`SpecError` naming ``field`` when malformed."""
    if isinstance(value, bool):
        raise SpecError(f"'{value}' is not a duration", field=field)
    if isinstance(value, (int, float)):
        seconds = float(value)
    else:
        text = str(value).strip().lower().replace(" ", "")
        if re.fullmatch(r"\d+(\.\d+)?", text):
            seconds = float(text)
        elif re.fullmatch(r"(\d+-)?\d+(:\d+){1,2}", text):  # Slurm style [D-]HH:MM[:SS]
            days, _, clock = text.rpartition("-")
            parts = [int(p) for p in clock.split(":")]
            if len(parts) == 2:
                parts.append(0)
            seconds = int(days or 0) * 86400 + parts[0] * 3600 + parts[1] * 60 + parts[2]
        elif text and _PART.sub("", text) == "":
            seconds = sum(float(n) * _UNITS[u] for n, u in _PART.findall(text))
        else:
            raise SpecError(f"'{value}' is not a duration (use e.g. 30s, 5m, 2h, 1h30m, 00:10:00)", field=field)
    if seconds < 0:
        raise SpecError(f"'{value}' is negative", field=field)
    return seconds


def slurm_time(seconds: float) -> str:
    """A Slurm ``--time`` value: whole minutes, at least one (``D-HH:MM:SS``)."""
    minutes = max(1, int(-(-seconds // 60)))
    days, rest = divmod(minutes * 60, 86400)
    hours, rest = divmod(rest, 3600)
    text = f"{hours:02d}:{rest // 60:02d}:00"
    return f"{days}-{text}" if days else text
