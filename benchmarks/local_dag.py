"""What a user waits for: ``hflow workflow run FILE -q`` against Parsl and a bare driver.

Every measurement is a whole process, timed from its start to its exit (interpreter
start-up, imports, loading the DAG, running every job, the final output, shutdown):

- **hflow**: ``hflow workflow run FILE -q`` (the console script of ``[project.scripts]``
  next to this Python, i.e. this checkout when it is installed editable), with a fresh,
  empty temporary ``HYBRIDFLOW_HOME`` per run; FILE is a YAML workflow whose nodes are all
  ``{exec: 'true'}``. Its stdout (the final table) goes to a pipe that is read.
- **Parsl**: ``python local_dag_parsl.py`` in the benchmark's own venv
  (``benchmarks/.venv``, created on first use with ``python3 -m venv`` and
  ``pip install parsl``; never the project's environment): a ``ThreadPoolExecutor`` with 2
  threads, one ``bash_app`` returning ``true`` per job, parents' futures as its ``inputs``.
- **bare**: ``python3 local_dag_bare.py``: asyncio starting ``bash -c true`` per job as soon
  as its parents finished, ``os.cpu_count()`` at a time (hflow's local default), a log file
  per job, nothing else.

Shapes, N no-op jobs: ``fanout`` (start -> N -> end), ``chain`` (N in a line), ``layered``
(10 layers of N/10 jobs; job i of a layer depends on jobs i and i+1 of the previous one),
``one`` (a single job: start-up and shutdown only).

Runs are interleaved: every repetition runs every shape once with each driver, the
drivers' order rotating, so the machine's drift hits all of them alike. The table shows
the median wall time per driver and the A/B ratios hflow/Parsl and hflow/bare (the median
of the per-repetition ratios, each pairing runs made back to back; above 1 means hflow is
slower), beside the targets of issue 11. Unless ``--skip-rss``, it then runs a 10,000-job
fan-out (start, 9,998 jobs, end) with hflow once and prints the process's peak RSS
(``wait4``'s ``ru_maxrss``, which also covers the job processes it waited for) against the
300 MB target.

    python3 benchmarks/local_dag.py                       # N=1000, 5 repetitions, RSS
    python3 benchmarks/local_dag.py --n 100 --reps 2 --shapes chain,one --skip-rss
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
DRIVERS = ("hflow", "parsl", "bare")
SHAPES = ("fanout", "chain", "layered", "one")
TARGETS = {"parsl": 0.5, "bare": 2.0}  # hflow / other, wall, every shape
ONE_JOB_SECONDS = 0.4
RSS_TARGET_MB = 300.0
RSS_N = 10_000
TIMEOUT_S = 1800.0
#: creating a file slower than this (µs) means many inodes were deleted in the last minutes
SETTLED_US = 40.0


def make_dag(shape: str, n: int) -> tuple[list[str], list[tuple[str, str]]]:
    """Job names, in topological order, and edges (parent, child) of one shape."""
    if shape == "one":
        return ["j0"], []
    if shape == "fanout":
        middle = [f"j{i}" for i in range(n)]
        return ["start", *middle, "end"], [("start", j) for j in middle] + [(j, "end") for j in middle]
    if shape == "chain":
        jobs = [f"j{i}" for i in range(n)]
        return jobs, list(zip(jobs, jobs[1:]))
    if shape == "layered":
        width = max(1, n // 10)
        layers = [[f"l{layer}_{i}" for i in range(width)] for layer in range(10)]
        edges = [
            (upper[k], child)
            for upper, lower in zip(layers, layers[1:])
            for i, child in enumerate(lower)
            for k in sorted({i, (i + 1) % width})
        ]
        return [job for layer in layers for job in layer], edges
    raise SystemExit(f"unknown shape {shape!r}; choose from {', '.join(SHAPES)}")


def write_inputs(shape: str, n: int, folder: Path) -> tuple[Path, Path, int]:
    """Write the DAG as an hflow workflow and as JSON (the other drivers); return both and the job count."""
    jobs, edges = make_dag(shape, n)
    lines = [f"name: bench-{shape}", "workflow:", "  nodes:"]
    lines += [f"    {job}: {{exec: 'true'}}" for job in jobs]
    if edges:
        lines.append("  dependencies:")
        lines += [f"    - {parent},{child}" for parent, child in edges]
    workflow = folder / f"{shape}.yaml"
    workflow.write_text("\n".join(lines) + "\n")
    dag = folder / f"{shape}.json"
    dag.write_text(json.dumps({"jobs": jobs, "edges": edges}))
    return workflow, dag, len(jobs)


def subdir(root: Path, name: str) -> Path:
    folder = root / name
    folder.mkdir()
    return folder


def venv_python(venv: Path) -> Path:
    """The venv's Python with Parsl importable, creating the venv on first use."""
    python = venv / "bin" / "python"
    if python.exists() and subprocess.run([python, "-c", "import parsl"], capture_output=True).returncode == 0:
        return python
    print(f"creating {venv} with Parsl (once)...", file=sys.stderr, flush=True)
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([python, "-m", "pip", "install", "--quiet", "parsl"], check=True)
    return python


def hflow_command() -> list[str]:
    """The ``hflow`` console script of this interpreter (not a shim that re-resolves it)."""
    script = Path(sys.executable).parent / "hflow"
    if not script.exists():
        found = shutil.which("hflow")
        if found is None:
            raise SystemExit("no hflow script: install the checkout (python3 -m pip install -e .)")
        script = Path(found)
    return [str(script)]


def check_checkout(env: dict[str, str], expected: Path) -> str:
    """Where ``hybridflow`` is imported from; warn when it is not ``expected``."""
    origin = subprocess.run(
        [sys.executable, "-c", "import importlib.util as u; print(u.find_spec('hybridflow').origin)"],
        capture_output=True,
        text=True,
        env=env,
    ).stdout.strip()
    if not origin.startswith(str(expected.resolve())):
        print(f"warning: hybridflow is imported from {origin}, not {expected}", file=sys.stderr)
    return origin


@dataclass
class Run:
    seconds: float
    rss_mb: float
    output: str


def timed(argv: list[str], env: dict[str, str], cwd: Path) -> Run:
    """Run one whole process; wall time from spawn to exit, its peak RSS (wait4)."""
    out = tempfile.TemporaryFile()
    start = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
    timer = threading.Timer(TIMEOUT_S, proc.kill)
    timer.start()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    timer.cancel()
    proc.returncode = os.waitstatus_to_exitcode(status)
    out.seek(0)
    output = out.read().decode(errors="replace")
    out.close()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} exited {proc.returncode}:\n{output[-3000:]}")
    return Run(seconds, usage.ru_maxrss / 1024, output)


class Bench:
    def __init__(self, parsl_python: Path, workroot: Path, src: Path | None) -> None:
        self.parsl_python = parsl_python
        self.workroot = workroot
        self.hflow = hflow_command()
        self.base_env = {k: v for k, v in os.environ.items() if not k.startswith("HYBRIDFLOW_")}
        self.hflow_env = dict(self.base_env)
        if src is not None:  # ahead of the editable install's .pth entry
            self.hflow_env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(src.resolve()), os.environ.get("PYTHONPATH")]))

    def run(self, driver: str, workflow: Path, dag: Path, jobs: int) -> Run:
        """One timed run in a fresh scratch folder, which is kept until the benchmark ends:
        deleting a run's thousands of files slows the runs after it on this machine (hflow's
        1000-job chain went from 1.7 s to 3.2 s, and stayed there while every run deleted its
        files: ext4 passes over recently deleted inodes for every file it creates), so no run
        pays for an earlier one's clean-up."""
        scratch = Path(tempfile.mkdtemp(prefix=f"{driver}-", dir=self.workroot))
        env = dict(self.hflow_env if driver == "hflow" else self.base_env)
        if driver == "hflow":
            env["HYBRIDFLOW_HOME"] = str(scratch)  # fresh and empty: store, run directory
            run = timed([*self.hflow, "workflow", "run", str(workflow), "-q"], env, scratch)
            done = len(list(scratch.glob("runs/*/*.exit")))
        elif driver == "parsl":
            run = timed([str(self.parsl_python), str(HERE / "local_dag_parsl.py"), str(dag), str(scratch), "2"], env, scratch)
            done = jobs if f"{jobs} jobs, 0 failed" in run.output else 0
        else:
            run = timed([sys.executable, str(HERE / "local_dag_bare.py"), str(dag), str(scratch)], env, scratch)
            done = len(list(scratch.glob("*.log")))
        if done != jobs:
            raise SystemExit(f"{driver} ran {done} of {jobs} jobs:\n{run.output[-3000:]}")
        return run


def file_creation_us(folder: Path, count: int = 300) -> float:
    """Microseconds to create one empty file here (the files are kept: deleting them would
    slow the next files down, see :func:`settle`)."""
    probe = Path(tempfile.mkdtemp(prefix="probe-", dir=folder))
    start = time.perf_counter()
    for i in range(count):
        os.close(os.open(probe / f"f{i}", os.O_WRONLY | os.O_CREAT | os.O_EXCL))
    return (time.perf_counter() - start) / count * 1e6


def settle(folder: Path, wait_s: float) -> float:
    """Wait (at most ``wait_s``) until creating a file is fast again; return the last probe.

    On ext4 without a journal, as on this machine, a new inode is taken only after every
    free one deleted in the last minute or more was passed over, each looked up in the
    inode table: after a mass deletion (a test suite's temporary folders, an earlier
    benchmark's clean-up) a file costs 100-400 µs instead of about 12, for some minutes.
    hflow creates three files per job, the bare driver one, Parsl none, so the ratios
    would say more about what ran before than about the drivers.
    """
    deadline = time.monotonic() + wait_s
    while True:
        cost = file_creation_us(folder)
        if cost <= SETTLED_US or time.monotonic() >= deadline:
            return cost
        print(f"creating a file takes {cost:.0f} µs here now (inodes deleted recently); waiting for it to settle...",
              file=sys.stderr, flush=True)
        time.sleep(15)


def verdict(value: float, target: float, strict: bool = False) -> str:
    ok = value < target if strict else value <= target
    return "ok" if ok else "MISS"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1000, help="jobs per shape (fanout adds start and end)")
    parser.add_argument("--reps", type=int, default=5, help="interleaved repetitions (medians)")
    parser.add_argument("--shapes", default=",".join(SHAPES), help="comma-separated: " + ",".join(SHAPES))
    parser.add_argument("--skip-rss", action="store_true", help=f"skip the {RSS_N:,}-job fan-out RSS run")
    parser.add_argument(
        "--src",
        type=Path,
        help="run hflow with this hybridflow source tree first on PYTHONPATH (e.g. a `git archive` snapshot's src/); "
        "default: the installed checkout",
    )
    parser.add_argument("--venv", type=Path, default=HERE / ".venv", help="venv with Parsl (created if missing)")
    parser.add_argument("--settle", type=float, default=300.0, metavar="S",
                        help=f"wait up to S seconds until creating a file takes under {SETTLED_US:.0f} µs (0: do not wait)")
    args = parser.parse_args()
    shapes = [s.strip() for s in args.shapes.split(",") if s.strip()]

    parsl_python = venv_python(args.venv)
    parsl_version = subprocess.run(
        [parsl_python, "-c", "import parsl; print(parsl.__version__)"], capture_output=True, text=True
    ).stdout.strip()
    with tempfile.TemporaryDirectory(prefix="hflow-bench-") as tmp:
        root = Path(tmp)
        bench = Bench(parsl_python, root, args.src)
        origin = check_checkout(bench.hflow_env, args.src or HERE.parent)
        # What a user has: bytecode cached (a wheel install compiles it; an editable one writes
        # it on first import, unless PYTHONDONTWRITEBYTECODE is set, as it is on some CI images).
        compileall.compile_dir(str(Path(origin).parent), quiet=1)
        inputs = {shape: write_inputs(shape, args.n, root) for shape in shapes}
        cost = settle(root, args.settle)
        print(
            f"hflow: {' '.join(bench.hflow)} (hybridflow from {origin}); Parsl {parsl_version} "
            f"ThreadPoolExecutor(2); bare asyncio x{os.cpu_count()}; cores {os.cpu_count()}; "
            f"N={args.n}, {args.reps} reps; creating a file: {cost:.0f} µs",
            flush=True,
        )
        # Warm the page cache (interpreters, imports) before anything is timed.
        warm = write_inputs("one", 1, subdir(root, "warm"))
        for driver in DRIVERS:
            bench.run(driver, *warm)

        walls: dict[tuple[str, str], list[float]] = {}
        rss: dict[str, list[float]] = {}
        for rep in range(args.reps):
            for s, shape in enumerate(shapes):
                k = (rep + s) % len(DRIVERS)
                order = DRIVERS[k:] + DRIVERS[:k]  # rotate who goes first
                line = []
                for driver in order:
                    run = bench.run(driver, *inputs[shape])
                    walls.setdefault((shape, driver), []).append(run.seconds)
                    if driver == "hflow":
                        rss.setdefault(shape, []).append(run.rss_mb)
                    line.append(f"{driver} {run.seconds:.2f}s")
                print(f"  rep {rep + 1}/{args.reps} {shape:8} " + ", ".join(line), flush=True)

        print()
        print(
            f"{'shape':8} {'jobs':>6} {'hflow s':>8} {'Parsl s':>8} {'bare s':>8} "
            f"{'hflow/Parsl':>12} {'(<=0.5)':>7} {'hflow/bare':>11} {'(<=2.0)':>7} {'hflow MB':>9}"
        )
        for shape in shapes:
            jobs = inputs[shape][2]
            med = {d: statistics.median(walls[(shape, d)]) for d in DRIVERS}
            ratio = {
                other: statistics.median(h / o for h, o in zip(walls[(shape, "hflow")], walls[(shape, other)]))
                for other in ("parsl", "bare")
            }
            print(
                f"{shape:8} {jobs:6d} {med['hflow']:8.2f} {med['parsl']:8.2f} {med['bare']:8.2f} "
                f"{ratio['parsl']:12.2f} {verdict(ratio['parsl'], TARGETS['parsl']):>7} "
                f"{ratio['bare']:11.2f} {verdict(ratio['bare'], TARGETS['bare']):>7} "
                f"{statistics.median(rss[shape]):9.1f}",
                flush=True,
            )
        if "one" in shapes:
            one = statistics.median(walls[("one", "hflow")])
            print(f"1-job run: hflow {one:.2f} s (target < {ONE_JOB_SECONDS} s: {verdict(one, ONE_JOB_SECONDS, True)})")
        print("ratios: median over repetitions of hflow's wall / the other's wall in the same repetition")

        if not args.skip_rss:
            workflow, dag, jobs = write_inputs("fanout", RSS_N - 2, subdir(root, "rss"))  # 10,000 jobs in all
            run = bench.run("hflow", workflow, dag, jobs)
            print(
                f"peak RSS, hflow, {jobs:,}-job fan-out: {run.rss_mb:.1f} MB "
                f"(target < {RSS_TARGET_MB:.0f} MB: {verdict(run.rss_mb, RSS_TARGET_MB, True)}), wall {run.seconds:.1f} s"
            )


if __name__ == "__main__":
    main()
