"""``hflow host ...``: list the configured hosts and check that one answers.

``check`` connects the way a run would (one SSH connection for everything) and reports
what it found: SSH reachable and its latency, the remote system and Python, batch
commands present and their version, and whether the run directory root is writable.
It exits 1 when the host cannot be used.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from .. import config, load as loading
from ..errors import HostError, HybridflowError
from ..hostconfig import HostConfig
from ..hosts.shell import LocalShell, Shell, SshShell

app = typer.Typer(no_args_is_help=True)
out = Console(highlight=False)


class Output(StrEnum):
    table = "table"
    json = "json"


def _hosts(filename: Path | None) -> dict[str, HostConfig]:
    spec = loading.load(filename) if filename else None
    return config.known_hosts(spec)


@app.command("list")
def list_(
    filename: Path | None = typer.Option(None, "--filename", "-f", help="Also show a workflow's inline hosts."),
    output: Output = typer.Option(Output.table, "--output", "-o"),
) -> None:
    """Hosts of the hosts file (and of a workflow's ``hosts:``)."""
    hosts = _hosts(filename)
    if output is Output.json:
        rows = [{"name": n, "kind": h.kind, "address": h.address, "port": h.port, "user": h.user,
                 "max_parallel": h.max_parallel, "options": dict(h.options)} for n, h in sorted(hosts.items())]
        out.print_json(json.dumps(rows))
        return
    if not hosts:
        out.print(f"no hosts configured (hosts file: {config.hosts_path()})")
        return
    table = Table("name", "kind", "address", "user", "max parallel", "options", title=str(config.hosts_path()))
    for name, host in sorted(hosts.items()):
        where = f"{host.address}:{host.port or 22}" if host.address else "(this machine)"
        options = ", ".join(f"{k}={v}" for k, v in sorted(host.options.items()))
        table.add_row(name, host.kind or "-", where, host.user or "-", str(host.max_parallel or "-"), options)
    out.print(table)


@dataclass
class Report:
    """What ``check`` found; ``ok`` is False when the host cannot run jobs."""

    host: str
    ok: bool = True
    lines: list[tuple[str, str, bool]] = field(default_factory=list)

    def add(self, what: str, found: str, good: bool = True) -> None:
        self.lines.append((what, found, good))


async def check_host(host: HostConfig) -> Report:
    """Connect to ``host`` and probe it (one connection, a few commands)."""
    report = Report(host.name)
    shell: Shell = SshShell(host) if host.address else LocalShell()
    try:
        started = time.perf_counter()
        first = await shell.run(["uname", "-srm"], timeout=20)
        connected = time.perf_counter() - started
        started = time.perf_counter()
        await shell.run(["true"], timeout=20)
        latency = time.perf_counter() - started
        via = "ssh" if host.address else "local"
        report.add(via, f"ok ({connected * 1000:.0f} ms to connect and run, {latency * 1000:.1f} ms per command)")
        report.add("system", first.out.strip())
        python = host.python or "python3"
        found = await shell.run([python, "--version"])
        report.add("python", f"{python}: {(found.out or found.err).strip()}", found.ok)
        for command in ("sbatch", "squeue", "scancel", "sacct", "bsub", "bjobs"):
            probe = await shell.run(["sh", "-c", f'command -v {command} >/dev/null && {command} --version 2>&1 | head -n1'])
            if probe.ok:
                report.add(command, probe.out.strip() or "present")
            elif host.kind in ("slurm", "lsf") and command in ("sbatch", "squeue", "bsub", "bjobs"):
                if (host.kind == "slurm") == (command in ("sbatch", "squeue")):
                    report.add(command, "missing", False)
        root = await shell.resolve(host.workdir or "~/.hybridflow/runs")
        writable = await shell.run(["sh", "-c", 'mkdir -p "$1" && test -w "$1"', "hflow", root])
        report.add("workdir", root + (" (writable)" if writable.ok else " (NOT writable)"), writable.ok)
    except HostError as exc:
        report.add("connect", str(exc), False)
    finally:
        await shell.close()
    report.ok = all(good for _, _, good in report.lines)
    return report


@app.command()
def check(
    name: str = typer.Argument(..., help="Host name (as in the hosts file), or localhost."),
    filename: Path | None = typer.Option(None, "--filename", "-f", help="Also look in a workflow's inline hosts."),
) -> None:
    """Connect to a host and report what is there (SSH, Slurm, Python, latency)."""
    hosts = _hosts(filename)
    if name in hosts:
        host = hosts[name]
    elif config.is_local_name(name):
        host = hosts.get("localhost") or HostConfig(name="localhost")
    else:
        raise HybridflowError(f"unknown host '{name}' (configured: {', '.join(sorted(hosts)) or 'none'})")
    report = asyncio.run(check_host(host))
    table = Table("check", "found", title=f"host {name}", show_header=False)
    for what, found, good in report.lines:
        table.add_row(("[green]✓[/] " if good else "[red]✗[/] ") + what, found)
    out.print(table)
    if not report.ok:
        raise typer.Exit(1)
