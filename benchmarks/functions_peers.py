"""The peers of ``functions.py``: N small calls with submitit's LocalExecutor and Parsl's
ThreadPoolExecutor, timed in-process from the first submission to the last result.

    benchmarks/.venv/bin/python functions_peers.py submitit|parsl N WORKDIR

Prints one JSON object: ``{"driver", "calls", "wall_s", "ok"}``. Run it with the
benchmark's own venv (``functions.py`` creates it with ``pip install parsl submitit``).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def small(x: int) -> int:
    return x + 1


def with_submitit(n: int, folder: Path) -> list[int]:
    import submitit

    executor = submitit.LocalExecutor(folder=str(folder / "submitit"))
    executor.update_parameters(timeout_min=10)
    jobs = executor.map_array(small, list(range(n)))
    return [job.result() for job in jobs]


def with_parsl(n: int, folder: Path) -> list[int]:
    import parsl
    from parsl.app.app import python_app
    from parsl.config import Config
    from parsl.executors.threads import ThreadPoolExecutor

    app = python_app(small)
    config = Config(executors=[ThreadPoolExecutor(max_threads=2, label="threads")], run_dir=str(folder / "parsl"))
    with parsl.load(config):
        futures = [app(i) for i in range(n)]
        return [f.result() for f in futures]


def main() -> None:
    driver, n, folder = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
    run = {"submitit": with_submitit, "parsl": with_parsl}[driver]
    started = time.perf_counter()
    values = run(n, folder)
    wall = time.perf_counter() - started
    print(json.dumps({"driver": driver, "calls": n, "wall_s": wall, "ok": values == [i + 1 for i in range(n)]}))


if __name__ == "__main__":
    main()
