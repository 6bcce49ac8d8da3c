"""Fan-out of N no-op jobs (start -> N -> end) on one SSH host and on Slurm, for real.

Needs the testbed (../shared/testbed/start-testbed). For each kind it runs the workflow
through the engine with default host settings (ssh polls every 2 s, Slurm every 5 s,
backing off while nothing changes) and prints: SSH connections opened, SSH commands,
polls, status queries (squeue) per poll, submissions (sbatch), lookups, total wall time.

    python benchmarks/remote_fanout.py [--jobs 100] [--kinds ssh,slurm,slurm-ssh]

``--handoff``: a sweep of N jobs on Slurm (start -> sweep -> end) four ways: separate jobs
or arrays (host option ``arrays``), with the coordinator watching throughout or handing
off (``detach``) and re-attaching once Slurm has finished: sbatch calls, arrays, status
queries (squeue), coordinator time and wall time to the end.

    python benchmarks/remote_fanout.py --handoff [--jobs 100]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shlex
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import yaml

KINDS = {
    "ssh": {"kind": "ssh", "host": "testbed"},
    "slurm": {"kind": "slurm"},
    "slurm-ssh": {"kind": "slurm", "host": "cluster"},
}


def read_env(path: Path) -> dict[str, str]:
    env: dict[str, str] = {}
    for line in path.read_text().splitlines():
        words = shlex.split(line, comments=True)
        if len(words) >= 2 and words[0] == "export" and "=" in words[1]:
            key, _, value = words[1].partition("=")
            env[key] = value
    return env


def write_hosts(home: Path, env: dict[str, str]) -> None:
    ssh = {
        "address": env["TESTBED_SSH_HOST"], "port": int(env["TESTBED_SSH_PORT"]), "user": env["TESTBED_SSH_USER"],
        "identity": env["TESTBED_SSH_KEY"], "known_hosts": env["TESTBED_SSH_KNOWN_HOSTS"],
        "workdir": f"~/.hybridflow-bench/{os.getpid()}",
    }
    hosts = {
        "testbed": {**ssh, "kind": "ssh"},
        "cluster": {**ssh, "kind": "slurm", "partition": env.get("TESTBED_SLURM_PARTITION", "debug")},
        "localhost": {"partition": env.get("TESTBED_SLURM_PARTITION", "debug")},
        "separate": {"kind": "slurm", "partition": env.get("TESTBED_SLURM_PARTITION", "debug"), "arrays": False},
    }
    (home / "hosts.yaml").write_text(yaml.safe_dump({"hosts": hosts}))


def workflow(folder: Path, name: str, where: dict[str, str], jobs: int) -> Path:
    nodes = {
        "start": {**where, "exec": "true"},
        f"w[1-{jobs}]": {**where, "exec": "true"},
        "end": {**where, "exec": "true"},
    }
    deps = [f"start,w{i},end" for i in range(1, jobs + 1)]
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump({"name": name, "workflow": {"nodes": nodes, "dependencies": deps}}))
    return path


def run_one(kind: str, jobs: int, folder: Path) -> dict[str, float]:
    from hybridflow import Workflow, WorkflowState
    from hybridflow.hosts.shell import SshShell

    name = f"fanout-{kind}"
    wf = Workflow.load(workflow(folder, name, KINDS[kind], jobs))
    engine = wf.engine()
    opened, commands = SshShell.connections_opened, SshShell.commands_run
    started = time.perf_counter()
    state = asyncio.run(engine.run())
    wall = time.perf_counter() - started
    if state is not WorkflowState.DONE:
        raise SystemExit(f"{kind}: workflow ended {state}")
    stats: Counter[str] = Counter()
    for slot in engine.hosts:
        stats.update(getattr(slot.host, "stats", Counter()))
    polls = stats["poll"] or 1
    return {
        "ssh connections": SshShell.connections_opened - opened,
        "ssh commands": SshShell.commands_run - commands,
        "polls": stats["poll"],
        "status queries/poll": (stats["query"] if kind.startswith("slurm") else stats["probe"]) / polls,
        "sbatch": stats["submit"],
        "lookups": stats["lookup"],
        "wall s": wall,
        "jobs/s": (jobs + 2) / wall,
    }


def sweep_workflow(folder: Path, name: str, host: str, jobs: int) -> Path:
    where = {"kind": "slurm", "host": host, "cpus": 1, "time": 5}
    nodes = {
        "start": {**where, "exec": "true"},
        "w": {**where, "experiments": {"i": f"p[1-{jobs}]"}, "exec": "true"},
        "end": {**where, "exec": "true"},
    }
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump({"name": name, "workflow": {"nodes": nodes, "dependencies": ["start,w,end"]}}))
    return path


def run_sweep(arrays: bool, handoff: bool, jobs: int, folder: Path) -> dict[str, float]:
    """One sweep run; with ``handoff`` the coordinator detaches, Slurm finishes alone, and a
    second coordinator re-attaches (both counted)."""
    from hybridflow import Workflow, WorkflowState

    name = f"sweep-{'arrays' if arrays else 'jobs'}-{'handoff' if handoff else 'watch'}"
    wf = Workflow.load(sweep_workflow(folder, name, "localhost" if arrays else "separate", jobs))
    stats: Counter[str] = Counter()
    started = time.perf_counter()
    engine = wf.engine(detach=handoff)
    state = asyncio.run(engine.run())
    coordinator = time.perf_counter() - started
    for slot in engine.hosts:
        stats.update(getattr(slot.host, "stats", Counter()))
    if handoff:
        if state is not WorkflowState.HANDED_OFF:
            raise SystemExit(f"{name}: did not hand off ({state})")
        end = Path(wf.status().run_dir or "") / "end.exit"
        while not end.exists():  # the laptop is away: nobody asks Slurm anything
            time.sleep(0.2)
        again = time.perf_counter()
        engine = wf.engine()
        state = asyncio.run(engine.run())
        coordinator += time.perf_counter() - again
        for slot in engine.hosts:
            stats.update(getattr(slot.host, "stats", Counter()))
    wall = time.perf_counter() - started
    if state is not WorkflowState.DONE:
        raise SystemExit(f"{name}: workflow ended {state}")
    return {"sbatch": stats["submit"], "arrays": stats["arrays"], "status queries": stats["query"],
            "accounting": stats["accounting"] + stats["usage"], "coordinator s": coordinator, "wall s": wall}


def handoff_main(jobs: int) -> None:
    env_file = Path(os.environ.get("TESTBED_DIR", "/tmp/testbed")) / "env.sh"
    if not env_file.exists():
        raise SystemExit(f"no testbed ({env_file}): run ../shared/testbed/start-testbed")
    env = read_env(env_file)
    rows: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        home.mkdir()
        os.environ["HYBRIDFLOW_HOME"] = str(home)
        write_hosts(home, env)
        for arrays in (False, True):
            for handoff in (False, True):
                label = f"{'arrays' if arrays else 'jobs'}{'+handoff' if handoff else ''}"
                rows[label] = run_sweep(arrays, handoff, jobs, Path(tmp))
    columns = list(next(iter(rows.values())))
    width = max(len(c) for c in columns)
    sys.stdout.write(f"Slurm sweep: start -> {jobs} no-op jobs -> end\n")
    sys.stdout.write(f"{'':{width}}  " + "  ".join(f"{k:>15}" for k in rows) + "\n")
    for column in columns:
        cells = "  ".join(f"{rows[k][column]:>15.1f}" if column.endswith(" s") else f"{int(rows[k][column]):>15d}"
                          for k in rows)
        sys.stdout.write(f"{column:{width}}  {cells}\n")


def bare_slurm(jobs: int, partition: str) -> float:
    """The same DAG driven by hand: sbatch --wrap true, squeue every 0.5 s (the floor)."""
    import subprocess

    def wave(count: int) -> None:
        ids = [subprocess.run(["sbatch", "--parsable", "-p", partition, "-o", "/dev/null", "--wrap", "true"],
                              check=True, capture_output=True, text=True).stdout.strip().split(";")[0]
               for _ in range(count)]
        while True:
            out = subprocess.run(["squeue", "-h", "-t", "all", "-j", ",".join(ids), "-o", "%T"],
                                 capture_output=True, text=True).stdout.split()
            if len(out) == len(ids) and all(s in ("COMPLETED", "FAILED", "CANCELLED") for s in out):
                return
            time.sleep(0.5)

    started = time.perf_counter()
    for count in (1, jobs, 1):
        wave(count)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=100)
    parser.add_argument("--kinds", default="ssh,slurm,slurm-ssh")
    parser.add_argument("--handoff", action="store_true", help="the sweep: separate jobs vs arrays, with and without hand-off")
    # the bare-Slurm row drives the same DAG with sbatch --wrap and squeue every 0.5 s
    args = parser.parse_args()
    if args.handoff:
        handoff_main(args.jobs)
        return
    env_file = Path(os.environ.get("TESTBED_DIR", "/tmp/testbed")) / "env.sh"
    if not env_file.exists():
        raise SystemExit(f"no testbed ({env_file}): run ../shared/testbed/start-testbed")
    env = read_env(env_file)
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        home.mkdir()
        os.environ["HYBRIDFLOW_HOME"] = str(home)
        write_hosts(home, env)
        rows = {kind: run_one(kind, args.jobs, Path(tmp)) for kind in args.kinds.split(",")}
    if any(kind.startswith("slurm") for kind in rows):
        bare = bare_slurm(args.jobs, env.get("TESTBED_SLURM_PARTITION", "debug"))
        for kind, row in rows.items():
            row["bare slurm wall s"] = bare if kind.startswith("slurm") else 0.0
    columns = list(next(iter(rows.values())))
    width = max(len(c) for c in columns)
    sys.stdout.write(f"fan-out start -> {args.jobs} no-op jobs -> end\n")
    sys.stdout.write(f"{'':{width}}  " + "  ".join(f"{k:>10}" for k in rows) + "\n")
    for column in columns:
        cells = "  ".join(f"{rows[k][column]:>10.2f}" if isinstance(rows[k][column], float) and not
                          float(rows[k][column]).is_integer() else f"{int(rows[k][column]):>10d}" for k in rows)
        sys.stdout.write(f"{column:{width}}  {cells}\n")


if __name__ == "__main__":
    main()
