"""Big workflows for the browser tests and ``benchmarks/ui_scale.py`` (importable as ``scaleflows``)."""

from __future__ import annotations

from pathlib import Path


def fanout(parts: int, *, fail: str | None = None, flag: Path | None = None, payload: str = "true") -> str:
    """``start -> part[1-N] -> end``; the job ``fail`` fails until the file ``flag`` exists."""
    if fail is not None:
        assert flag is not None
        payload = f"{payload}; test $HF_JOB != {fail} -o -e {flag} || {{ echo {fail} found no {flag}; exit 3; }}"
    lines = ["workflow:", "  nodes:", "    start: {exec: 'true'}",
             f"    part[1-{parts}]: {{exec: '{payload}'}}", "    end: {exec: 'true'}"]
    lines.append("  dependencies:")
    lines.extend(f"    - start,part{i},end" for i in range(1, parts + 1))
    return "\n".join(lines) + "\n"


def layered(layers: int, width: int) -> str:
    """``layers`` families of ``width`` jobs, each job after every job of the family before."""
    nodes = [f"    s{k:02d}_[1-{width}]: {{exec: 'true'}}" for k in range(layers)]
    deps = [f"    - s{k - 1:02d}_{i},s{k:02d}_{j}" for k in range(1, layers) for i in (1, 2) for j in range(1, width + 1)]
    return "workflow:\n  nodes:\n" + "\n".join(nodes) + "\n  dependencies:\n" + "\n".join(deps) + "\n"
