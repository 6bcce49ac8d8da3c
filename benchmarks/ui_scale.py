"""The web UI at 1,000 and 10,000 jobs: page-ready time and the event rate the browser keeps up with.

    python benchmarks/ui_scale.py                      # 1,000 and 10,000 jobs, 3 loads each
    python benchmarks/ui_scale.py --jobs 1000 --loads 5

Everything stays on this machine: a fresh ``$HYBRIDFLOW_HOME`` in a temp directory, the
service as its own process (``python -m hybridflow.service``) on 127.0.0.1, Debian's
Chromium (``/usr/bin/chromium``) driven by Playwright at 1280x900, logged in through the
form. For each size N, a fan-out ``start -> part[1-(N-2)] -> end`` is stored (``hflow workflow add``).

Page ready: from navigation to ``body[data-ready]`` (the graph drawn, the table filled, the
event stream open), as the page measures it (``performance.now()``), median of
``--loads`` loads after a first (cold) one; targets: < 2 s at 1,000 jobs, < 4 s at 10,000.
Printed beside it, measured in the same run: the same page with ``?view=flat`` (every job
its own node in the service's SVG, as the page drew it before families were grouped) and
the ratio, and the service's time for the grouped layout and for the flat SVG.

Event throughput: every job goes submitted -> running -> done (3 state changes per job,
with an attempt recorded), written into the state database by this process in rounds of
300 jobs, as fast as SQLite takes them, while the page follows the event stream. Printed:
the rate the writer produced, the rate the page applied them (all changes / time until the
page had applied the last one: its family showing N done), and the lag after the last
write. Bounded: it stops by itself and cleans up its processes.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from service_load import start_service  # noqa: E402

CHROMIUM = os.environ.get("HYBRIDFLOW_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]


def fanout(parts: int) -> str:
    deps = "\n".join(f"    - start,part{i},end" for i in range(1, parts + 1))
    return (f"workflow:\n  nodes:\n    start: {{exec: 'true'}}\n    part[1-{parts}]: {{exec: 'true'}}\n"
            f"    end: {{exec: 'true'}}\n  dependencies:\n{deps}\n")


def timed_get(http: httpx.Client, path: str) -> float:
    started = time.perf_counter()
    answer = http.get(path, timeout=300)
    answer.raise_for_status()
    return time.perf_counter() - started


def page_ready(page: Any, url: str) -> dict[str, float]:
    started = time.perf_counter()
    page.goto(url)
    page.wait_for_selector("body[data-ready='1']", timeout=120_000)
    wall = time.perf_counter() - started
    metrics = page.evaluate("window.hfMetrics")
    return {"ready_s": metrics["readyMs"] / 1000, "wall_s": wall}


def write_run(home: Path, name: str, jobs: list[str], chunk: int = 300) -> tuple[float, float, int]:
    """Every job submitted, running, done, in rounds; returns (start, end, last event id)."""
    from hybridflow.rounds import AttemptChange, NewAttempt, StateChange
    from hybridflow.states import JobState, WorkflowState
    from hybridflow.store.sqlite import Store

    store = Store(home / "hybridflow.db")
    wid = store.workflow_id(name)
    started = time.perf_counter()
    with store.transaction():
        store.start_run(wid, str(home / "runs" / name), jobs, fresh=True, options={"rerun": "benchmark"})
    for k in range(0, len(jobs), chunk):
        now = time.time()
        writes: list[Any] = []
        for job in jobs[k:k + chunk]:
            token = f"bench-{name}-{job}"
            writes += [NewAttempt(job, 1, token, "local", "localhost", str(home), job, now),
                       StateChange(job, JobState.SUBMITTED, now, attempt=1)]
        store.apply(wid, writes)
        writes = []
        for job in jobs[k:k + chunk]:
            writes += [AttemptChange(f"bench-{name}-{job}", state=JobState.RUNNING, started=now),
                       StateChange(job, JobState.RUNNING, now)]
        store.apply(wid, writes)
        writes = []
        for job in jobs[k:k + chunk]:
            writes += [AttemptChange(f"bench-{name}-{job}", state=JobState.DONE, exit_code=0, ended=time.time()),
                       StateChange(job, JobState.DONE, time.time())]
        store.apply(wid, writes)
    with store.transaction():
        store.end_run(wid, WorkflowState.DONE)
    ended = time.perf_counter()
    last = store.version(name)[6]
    store.close()
    return started, ended, last


def measure(size: int, loads: int, home: Path, url: str, token: str, browser: Any) -> dict[str, Any]:
    name = f"fan{size}"
    path = home / f"{name}.yaml"  # stored with the CLI: 10,000 chains exceed the default upload limit
    parts = size - 2  # start and end: `size` jobs in all (10,000 is the default limit)
    path.write_text(fanout(parts))
    subprocess.run([sys.executable, "-c", "from hybridflow.cli import main; main()", "workflow", "add",
                    "--filename", str(path), "--name", name], check=True, capture_output=True,
                   env={**os.environ, "HYBRIDFLOW_HOME": str(home)}, timeout=300)
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as http:
        layout_s = timed_get(http, f"/api/v1/workflows/{name}/layout")
        flat_svg_s = timed_get(http, f"/api/v1/workflows/{name}/graph?format=svg&fresh=true")
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{url}/login?next=/")
    page.fill("#token", token)
    page.click("button[type=submit]")
    page.wait_for_url(f"{url}/")
    cold = page_ready(page, f"{url}/workflows/{name}")
    warm = [page_ready(page, f"{url}/workflows/{name}") for _ in range(loads)]
    # the same page drawing every job as its own node (as before families were grouped)
    flat = [page_ready(page, f"{url}/workflows/{name}?view=flat") for _ in range(loads)]
    # the event stream: the page (freshly loaded) follows 3 state changes per job
    page_ready(page, f"{url}/workflows/{name}")
    jobs = ["start", *(f"part{i}" for i in range(1, parts + 1)), "end"]
    started, wrote, last = write_run(home, name, jobs)
    group = f"fam:part[1-{parts}]"
    deadline = time.perf_counter() + 300
    while True:
        applied = page.evaluate("window.hfMetrics.flushedEventId || 0")
        if applied >= last:
            break
        if time.perf_counter() > deadline:
            raise SystemExit(f"{size} jobs: the page applied events up to {applied} of {last} in 300 s")
        time.sleep(0.02)
    caught_up = time.perf_counter()
    counts = json.loads(page.get_attribute(f'#graph g.node.group[data-group="{group}"]', "data-counts") or "{}")
    if counts != {"done": parts}:
        raise SystemExit(f"{size} jobs: the family shows {counts} after all events, not {{'done': {parts}}}")
    context.close()
    changes = 3 * len(jobs)
    return {
        "jobs": len(jobs), "cold_ready_s": round(cold["ready_s"], 3),
        "ready_s_median": round(statistics.median(w["ready_s"] for w in warm), 3),
        "ready_s_max": round(max(w["ready_s"] for w in warm), 3),
        "flat_ready_s_median": round(statistics.median(f["ready_s"] for f in flat), 3),
        "layout_s": round(layout_s, 3), "flat_svg_s": round(flat_svg_s, 3),
        "changes": changes, "writer_per_s": round(changes / (wrote - started)),
        "page_per_s": round(changes / (caught_up - started)), "lag_after_last_write_s": round(caught_up - wrote, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--loads", type=int, default=3)
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="hf-ui-bench-") as tmp:
        home = Path(tmp) / "home"
        home.mkdir()
        proc, url, token = start_service(home)
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
                results = [measure(size, args.loads, home, url, token, browser) for size in args.jobs]
                browser.close()
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(30)
    print(f"web UI at scale ({os.cpu_count()} CPUs), page at 1280x900, fan-out start -> part[1-(N-2)] -> end")
    print(f"{'jobs':>6} {'ready cold':>10} {'ready med':>9} {'ready max':>9} {'target':>9}  {'flat page':>9} "
          f"{'ratio':>6}  {'layout':>7} {'flat SVG':>8}  {'changes':>7} {'writer/s':>8} {'page/s':>7} {'lag':>6}")
    for r in results:
        target = 2.0 if r["jobs"] <= 1000 else 4.0
        ok = "ok" if r["ready_s_max"] < target else "MISS"
        print(f"{r['jobs']:>6} {r['cold_ready_s']:>9.2f}s {r['ready_s_median']:>8.2f}s {r['ready_s_max']:>8.2f}s "
              f"{'<' + str(int(target)) + 's ' + ok:>9}  {r['flat_ready_s_median']:>8.2f}s "
              f"{r['flat_ready_s_median'] / max(r['ready_s_median'], 1e-6):>5.1f}x  {r['layout_s']:>6.2f}s "
              f"{r['flat_svg_s']:>7.2f}s  {r['changes']:>7} {r['writer_per_s']:>8} "
              f"{r['page_per_s']:>7} {r['lag_after_last_write_s']:>5.2f}s")
    print("flat page: the same page with ?view=flat (one node per job, the server's SVG: the page before "
          "grouping); ratio: flat page / grouped page, measured in this run; layout, flat SVG: the service's "
          "time for each; page/s: state changes per second the page applied (3 per job)")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
