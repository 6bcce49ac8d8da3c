"""``hflow workflow ...``: add, list, delete, run, status, graph, cancel, save."""

from __future__ import annotations

import json
import sys
from contextlib import AbstractContextManager
from enum import StrEnum
from pathlib import Path

import typer
import yaml
from rich.console import Console
from rich.table import Table

from .. import coordinator, render
from ..api import Workflow, open_store
from ..coordinator import ExitCode, RequestError, RunRequest
from ..engine import Engine
from ..errors import NotFoundError, SpecError
from ..names import split_list
from ..rerun import RerunMode
from ..snapshot import WorkflowView
from ..states import JobState
from .lazy import LazyCommand, lazy_group

#: ``hflow workflow service ...``: the same verbs against a running REST service (httpx)
SERVICE = LazyCommand("hybridflow.cli.workflow_service", "app", "service",
                      "Talk to a running hybridflow service over HTTP.")
app = typer.Typer(no_args_is_help=True, cls=lazy_group(SERVICE))
#: not a terminal (a pipe, a file, the service's log): no wrapping at 80 columns
out = Console(highlight=False, soft_wrap=not sys.stdout.isatty(),
              width=None if sys.stdout.isatty() else 100_000)


class Output(StrEnum):
    table = "table"
    json = "json"
    yaml = "yaml"


class GraphFormat(StrEnum):
    svg = "svg"
    dot = "dot"
    mermaid = "mermaid"


def _names(text: str) -> list[str]:
    """NAME arguments accept comma lists with bracket expansion: ``wf[1-3],other``."""
    return split_list(text)


def _parse_args(args: list[str]) -> dict[str, str]:
    fields: dict[str, str] = {}
    for arg in args:
        key, sep, value = arg.partition("=")
        if not sep or not key:
            raise SpecError(f"argument {arg!r} is not KEY=VALUE")
        fields[key] = value
    return fields


def _is_file(name: str) -> bool:
    return name.endswith((".yaml", ".yml")) and Path(name).is_file()


@app.command()
def add(
    args: list[str] = typer.Argument(None, help="Job fields as KEY=VALUE (exec=..., script=..., kind=...)."),
    name: str = typer.Option("workflow", "--name", "-n", help="Workflow name."),
    job: str = typer.Option(None, "--job", "-j", help="Job name(s), e.g. 'fetch' or 'train[1-3]'."),
    filename: Path = typer.Option(None, "--filename", "-f", help="Load a workflow YAML file."),
) -> None:
    """Add a workflow from a YAML file, or add job(s) to a workflow."""
    store = open_store()
    if filename is not None:
        wf = Workflow.load(filename, name=name if name != "workflow" else None, store=store)
        out.print(f"added workflow [bold]{wf.name}[/] ({len(wf)} jobs)")
        return
    if not job:
        raise SpecError("give --filename FILE, or --job NAME with KEY=VALUE fields")
    wf = Workflow(name, store=store)
    fields = _parse_args(args or [])
    for job_name in _names(job):
        wf.add_job(job_name, **fields)
    out.print(f"workflow [bold]{wf.name}[/]: added {', '.join(_names(job))}")


@app.command()
def dependencies(
    name: str = typer.Argument(..., help="Workflow name."),
    chains: list[str] = typer.Argument(..., help="Chains such as 'a,b,c' (a→b→c)."),
) -> None:
    """Add dependencies to a workflow."""
    Workflow(_existing(name), store=open_store()).add_dependencies(*chains)
    out.print(f"workflow [bold]{name}[/]: added {', '.join(chains)}")


def _existing(name: str) -> str:
    if not open_store().exists(name):
        raise NotFoundError(f"no workflow named '{name}'")
    return name


@app.command()
def delete(
    name: str = typer.Argument(..., help="Workflow name(s)."),
    job: str = typer.Option(None, "--job", "-j", help="Delete only these job(s)."),
) -> None:
    """Delete workflows, or jobs of a workflow."""
    store = open_store()
    for wf_name in _names(name):
        wf = Workflow(_existing(wf_name), store=store)
        if job:
            for job_name in _names(job):
                wf.remove_job(job_name)
            out.print(f"workflow [bold]{wf_name}[/]: deleted {job}")
        else:
            wf.delete()
            out.print(f"deleted workflow [bold]{wf_name}[/]")


@app.command("list")
def list_() -> None:
    """List stored workflows with their state and job counts."""
    store = open_store()
    table = Table("workflow", "state", "jobs", "states", "run dir")
    for name in store.names():
        view = store.view(name)
        counts = ", ".join(f"{s} {n}" for s, n in sorted(view.counts().items()))
        state = f"{view.state.value} (pid {view.running_pid})" if view.running_pid else view.state.value
        table.add_row(name, state, str(len(view.jobs)), counts, view.run_dir or "")
    out.print(table)


@app.command()
def run(
    name: str = typer.Argument(..., help="Workflow name(s) ('wf[1-3]' runs each in turn), or a YAML file to add and run."),
    sequential: bool = typer.Option(False, "--sequential", help="One job at a time, in topological order."),
    workdir: Path = typer.Option(None, "--workdir", "-w", help="Run directory (default $HYBRIDFLOW_HOME/runs/NAME)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No live display; print a one-line summary."),
    table: bool | None = typer.Option(None, "--table/--no-table",
                                      help="Print the final status table (default: yes, unless --quiet)."),
    rerun_failed: bool = typer.Option(False, "--rerun-failed", help="Run only failed/skipped/canceled jobs and their dependents."),
    from_job: str = typer.Option(None, "--from", help="Run these job(s) and everything after them again."),
    force: bool = typer.Option(False, "--force", help="Run every job again, even unchanged successful ones."),
) -> None:
    """Run a workflow; exits 1 if a job failed, 130 when canceled.

    A run always resumes: attempts an interrupted run left are re-attached, never started
    again. By default a job that succeeded before and whose spec, script and parents are
    unchanged is reused, not run again.
    """
    if rerun_failed and force:
        raise RequestError("use only one of --rerun-failed, --from and --force")
    mode = RerunMode.FORCE if force else RerunMode.FAILED if rerun_failed else RerunMode.DEFAULT
    template = RunRequest(name, rerun=mode, from_jobs=tuple(_names(from_job)) if from_job else (),
                          workdir=workdir, sequential=sequential)  # checked before anything is stored
    store = open_store()
    if _is_file(name):
        workflows = [Workflow.load(name, store=store)]
    else:
        workflows = [Workflow(_existing(n), store=store) for n in _names(name)]
    if workdir is not None and len(workflows) > 1:
        raise RequestError("--workdir applies to one workflow; name one")
    live = not quiet and out.is_terminal
    codes: list[ExitCode] = []
    for wf in workflows:
        request = RunRequest(wf.name, rerun=template.rerun, from_jobs=template.from_jobs,
                             workdir=template.workdir, sequential=template.sequential)
        result = coordinator.run(request, store=store, watch=_live_display if live else None)
        codes.append(result.exit_code)
        if result.reused:
            more = f" and {len(result.reused) - 20} more" if len(result.reused) > 20 else ""
            out.print(f"reused (succeeded before, unchanged): {', '.join(result.reused[:20])}{more}")
        view = wf.status()
        if table if table is not None else not quiet:
            out.print(render.status_table(view))
        out.print(summary(view), markup=False)
        if result.exit_code is ExitCode.CANCELED:
            raise typer.Exit(ExitCode.CANCELED)
    if any(code is not ExitCode.OK for code in codes):
        raise typer.Exit(ExitCode.FAILED)


#: states whose jobs the summary names (skipped and canceled jobs follow from these)
NAMED_STATES = (JobState.FAILED, JobState.TIMEOUT, JobState.LOST, JobState.UNKNOWN)
MAX_NAMED = 20


def summary(view: WorkflowView) -> str:
    """One line: the workflow's state, job counts per state, the jobs that failed by state.

    ``wf: failed - 3 jobs: done 1, failed 1, skipped 1; failed: b``
    """
    counts = ", ".join(f"{state} {n}" for state, n in sorted(view.counts().items()))
    line = f"{view.name}: {view.state.value} - {len(view.jobs)} job{'' if len(view.jobs) == 1 else 's'}"
    line += f": {counts}" if counts else ""
    for state in NAMED_STATES:
        jobs = [job.name for job in view.jobs.values() if job.state is state]
        if jobs:
            more = f" and {len(jobs) - MAX_NAMED} more" if len(jobs) > MAX_NAMED else ""
            line += f"; {state.value}: {', '.join(jobs[:MAX_NAMED])}{more}"
    return line


def _live_display(engine: Engine) -> AbstractContextManager[object]:
    """The live view of a run on a terminal (rich's Live, imported only for it)."""
    from rich.live import Live

    from .display import LiveRun

    return Live(LiveRun(engine), console=out, refresh_per_second=4, transient=True)


@app.command()
def status(
    name: str = typer.Argument(..., help="Workflow name(s)."),
    output: Output = typer.Option(Output.table, "--output", "-o", help="table, json or yaml."),
    group: bool | None = typer.Option(None, "--group/--no-group",
                               help="Table: one row per sweep with counts per state (default when sweeps exist)."),
) -> None:
    """Show the state of every job (readable while a run goes on)."""
    store = open_store()
    views = [store.view(_existing(n)) for n in _names(name)]
    if output is Output.table:
        for view in views:
            out.print(_sweep_status_table(view, group))
        return
    data = [render.to_json_dict(view) for view in views]
    payload = data[0] if len(data) == 1 else data
    if output is Output.json:
        sys.stdout.write(json.dumps(payload, indent=2) + "\n")
    else:
        sys.stdout.write(yaml.safe_dump(payload, sort_keys=False))


@app.command()
def graph(
    name: str = typer.Argument(..., help="Workflow name."),
    format: GraphFormat = typer.Option(GraphFormat.svg, "--format", help="svg, dot or mermaid."),
    output: Path = typer.Option(None, "--output", "-o", help="File to write (default NAME.svg/.dot/.mmd)."),
) -> None:
    """Render the workflow graph, nodes coloured by state."""
    wf = Workflow(_existing(name), store=open_store())
    suffix = {"svg": ".svg", "dot": ".dot", "mermaid": ".mmd"}[format.value]
    path = wf.graph(output or Path(f"{name}{suffix}"), format=format.value)
    out.print(f"wrote {path}")


@app.command()
def save(
    name: str = typer.Argument(..., help="Workflow name."),
    path: Path = typer.Argument(..., help="Target file: .yaml (with state) or .json."),
) -> None:
    """Export a workflow with its state."""
    Workflow(_existing(name), store=open_store()).save(path)
    out.print(f"wrote {path}")


@app.command()
def cancel(name: str = typer.Argument(..., help="Workflow name(s).")) -> None:
    """Cancel a run going on in another terminal."""
    store = open_store()
    for wf_name in _names(name):
        if Workflow(_existing(wf_name), store=store).cancel():
            out.print(f"cancel requested for [bold]{wf_name}[/]")
        else:
            out.print(f"workflow [bold]{wf_name}[/] is not running")


# -- parameter sweeps (issue 7): `hflow workflow expand`, grouped `status` -------------------


def _sweep_status_table(view: WorkflowView, group: bool | None) -> Table:
    """The status table; with ``group`` (default: when sweeps exist) one row per sweep."""
    from rich import box
    from rich.text import Text

    from ..labels import format_duration
    from ..render.sweeps import group_rows
    from ..render.table import STATE_STYLES

    sweeps = {name: job.spec.sweep for name, job in view.jobs.items() if job.spec.sweep}
    if not (sweeps if group is None else group):
        return render.status_table(view)
    rows = group_rows(render.status_rows(view), sweeps)
    counts = ", ".join(f"{n} {state}" for state, n in view.counts().items())
    table = Table(title=f"{view.name}: {view.state.value}" + (f" ({counts})" if counts else ""),
                  box=box.SIMPLE_HEAD, collapse_padding=True)
    widths = {"job": max((len(r["job"]) for r in rows), default=3),
              "state": min(30, max((len(r["state"]) for r in rows), default=5)), "message": 7}
    for column in ("job", "jobs", "state", "progress", "kind", "host", "start", "duration", "message"):
        table.add_column(column, justify="right" if column in ("jobs", "progress", "duration") else "left",
                         no_wrap=column not in ("message", "state"), min_width=widths.get(column),
                         overflow="fold" if column in ("message", "state") else "ellipsis")
    for row in rows:
        if row.get("sweep"):
            state = Text(", ").join(Text(f"{s} {n}", style=STATE_STYLES.get(s, "")) for s, n in row["counts"].items())
        else:
            state = Text(row["state"], style=STATE_STYLES.get(row["state"], ""))
        table.add_row(
            row["job"], str(row["jobs"]), state, f"{row['progress']}%", row["kind"], row["host"] or "",
            (row["start"] or "")[11:19],
            "" if row["duration"] is None else format_duration(row["duration"]),
            row["message"] or "",
        )
    return table


@app.command()
def expand(
    filename: Path = typer.Argument(..., help="Workflow YAML file."),
    output: Output = typer.Option(Output.table, "--output", "-o", help="table, json or yaml (a loadable workflow)."),
) -> None:
    """Dry run: validate FILE and print its jobs with every sweep expanded; runs and stores nothing."""
    from ..load import load
    from ..render.sweeps import expansion_rows
    from ..spec import to_document

    spec = load(filename)
    if output is Output.yaml:
        sys.stdout.write(yaml.safe_dump(to_document(spec), sort_keys=False, allow_unicode=True))
        return
    rows = expansion_rows(spec.jobs)
    if output is Output.json:
        sys.stdout.write(json.dumps({"name": spec.name, "jobs": rows,
                                     "dependencies": [list(edge) for edge in spec.edges]}, indent=2) + "\n")
        return
    from rich import box

    table = Table(title=f"{spec.name}: {len(rows)} jobs, {len(spec.edges)} dependencies", box=box.SIMPLE_HEAD)
    columns = [c for c in ("job", "sweep", "parameters", "output_dir", "kind", "host", "command")
               if c in ("job", "command") or any(row[c] for row in rows)]
    for column in columns:
        table.add_column(column.replace("_", " "), overflow="fold", no_wrap=column == "job",
                         min_width=max((len(r["job"]) for r in rows), default=3) if column == "job" else None)
    for row in rows:
        table.add_row(*(str(row[c]) for c in columns))
    out.print(table)
