"""N small Python calls as jobs: hybridflow locally and on the SSH host, against submitit's
LocalExecutor and Parsl's ThreadPoolExecutor (locally), in the same run.

Each measurement is in-process, from the first submission to the last result (interpreter
start-up excluded for every driver), of ``small(x) = x + 1`` over ``range(N)``:

- **hflow local** / **hflow ssh**: ``hybridflow.map(hybridflow.remote(small, host=...),
  range(N))`` then every ``Future.result()``; a fresh ``HYBRIDFLOW_HOME`` per run. Each call
  is a job: its attempt recorded before it starts, its bundle and arguments staged, the
  runner started by the job wrapper (a Python process per call), its result staged back.
  ``ssh`` needs the testbed (``../shared/testbed``).
- **hflow local, one by one**: ``small.submit(x).result()`` in a loop (latency of a single
  call: a workflow of its own, its own engine).
- **submitit**: ``LocalExecutor.map_array`` then ``job.result()`` (a Python process per call),
  in the benchmark's own venv (``benchmarks/.venv``, created on first use with
  ``pip install parsl submitit``; never the project's environment).
- **parsl**: ``python_app`` on a ``ThreadPoolExecutor`` with 2 threads (calls run in
  threads of the same process: no process, no pickling, no files).

Reported: calls/s, per-call overhead (wall / N: the function itself takes microseconds),
and bytes moved per call: for hflow, the bytes of every file the SSH transport wrote or
read (bundle, arguments, wrappers, logs read for progress, results), counted at
``SshShell``'s methods; locally the bytes of the files the call leaves (nothing crosses a
network). The median of ``--reps`` runs, drivers interleaved.

    python3 benchmarks/functions.py                 # N=200, 3 repetitions
    python3 benchmarks/functions.py --n 50 --reps 1 --drivers hflow-local,parsl
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
DRIVERS = ("hflow-local", "hflow-ssh", "hflow-single", "submitit", "parsl")
SINGLE_CALLS = 10


def small(x: int) -> int:
    return x + 1


def venv_python(venv: Path) -> Path:
    """The venv's Python with submitit and Parsl importable, created on first use."""
    python = venv / "bin" / "python"
    check = [str(python), "-c", "import parsl, submitit"]
    if python.exists() and subprocess.run(check, capture_output=True).returncode == 0:
        return python
    print(f"installing parsl and submitit into {venv} (once)...", file=sys.stderr, flush=True)
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "parsl", "submitit"], check=True)
    return python


def testbed_env() -> dict[str, str] | None:
    path = Path(os.environ.get("TESTBED_DIR", "/tmp/testbed")) / "env.sh"
    if not path.is_file():
        return None
    env: dict[str, str] = {}
    for line in path.read_text().splitlines():
        words = shlex.split(line, comments=True)
        if len(words) >= 2 and words[0] == "export" and "=" in words[1]:
            key, _, value = words[1].partition("=")
            env[key] = value
    return env


def write_hosts(home: Path, env: dict[str, str], python: str) -> None:
    ssh = {"address": env["TESTBED_SSH_HOST"], "port": int(env["TESTBED_SSH_PORT"]), "user": env["TESTBED_SSH_USER"],
           "identity": env["TESTBED_SSH_KEY"], "known_hosts": env["TESTBED_SSH_KNOWN_HOSTS"], "python": python,
           "workdir": f"~/.hybridflow-bench/{os.getpid()}", "kind": "ssh"}
    home.mkdir(parents=True, exist_ok=True)
    (home / "hosts.yaml").write_text(yaml.safe_dump({"hosts": {"testbed": ssh}}))


class ByteCounter:
    """Counts the bytes of the files SshShell writes and reads (the real methods, wrapped)."""

    def __init__(self) -> None:
        from hybridflow.hosts.shell import SshShell

        self.moved: Counter[str] = Counter()
        counter = self.moved
        put, get, write, read = SshShell.put, SshShell.get, SshShell.write_bytes, SshShell.read_bytes

        async def put_counted(shell: Any, local: Path, remote: str) -> None:
            counter["put"] += local.stat().st_size
            await put(shell, local, remote)

        async def get_counted(shell: Any, remote: str, local: Path) -> None:
            await get(shell, remote, local)
            counter["get"] += local.stat().st_size

        async def write_counted(shell: Any, path: str, data: bytes, mode: int = 0o644) -> None:
            counter["write"] += len(data)
            await write(shell, path, data, mode)

        async def read_counted(shell: Any, path: str, offset: int = 0, limit: int | None = None) -> bytes | None:
            data = await read(shell, path, offset, limit)
            counter["read"] += len(data or b"")
            return data

        SshShell.put, SshShell.get = put_counted, get_counted  # type: ignore[method-assign]
        SshShell.write_bytes, SshShell.read_bytes = write_counted, read_counted  # type: ignore[method-assign]

    def total(self) -> int:
        return sum(self.moved.values())


def run_hflow(driver: str, n: int, env: dict[str, str] | None, python: str, counter: ByteCounter) -> dict[str, float]:
    import hybridflow as hf
    from hybridflow.hosts.shell import SshShell

    home = Path(tempfile.mkdtemp(prefix="hf-fn-bench-"))
    os.environ["HYBRIDFLOW_HOME"] = str(home)
    host = None
    if driver == "hflow-ssh":
        assert env is not None
        write_hosts(home, env, python)
        host = "testbed"
    fn = hf.remote(small, host=host)
    before, opened = counter.total(), SshShell.connections_opened
    started = time.perf_counter()
    if driver == "hflow-single":
        values = [fn.submit(i).result(timeout=600) for i in range(SINGLE_CALLS)]
        calls = SINGLE_CALLS
    else:
        futures = hf.map(fn, range(n))
        values = [f.result(timeout=1800) for f in futures]
        calls = n
    wall = time.perf_counter() - started
    if values != [i + 1 for i in range(calls)]:
        raise SystemExit(f"{driver}: wrong results")
    moved = counter.total() - before
    if driver != "hflow-ssh":  # nothing crosses a network: the bytes of the call files instead
        moved = sum(p.stat().st_size for p in (home / "calls").rglob("*") if p.is_file())
    return {"calls": calls, "wall_s": wall, "bytes_per_call": moved / calls,
            "ssh_connections": SshShell.connections_opened - opened}


def run_peer(driver: str, n: int, python: Path) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix=f"{driver}-bench-") as folder:
        out = subprocess.run([str(python), str(HERE / "functions_peers.py"), driver, str(n), folder],
                             capture_output=True, text=True, timeout=1800)
    if out.returncode != 0:
        raise SystemExit(f"{driver} failed: {out.stderr[-2000:]}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    if not result["ok"]:
        raise SystemExit(f"{driver}: wrong results")
    return {"calls": result["calls"], "wall_s": result["wall_s"], "bytes_per_call": 0.0, "ssh_connections": 0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--drivers", default=",".join(DRIVERS))
    parser.add_argument("--venv", type=Path, default=HERE / ".venv", help="venv with parsl and submitit")
    parser.add_argument("--remote-python", default="/opt/hybridflow-testbed/fn-venv/bin/python",
                        help="Python with cloudpickle on the SSH host (tests/functions builds it)")
    args = parser.parse_args()
    drivers = [d for d in args.drivers.split(",") if d]
    unknown = sorted(set(drivers) - set(DRIVERS))
    if unknown:
        raise SystemExit(f"unknown driver {unknown[0]!r}; choose from {', '.join(DRIVERS)}")
    env = testbed_env()
    if "hflow-ssh" in drivers and env is None:
        print("no testbed (../shared/testbed/start-testbed): skipping hflow-ssh", file=sys.stderr)
        drivers.remove("hflow-ssh")
    peer_python = venv_python(args.venv) if {"submitit", "parsl"} & set(drivers) else None
    counter = ByteCounter()
    runs: dict[str, list[dict[str, float]]] = {d: [] for d in drivers}
    for rep in range(args.reps):
        order = drivers[rep % len(drivers):] + drivers[:rep % len(drivers)]
        for driver in order:
            if driver.startswith("hflow"):
                runs[driver].append(run_hflow(driver, args.n, env, args.remote_python, counter))
            else:
                assert peer_python is not None
                runs[driver].append(run_peer(driver, args.n, peer_python))
            last = runs[driver][-1]
            print(f"rep {rep + 1} {driver}: {last['calls']:.0f} calls in {last['wall_s']:.2f}s", file=sys.stderr)
    print(f"\n{args.n} calls of small(x) = x + 1 (hflow-single: {SINGLE_CALLS} calls one after another), "
          f"median of {args.reps}, {os.cpu_count()} CPUs\n")
    print(f"{'driver':<14} {'calls/s':>9} {'ms/call':>9} {'bytes/call':>11} {'ssh conns':>10}")
    for driver in drivers:
        wall = statistics.median(r["wall_s"] / r["calls"] for r in runs[driver])
        moved = statistics.median(r["bytes_per_call"] for r in runs[driver])
        conns = max(r["ssh_connections"] for r in runs[driver])
        print(f"{driver:<14} {1 / wall:>9.1f} {wall * 1000:>9.1f} {moved:>11.0f} {conns:>10.0f}")


if __name__ == "__main__":
    main()
