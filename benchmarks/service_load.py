"""Load on the REST service: N clients polling a running 1,000-job workflow's status.

    python benchmarks/service_load.py                  # 50 clients, 30 s, poll every 0.5 s
    python benchmarks/service_load.py --interval 0     # back to back (a saturation test)

Everything stays on this machine: a fresh ``$HYBRIDFLOW_HOME`` in a temp directory, the
service started as its own process (``python -m hybridflow.service``) on 127.0.0.1, a
1,000-job layered workflow (20 layers of 50, each job ``sleep`` a little) uploaded and run
through the API, then the clients poll ``GET /api/v1/workflows/NAME/status`` (the JSON
document of ``hflow workflow status -o json``) for the given time. Prints latency
percentiles (ms), throughput, errors and how far the run got; targets: p99 < 50 ms, 0
errors. Bounded: it stops by itself after ``--seconds`` and cleans up its processes.
Client-side latency includes everything else running on the machine; the service's own
share is printed from its ``Server-Timing`` header. uvicorn serves about twice as fast
with httptools and uvloop installed (``uvicorn[standard]``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx


def workflow_yaml(layers: int, width: int, sleep: float, seed: int = 1) -> str:
    rng = random.Random(seed)
    names = [[f"j{layer:02d}_{i:03d}" for i in range(width)] for layer in range(layers)]
    nodes = "\n".join(f"    {n}: {{exec: 'sleep {sleep}'}}" for layer in names for n in layer)
    deps = "\n".join(f"    - {p},{n}" for k, layer in enumerate(names[1:], 1) for n in layer
                     for p in rng.sample(names[k - 1], min(2, width)))
    return f"workflow:\n  nodes:\n{nodes}\n  dependencies:\n{deps or '    []'}\n"


def start_service(home: Path) -> tuple[subprocess.Popen[bytes], str, str]:
    env = {**os.environ, "HYBRIDFLOW_HOME": str(home)}
    log = (home / "bench-service.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "hybridflow.service", "--host", "127.0.0.1", "--port", "0",
                             "--log-level", "warning"], env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    record = home / "service.json"
    deadline = time.monotonic() + 30
    while not record.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"service did not start; see {home / 'bench-service.log'}")
        time.sleep(0.05)
    url = json.loads(record.read_text())["url"]
    token = (home / "service-token").read_text().strip()
    return proc, url, token


async def client(http: httpx.AsyncClient, path: str, stop_at: float, interval: float,
                 latencies: list[float], errors: list[str], server: list[float]) -> None:
    await asyncio.sleep(random.random() * max(interval, 0.01))  # spread the clients out
    while time.monotonic() < stop_at:
        started = time.perf_counter()
        try:
            response = await http.get(path)
            body = response.content
            if response.status_code != 200 or not body:
                errors.append(f"HTTP {response.status_code}")
            else:
                latencies.append(time.perf_counter() - started)
                timing = response.headers.get("server-timing", "")
                if "dur=" in timing:
                    server.append(float(timing.split("dur=")[1]) / 1000)
        except httpx.HTTPError as exc:
            errors.append(type(exc).__name__)
        if interval:
            await asyncio.sleep(max(0.0, interval - (time.perf_counter() - started)))


async def poll(url: str, token: str, name: str, clients: int, seconds: float,
               interval: float) -> tuple[list[float], list[str], list[float]]:
    latencies: list[float] = []
    errors: list[str] = []
    server: list[float] = []
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {token}"},
                                 limits=limits, timeout=10) as http:
        stop_at = time.monotonic() + seconds
        path = f"/api/v1/workflows/{name}/status?format=json"
        await asyncio.gather(*(client(http, path, stop_at, interval, latencies, errors, server)
                               for _ in range(clients)))
    return latencies, errors, server


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--interval", type=float, default=0.5, help="seconds between one client's polls (0: back to back)")
    parser.add_argument("--layers", type=int, default=20)
    parser.add_argument("--width", type=int, default=50)
    parser.add_argument("--job-sleep", type=float, default=0.2)
    args = parser.parse_args()

    load_before = os.getloadavg()[0]
    home = Path(tempfile.mkdtemp(prefix="hf-load-"))
    proc, url, token = start_service(home)
    try:
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60) as http:
            text = workflow_yaml(args.layers, args.width, args.job_sleep)
            created = http.post("/api/v1/workflows", params={"name": "load"}, content=text)
            created.raise_for_status()
            jobs = created.json()["job_count"]
            http.post("/api/v1/workflows/load/run").raise_for_status()
            events_before = http.get("/api/v1/workflows/load").json()["last_event"]
            latencies, errors, server = asyncio.run(poll(url, token, "load", args.clients, args.seconds, args.interval))
            after = http.get("/api/v1/workflows/load").json()
            size = len(http.get("/api/v1/workflows/load/status?format=json").content)
            http.post("/api/v1/workflows/load/cancel")
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
    done = after["counts"].get("done", 0)
    print(f"service load: {args.clients} clients x {args.seconds:.0f} s polling GET /status?format=json "
          f"(every {args.interval} s per client) of a running {jobs}-job workflow ({size / 1024:.0f} KiB)")
    print(f"  while polling the run went on: {done} jobs done, {after['last_event'] - events_before} events, "
          f"state {after['state']}")
    if latencies:
        print(f"  requests {len(latencies)}  throughput {len(latencies) / args.seconds:.0f} req/s  errors {len(errors)}")
        print(f"  latency ms: p50 {percentile(latencies, 50):.1f}  p95 {percentile(latencies, 95):.1f}  "
              f"p99 {percentile(latencies, 99):.1f}  max {max(latencies) * 1000:.1f}  mean {statistics.mean(latencies) * 1000:.1f}")
        print(f"  in the service (Server-Timing) ms: p50 {percentile(server, 50):.1f}  p95 {percentile(server, 95):.1f}  "
              f"p99 {percentile(server, 99):.1f}  max {max(server) * 1000:.1f}")
    else:
        print(f"  no successful request; errors {len(errors)}: {sorted(set(errors))[:5]}")
    if errors:
        print(f"  error kinds: {sorted(set(errors))}")
    target = bool(latencies) and percentile(latencies, 99) < 50 and not errors
    print(f"  target p99 < 50 ms and 0 errors: {'met' if target else 'NOT met'}")
    print(f"  machine: {os.cpu_count()} CPUs, load average before/after {load_before:.2f}/{os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
