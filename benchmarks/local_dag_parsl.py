"""The Parsl driver of ``local_dag.py``: the same DAG as ``bash_app``s running ``true``.

    benchmarks/.venv/bin/python local_dag_parsl.py DAG.json RUN_DIR [THREADS]

Parsl's ThreadPoolExecutor with THREADS (default 2) threads, Parsl's defaults otherwise
(its log and run information go under RUN_DIR). A job's parents' futures are its
``inputs``, so Parsl starts it when they are done. Run it with the benchmark's own venv,
where Parsl is installed (``local_dag.py`` creates it).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import parsl
from parsl.app.app import bash_app
from parsl.config import Config
from parsl.executors.threads import ThreadPoolExecutor


@bash_app
def noop(inputs=()):  # noqa: B006 - Parsl's convention
    return "true"


def main() -> None:
    dag = json.loads(Path(sys.argv[1]).read_text())
    run_dir = sys.argv[2]
    threads = int(sys.argv[3]) if len(sys.argv) > 3 else 2
    parents: dict[str, list[str]] = {job: [] for job in dag["jobs"]}
    for parent, child in dag["edges"]:
        parents[child].append(parent)
    config = Config(executors=[ThreadPoolExecutor(max_threads=threads, label="threads")], run_dir=run_dir)
    with parsl.load(config):
        futures = {}
        for job in dag["jobs"]:  # the file lists jobs in topological order
            futures[job] = noop(inputs=[futures[p] for p in parents[job]])
        failed = 0
        for future in futures.values():
            try:
                failed += future.result() != 0
            except Exception:
                failed += 1
    print(f"{len(futures)} jobs, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
