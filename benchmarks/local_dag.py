"""Throughput and memory of the engine on local no-op jobs, against a bare asyncio driver.

For each shape (fan-out: start -> N -> end; chain of N; a layered random DAG) and size N,
runs the same DAG twice in fresh subprocesses: with hybridflow (``exec: 'true'`` jobs,
SQLite store, wrapper script, log and exit files) and with a bare asyncio driver that
starts ``bash -c true`` for each job, output to a log file, as soon as its parents
finished, with the same parallelism (number of cores). Prints jobs/s, peak RSS and the ratio hybridflow / bare.

    python benchmarks/local_dag.py                 # N = 100, 1000, 10000
    python benchmarks/local_dag.py --sizes 100 1000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from hybridflow import JobSpec, Workflow, WorkflowSpec, WorkflowState


def make_dag(shape: str, n: int, seed: int = 7) -> tuple[list[str], list[tuple[str, str]]]:
    """Job names and edges of one benchmark shape."""
    if shape == "fanout":
        jobs = ["start", *(f"j{i}" for i in range(n)), "end"]
        edges = [("start", f"j{i}") for i in range(n)] + [(f"j{i}", "end") for i in range(n)]
    elif shape == "chain":
        jobs = [f"j{i}" for i in range(n)]
        edges = list(zip(jobs, jobs[1:]))
    else:
        rng = random.Random(seed)
        width = max(2, int(n**0.5))
        layers = [[f"l{layer}_{i}" for i in range(width)] for layer in range((n + width - 1) // width)]
        jobs = [job for layer in layers for job in layer][:n]
        known = set(jobs)
        edges = []
        for upper, lower in zip(layers, layers[1:]):
            for child in lower:
                if child in known:
                    for parent in rng.sample(upper, k=min(2, len(upper))):
                        edges.append((parent, child))
    return jobs, edges


async def bare_driver(jobs: list[str], edges: list[tuple[str, str]], parallel: int, logs: Path) -> None:
    """Run ``bash -c true`` per job in dependency order, ``parallel`` at a time.

    Like any driver a user could live with, it keeps each job's output (a log file per job);
    it keeps nothing else: no state, no exit files, no progress.
    """
    children: dict[str, list[str]] = {job: [] for job in jobs}
    waiting = {job: 0 for job in jobs}
    for parent, child in edges:
        children[parent].append(child)
        waiting[child] += 1
    ready = [job for job in jobs if waiting[job] == 0]
    running: set[asyncio.Task[str]] = set()

    async def one(job: str) -> str:
        with open(logs / f"{job}.log", "wb") as log:
            proc = await asyncio.create_subprocess_exec("bash", "-c", "true", stdout=log, stderr=log)
            await proc.wait()
        return job

    while ready or running:
        while ready and len(running) < parallel:
            running.add(asyncio.create_task(one(ready.pop(0))))
        done, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            for child in children[task.result()]:
                waiting[child] -= 1
                if waiting[child] == 0:
                    ready.append(child)


def run_hybridflow(jobs: list[str], edges: list[tuple[str, str]], home: Path) -> None:
    os.environ["HYBRIDFLOW_HOME"] = str(home)
    spec = WorkflowSpec(name="bench", jobs={j: JobSpec(j, exec="true") for j in jobs}, edges=tuple(edges))
    state = Workflow.from_spec(spec).run()
    if state is not WorkflowState.DONE:
        raise SystemExit(f"benchmark workflow ended {state}")


def child(driver: str, shape: str, n: int) -> None:
    """One measurement in this (fresh) process; prints a JSON line.

    The clock starts after imports (a constant of a few hundred ms, not throughput); for
    hybridflow it covers creating the database, storing the workflow and running it.
    """
    jobs, edges = make_dag(shape, n)
    start = time.perf_counter()
    if driver == "bare":
        with tempfile.TemporaryDirectory() as logs:
            asyncio.run(bare_driver(jobs, edges, os.cpu_count() or 1, Path(logs)))
    else:
        with tempfile.TemporaryDirectory() as home:
            run_hybridflow(jobs, edges, Path(home))
    seconds = time.perf_counter() - start
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"jobs": len(jobs), "seconds": seconds, "rss_mb": rss_mb}))


def measure(driver: str, shape: str, n: int) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", driver, shape, str(n)], capture_output=True, text=True, check=True
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--shapes", nargs="+", default=["fanout", "chain", "layered"])
    parser.add_argument("--child", nargs=3, metavar=("DRIVER", "SHAPE", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.child[1], int(args.child[2]))
        return
    print(f"{'shape':8} {'N':>6} {'bare jobs/s':>12} {'hflow jobs/s':>13} {'ratio':>6} {'bare MB':>8} {'hflow MB':>9}")
    for n in args.sizes:
        for shape in args.shapes:
            bare = measure("bare", shape, n)
            hflow = measure("hybridflow", shape, n)
            bare_rate = bare["jobs"] / bare["seconds"]
            hflow_rate = hflow["jobs"] / hflow["seconds"]
            print(
                f"{shape:8} {n:6d} {bare_rate:12.1f} {hflow_rate:13.1f} {hflow_rate / bare_rate:6.2f} "
                f"{bare['rss_mb']:8.1f} {hflow['rss_mb']:9.1f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
