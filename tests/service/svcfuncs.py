"""Functions the services tests publish (imported by the service from this folder)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel

import hybridflow as hf


@dataclass
class Region:
    name: str
    lat: float = 0.0


class Options(BaseModel):
    smooth: bool = False


class Blob:
    """A value that is not JSON."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __repr__(self) -> str:
        return f"Blob({self.n})"


def forecast(region: Region, days: int = 7, unit: Literal["C", "F"] = "C", weights: list[float] | None = None,
             options: Options | None = None) -> dict[str, object]:
    """Forecast the temperature of a region, one value per day."""
    hf.progress(50)
    base = 20.0 if unit == "C" else 68.0
    scale = sum(weights or [1.0])
    return {"region": region.name, "kind": type(region).__name__, "days": [base + i * scale for i in range(days)],
            "smooth": bool(options and options.smooth)}


def blob(n: int) -> Blob:
    """A value that has no JSON form."""
    return Blob(n)


def boom(x: int) -> int:
    """Always fails."""
    raise ValueError(f"bad x {x}")


def slow(seconds: float, x: int = 1) -> int:
    """Sleeps, reporting progress, then answers x + 1."""
    hf.progress(10)
    time.sleep(seconds)
    hf.progress(90)
    return x + 1


def where(x: int) -> dict[str, object]:
    """Who and where ran the call."""
    import getpass
    import os

    return {"user": getpass.getuser(), "cwd": os.getcwd(), "slurm": os.environ.get("SLURM_JOB_ID"), "x": x * 2}


def add(a: int, b: int = 1) -> int:
    """a + b."""
    return a + b
