"""Helpers shared by the tests (importable as ``support``: tests/ is on sys.path)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

COMPAT = Path(__file__).resolve().parents[2] / "shared" / "compat"
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"



def hflow(*args: str, timeout: float = 120, **kwargs) -> subprocess.CompletedProcess[str]:
    """Run the real ``hflow`` entry point."""
    return subprocess.run(
        [sys.executable, "-c", "from hybridflow.cli import main; main()", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "COLUMNS": "200"},
        **kwargs,
    )


def wait_for(predicate, timeout: float = 30.0, what: str = "condition") -> None:
    """Poll ``predicate`` every 50 ms until it holds; AssertionError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def step_the_clock(monkeypatch, seconds: float) -> None:
    """What psutil sees after the wall clock is stepped (Linux): the boot time moves by the step."""
    import psutil._pslinux as pslinux

    real = pslinux.boot_time
    monkeypatch.setattr(pslinux, "boot_time", lambda: real() + seconds)
