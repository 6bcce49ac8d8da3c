"""The ``hflow`` command line."""

from __future__ import annotations


def main() -> None:
    raise SystemExit("hflow: not built yet")
