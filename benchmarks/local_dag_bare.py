"""The bare asyncio driver of ``local_dag.py``: run a DAG's jobs as ``bash -c true``.

    python3 local_dag_bare.py DAG.json LOGDIR [PARALLEL]

DAG.json is ``{"jobs": [...], "edges": [[parent, child], ...]}``. Each job starts as soon
as all its parents finished, at most PARALLEL (default: the number of cores) at a time; its
stdout and stderr go to LOGDIR/NAME.log. Nothing else is kept: no state, no exit files, no
progress. Standard library only, so its start-up is the interpreter's.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path


async def run(jobs: list[str], edges: list[list[str]], parallel: int, logs: Path) -> int:
    children: dict[str, list[str]] = {job: [] for job in jobs}
    waiting = dict.fromkeys(jobs, 0)
    for parent, child in edges:
        children[parent].append(child)
        waiting[child] += 1
    ready = [job for job in jobs if waiting[job] == 0]
    ready.reverse()  # pop() from the end, in the file's order
    running: set[asyncio.Task[tuple[str, int]]] = set()
    failed = 0

    async def one(job: str) -> tuple[str, int]:
        with open(logs / f"{job}.log", "wb") as log:
            proc = await asyncio.create_subprocess_exec("bash", "-c", "true", stdout=log, stderr=log)
            return job, await proc.wait()

    while ready or running:
        while ready and len(running) < parallel:
            running.add(asyncio.create_task(one(ready.pop())))
        done, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            job, code = task.result()
            if code != 0:
                failed += 1
                continue
            for child in children[job]:
                waiting[child] -= 1
                if waiting[child] == 0:
                    ready.append(child)
    return failed


def main() -> None:
    dag = json.loads(Path(sys.argv[1]).read_text())
    logs = Path(sys.argv[2])
    parallel = int(sys.argv[3]) if len(sys.argv) > 3 else (os.cpu_count() or 1)
    failed = asyncio.run(run(dag["jobs"], dag["edges"], parallel, logs))
    print(f"{len(dag['jobs'])} jobs, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
