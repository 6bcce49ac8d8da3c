"""Calls of a published service under load: C concurrent clients for S seconds.

A real service process (``hflow service start`` on a fresh ``HYBRIDFLOW_HOME``) serves
``small(x) = x + 1`` published from this folder on the local host. Each client loops:
``POST /api/v1/services/small/calls?wait=30`` with ``{"x": i}``, then (if not finished
within the wait) long-polls ``GET .../calls/ID?wait=30`` until it is; latency is POST to
result. Every call is a stored run and a job process, driven by a detached coordinator
process (calls started within 50 ms share one: :mod:`hybridflow.service.batchrun`), as
any service call is (that is what lets a call outlive the service).

Reported: calls/s (finished calls / wall time), p50 and p99 latency, errors (a non-2xx
answer, a call that did not end ``done``, or a wrong value), and the service's peak RSS.

    python3 benchmarks/service_calls.py                  # 50 clients, 30 s
    python3 benchmarks/service_calls.py --clients 10 --seconds 10
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil

HERE = Path(__file__).resolve().parent


def small(x: int) -> int:
    """x + 1."""
    return x + 1


def start_service(home: Path) -> tuple[str, str, int]:
    services = home / "services.yaml"
    services.write_text(json.dumps({"services": {"small": {"function": "service_calls:small", "path": str(HERE)}}}))
    env = {**os.environ, "HYBRIDFLOW_HOME": str(home)}
    env.pop("HYBRIDFLOW_SERVICE_TOKEN", None)
    subprocess.run([sys.executable, "-c", "from hybridflow.cli import main; main()", "service", "start", "--port", "0",
                    "--services", str(services)], env=env, check=True, capture_output=True, text=True, timeout=60)
    record = json.loads((home / "service.json").read_text())
    token = (home / "service-token").read_text().strip()
    return record["url"], token, int(record["pid"])


async def client(http: httpx.AsyncClient, index: int, stop: float, latencies: list[float], errors: list[str]) -> None:
    i = index * 1_000_000
    while time.monotonic() < stop:
        i += 1
        t0 = time.monotonic()
        try:
            answer = await http.post("/api/v1/services/small/calls", json={"x": i}, params={"wait": 30})
            data = answer.json()
            while answer.status_code < 300 and not data["done"]:
                answer = await http.get(f"/api/v1/services/small/calls/{data['id']}", params={"wait": 30})
                data = answer.json()
        except (httpx.HTTPError, ValueError) as exc:  # ValueError: an answer that is not JSON
            errors.append(f"{type(exc).__name__}: {exc} {answer.status_code if 'answer' in locals() else ''}")
            continue
        if answer.status_code >= 300 or data.get("state") != "done" or data.get("result") != i + 1:
            errors.append(f"{answer.status_code}: {str(data)[:200]}")
            continue
        latencies.append(time.monotonic() - t0)


async def load(url: str, token: str, clients: int, seconds: float, pid: int) -> dict[str, object]:
    latencies: list[float] = []
    errors: list[str] = []
    limits = httpx.Limits(max_connections=clients + 5, max_keepalive_connections=clients + 5)
    process = psutil.Process(pid)
    peak = 0
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=120,
                                 limits=limits) as http:
        t0 = time.monotonic()
        stop = t0 + seconds
        tasks = [asyncio.create_task(client(http, n, stop, latencies, errors)) for n in range(clients)]
        while not all(task.done() for task in tasks):
            peak = max(peak, process.memory_info().rss)
            await asyncio.sleep(0.5)
        wall = time.monotonic() - t0
        cpu = process.cpu_times()
        for task in tasks:
            if task.exception() is not None:
                errors.append(f"client died: {task.exception()!r}")
    ordered = sorted(latencies)

    def quantile(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")

    return {"clients": clients, "seconds": seconds, "wall_s": round(wall, 1), "calls": len(latencies),
            "calls_per_s": round(len(latencies) / wall, 2), "p50_s": round(quantile(0.50), 3),
            "p99_s": round(quantile(0.99), 3), "mean_s": round(statistics.fmean(ordered), 3) if ordered else None,
            "errors": len(errors), "first_errors": errors[:3], "service_peak_rss_mib": round(peak / 2**20, 1),
            "service_cpu_s": round(cpu.user + cpu.system, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    home_log: list[str] = []
    with tempfile.TemporaryDirectory(prefix="hf-service-calls-") as folder:
        home = Path(folder) / "home"
        home.mkdir()
        url, token, pid = start_service(home)
        try:
            result = asyncio.run(load(url, token, args.clients, args.seconds, pid))
        finally:
            log = home / "service.log"
            text = log.read_text(errors="replace") if log.is_file() else ""
            home_log.append("\n".join(line for line in text.splitlines() if "Error" in line and "site-packages" not in line))
            env = {**os.environ, "HYBRIDFLOW_HOME": str(home)}
            subprocess.run([sys.executable, "-c", "from hybridflow.cli import main; main()", "service", "stop"],
                           env=env, capture_output=True, timeout=60)
    service_log = home_log[0] if home_log else ""
    if result["errors"] and service_log:
        print(f"service log tail:\n{service_log}")
    print(f"{result['clients']} clients, {result['wall_s']} s: {result['calls']} calls, {result['calls_per_s']} calls/s, "
          f"p50 {result['p50_s']} s, p99 {result['p99_s']} s, errors {result['errors']}, "
          f"service peak RSS {result['service_peak_rss_mib']} MiB, service CPU {result['service_cpu_s']} s")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
