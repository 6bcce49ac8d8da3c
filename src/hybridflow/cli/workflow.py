"""``hflow workflow ...``: add, list, delete, run, status, graph, cancel, save.

cloudmesh-cc's forms work as its manual spells them (``hflow workflow status --name=wf``,
``hflow workflow --name=wf --dependencies=a,b,c``, ``hflow workflow run --name=wf
--job=b``: see :mod:`hybridflow.cli.forms` and ``RunRequest.only_jobs``), and so do
hybridflow's (``hflow workflow status wf``, ``hflow workflow run wf.yaml``).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import sys
from contextlib import AbstractContextManager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import typer
import yaml

from .. import coordinator, render
from ..api import Workflow, open_store
from ..coordinator import ExitCode, RequestError, RunRequest
from ..engine import Engine
from ..errors import NotFoundError, SpecError
from ..names import check_workflow_name, split_list
from ..render.table import state_text
from ..rerun import RerunMode
from ..snapshot import WorkflowView
from ..spec import WorkflowSpec
from ..states import JobState, WorkflowState
from ..store.sqlite import Store
from .forms import DEFAULT, OneForm, target
from .lazy import LazyCommand, lazy_group

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

#: ``hflow workflow service ...``: the same verbs against a running REST service (httpx)
SERVICE = LazyCommand("hybridflow.cli.workflow_service", "app", "service",
                      "Talk to a running hybridflow service over HTTP.")
app = typer.Typer(no_args_is_help=True, cls=lazy_group(SERVICE))


def _width() -> int | None:
    """Not a terminal (a pipe, a file, the service's log): ``COLUMNS`` when set, else no
    wrapping at all (rich would wrap at 80 columns)."""
    if sys.stdout.isatty():
        return None
    columns = os.environ.get("COLUMNS", "")
    return int(columns) if columns.isdigit() and int(columns) > 0 else 100_000


@functools.cache
def out() -> Console:
    """Standard output's console, made (and rich imported) on first use: a quiet run prints
    its one line without it."""
    from rich.console import Console

    return Console(highlight=False, soft_wrap=not sys.stdout.isatty(), width=_width())


def _line(text: str) -> None:
    """One plain line on standard output (no markup, no wrapping, no rich)."""
    sys.stdout.write(text + "\n")


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


#: NAME given first, as hybridflow spells it (hidden: help shows the --name form)
NameArgument = typer.Argument(None, hidden=True, metavar="NAME", show_default=False)


@app.callback(invoke_without_command=True)
def _workflow(
    ctx: typer.Context,
    name: str = typer.Option(None, "--name", "-n", help="With --dependencies: the workflow (default 'workflow')."),
    dependencies: list[str] = typer.Option(None, "--dependencies", "-d",
                                           help="Add chains such as 'a,b,c' (a→b→c): cloudmesh-cc's form."),
) -> None:
    """Add, run, watch, render and cancel workflows.

    'hflow workflow --name NAME --dependencies a,b,c' adds dependencies (as 'hflow workflow dependencies NAME a,b,c' does).
    """
    if ctx.invoked_subcommand is not None:
        if name or dependencies:
            raise RequestError(f"--name and --dependencies go after the command: "
                               f"hflow workflow {ctx.invoked_subcommand} --name NAME")
        return
    if not dependencies:
        raise RequestError("give a command (see 'hflow workflow --help'), or --dependencies a,b,c")
    for wf_name in _names(name or DEFAULT):
        Workflow(_existing(wf_name), store=open_store()).add_dependencies(*dependencies)
        out().print(f"workflow [bold]{wf_name}[/]: added {', '.join(dependencies)}")


@app.command(cls=OneForm)
def add(
    args: list[str] = typer.Argument(None, metavar="ARGS",
                                     help="Job fields as KEY=VALUE (exec=..., script=..., kind=...)."),
    name: str = typer.Option(None, "--name", "-n", help="Workflow name(s) (default: the file's, else 'workflow')."),
    job: str = typer.Option(None, "--job", "-j", help="Job name(s), e.g. 'fetch' or 'train[1-3]'."),
    filename: Path = typer.Option(None, "--filename", "-f", help="Load a workflow YAML file (stored as --name, if given)."),
    strict: bool = typer.Option(False, "--strict", help="Refuse unknown keys instead of warning about them."),
    with_state: bool = typer.Option(False, "--with-state",
                                    help="Restore the status/progress a saved file carries (view a finished run)."),
) -> None:
    """Add a workflow from a YAML file, or add job(s) to a workflow.

    'hflow workflow add [--name NAME] --filename FILE' stores FILE (as NAME, if given).

    'hflow workflow add [--name NAME] --job JOB KEY=VALUE...' adds jobs (to the workflow 'workflow' by default).
    """
    args = list(args or [])
    if filename is None and len(args) == 1 and "=" not in args[0] and _is_file(args[0]):
        filename, args = Path(args[0]), []
    store = open_store()
    if filename is not None:
        if job or args:
            raise RequestError("--filename adds a whole workflow: add jobs with --job JOB KEY=VALUE..., without it")
        if name is not None and len(_names(name)) != 1:
            raise RequestError("--name with --filename names one workflow")
        wf = _load(filename, name=name, store=store, strict=strict, store_missing=True, with_state=with_state)
        out().print(f"added workflow [bold]{wf.name}[/] ({len(wf)} jobs)")
        return
    if not job:
        raise SpecError("give --filename FILE, or --job NAME with KEY=VALUE fields")
    fields = _parse_args(args)
    for wf_name in _names(name or DEFAULT):
        wf = Workflow(wf_name, store=store)
        for job_name in _names(job):
            wf.add_job(job_name, **fields)
        out().print(f"workflow [bold]{wf.name}[/]: added {', '.join(_names(job))}")


def _load(filename: Path, *, store: Store, name: str | None = None, strict: bool = False,
          store_missing: bool = False, with_state: bool = False) -> Workflow:
    """Load, validate and store a YAML file; its warnings go to stderr, one line each
    (``store_missing``: a missing script is one of them, not an error). ``with_state``
    restores the file's saved states; a bad one is refused before anything is stored."""
    from ..load import load
    from ..savedstate import saved_states

    spec = load(filename, name=name, strict=strict, store_missing=store_missing)
    states = saved_states(filename, spec.jobs) if with_state else {}
    if name is not None and spec.name != name:  # --name wins over the file's `name:`
        spec = dataclasses.replace(spec, name=check_workflow_name(name))
    for line in spec.warnings:
        sys.stderr.write(f"warning: {' '.join(line.split())}\n")
    wf = Workflow.from_spec(spec, store=store)
    if states:
        store.restore_states(wf.name, states)
    return wf


@app.command(cls=OneForm)
def dependencies(
    chains: list[str] = typer.Argument(..., metavar="CHAINS...", help="Chains such as 'a,b,c' (a→b→c)."),
    name: str = typer.Option(None, "--name", "-n", help="Workflow name (or give it before the chains)."),
) -> None:
    """Add dependencies to a workflow: 'hflow workflow dependencies --name NAME a,b,c'."""
    if name is None:
        if len(chains) < 2:
            raise RequestError("give the workflow and its chains: hflow workflow dependencies --name NAME a,b,c")
        name, chains = chains[0], chains[1:]
    Workflow(_existing(name), store=open_store()).add_dependencies(*chains)
    out().print(f"workflow [bold]{name}[/]: added {', '.join(chains)}")


def _existing(name: str) -> str:
    if not open_store().exists(name):
        raise NotFoundError(f"no workflow named '{name}'")
    return name


@app.command(cls=OneForm)
def delete(
    positional: str = NameArgument,
    name: str = typer.Option(None, "--name", "-n", help="Workflow name(s), e.g. 'a,b[1-2]' (default 'workflow')."),
    job: str = typer.Option(None, "--job", "-j", help="Delete only these job(s)."),
) -> None:
    """Delete workflows, or jobs of a workflow."""
    store = open_store()
    for wf_name in _names(target(positional, name, default=DEFAULT)):
        wf = Workflow(_existing(wf_name), store=store)
        if job:
            for job_name in _names(job):
                wf.remove_job(job_name)
            out().print(f"workflow [bold]{wf_name}[/]: deleted {job}")
        else:
            wf.delete()
            out().print(f"deleted workflow [bold]{wf_name}[/]")


@app.command("list", cls=OneForm)
def list_(
    positional: str = NameArgument,
    name: str = typer.Option(None, "--name", "-n", help="Show these workflows' jobs."),
    job: str = typer.Option(None, "--job", "-j", help="Show only these jobs (of every workflow, without --name)."),
    output: Output = typer.Option(Output.table, "--output", "-o", help="Jobs: table, json or yaml."),
) -> None:
    """List stored workflows with their state and job counts; with --name and/or --job, their jobs."""
    store = open_store()
    if positional or name or job:
        _list_jobs(store, target(positional, name) if positional or name else None, job, output)
        return
    from rich.table import Table

    table = Table("workflow", "state", "jobs", "states", "run dir")
    for name in store.names():
        view = store.view(name)
        counts = ", ".join(f"{s} {n}" for s, n in sorted(view.counts().items()))
        state = state_text(view)
        table.add_row(name, state, str(len(view.jobs)), counts, view.run_dir or "")
    out().print(table)


def _list_jobs(store: Store, names: str | None, jobs: str | None, output: Output) -> None:
    """``list --name``/``--job``: the jobs of these workflows (or of every workflow having them)."""
    wanted = _names(jobs) if jobs else None
    rows: list[dict[str, object]] = []
    for wf_name in _names(names) if names else store.names():
        view = store.view(_existing(wf_name))
        if wanted is not None and names:
            missing = [job for job in wanted if job not in view.jobs]
            if missing:
                raise NotFoundError(f"workflow '{wf_name}' has no job '{missing[0]}'")
        parents: dict[str, list[str]] = {}
        for parent, child in view.edges:
            parents.setdefault(child, []).append(parent)
        for job in view.jobs.values():
            if wanted is None or job.name in wanted:
                rows.append({"workflow": wf_name, "name": job.name, "state": job.state.value, "progress": job.progress,
                             "kind": job.spec.kind, "host": job.spec.host, "parents": parents.get(job.name, []),
                             "spec": job.spec.to_dict()})
    if not rows:
        raise NotFoundError(f"no workflow has job '{wanted[0]}'" if wanted else f"workflow '{names}' has no jobs")
    if output is Output.json:
        sys.stdout.write(json.dumps(rows, indent=2, default=str) + "\n")
        return
    if output is Output.yaml:
        sys.stdout.write(yaml.safe_dump(json.loads(json.dumps(rows, default=str)), sort_keys=False))
        return
    from rich.table import Table

    table = Table("workflow", "job", "state", "progress", "kind", "host", "parents", "command")
    for row in rows:
        spec = row["spec"]
        assert isinstance(spec, dict)
        command = spec.get("exec") or spec.get("script") or ""
        parents_of = row["parents"]
        assert isinstance(parents_of, list)
        table.add_row(str(row["workflow"]), str(row["name"]), str(row["state"]), f"{row['progress']}%", str(row["kind"]),
                      str(row["host"] or ""), ", ".join(parents_of), str(command))
    out().print(table)


@app.command(cls=OneForm)
def run(
    positional: str = NameArgument,
    name: str = typer.Option(None, "--name", "-n",
                             help="Workflow name(s): 'wf[1-3]' runs each in turn; with --filename, the name to store it as."),
    job: str = typer.Option(None, "--job", "-j", help="Run just these jobs; their parents must be done (or named too)."),
    filename: Path = typer.Option(None, "--filename", "-f", help="A workflow YAML file: add it, then run it."),
    sequential: bool = typer.Option(False, "--sequential", help="One job at a time, in topological order."),
    workdir: Path = typer.Option(None, "--workdir", "-w", help="Run directory (default $HYBRIDFLOW_HOME/runs/NAME)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No live display; print a one-line summary."),
    table: bool | None = typer.Option(None, "--table/--no-table",
                                      help="Print the final status table (default: yes, unless --quiet)."),
    rerun_failed: bool = typer.Option(False, "--rerun-failed", help="Run only failed/skipped/canceled jobs and their dependents."),
    from_job: str = typer.Option(None, "--from", help="Run these job(s) and everything after them again."),
    force: bool = typer.Option(False, "--force", help="Run every job again, even unchanged successful ones."),
    strict: bool = typer.Option(False, "--strict", help="A YAML file: refuse unknown keys instead of warning."),
    output: Output = typer.Option(None, "--output", "-o", show_default=False,
                                  help="At the end: table (every job's row, however many), json or yaml."),
    detach: bool = typer.Option(False, "--detach",
                                help="Hand the Slurm jobs to Slurm (afterok chains) and exit once only Slurm holds work."),
) -> None:
    """Run a workflow; exits 1 if a job failed, 130 when canceled.

    At the end it prints the run directory, the counts and, for each failed job, its exit
    code, the last lines of its log and the log's path; over 50 jobs, a table by family
    and state instead of one row per job (--table or --output table: every row).

    'hflow workflow run --name NAME [--job JOBS]' runs a stored workflow, or just those jobs.

    'hflow workflow run [--name NAME] --filename FILE' adds FILE (as NAME, if given) and runs it.

    A run always resumes: attempts an interrupted run left are re-attached, never started again.

    By default a job that succeeded before and whose spec, script and parents are unchanged is reused, not run again.
    """
    if positional and filename is not None:
        raise RequestError(f"give the workflow once: '{positional}' or --filename '{filename}'")
    if positional and _is_file(positional):
        filename, positional = Path(positional), None
    mode = RerunMode.FORCE if force else RerunMode.FAILED if rerun_failed else RerunMode.DEFAULT
    template = RunRequest(positional or name or DEFAULT, rerun=mode,
                          from_jobs=tuple(_names(from_job)) if from_job else (),
                          only_jobs=tuple(_names(job)) if job else (),
                          workdir=workdir, sequential=sequential, detach=detach)  # checked before anything is stored
    store = open_store()
    if filename is not None:
        if name is not None and len(_names(name)) != 1:
            raise RequestError("--name with --filename names one workflow")
        workflows = [_load(filename, name=name, store=store, strict=strict)]
    else:
        wf_names = _names(target(positional, name, default=DEFAULT if store.exists(DEFAULT) else None))
        workflows = [Workflow(_existing(n), store=store) for n in wf_names]
    if workdir is not None and len(workflows) > 1:
        raise RequestError("--workdir applies to one workflow; name one")
    live = not quiet and out().is_terminal
    codes: list[ExitCode] = []
    for wf in workflows:
        request = dataclasses.replace(template, workflow=wf.name)
        result = coordinator.run(request, store=store, watch=_live_display if live else None)
        codes.append(result.exit_code)
        if result.reused:
            more = f" and {len(result.reused) - 20} more" if len(result.reused) > 20 else ""
            out().print(f"reused (succeeded before, unchanged): {', '.join(result.reused[:20])}{more}")
        view = wf.status()
        if output in (Output.json, Output.yaml):
            payload = render.to_json_dict(view)
            sys.stdout.write(json.dumps(payload, indent=2) + "\n" if output is Output.json
                             else yaml.safe_dump(payload, sort_keys=False))
        elif quiet and not table and output is None:
            _line(summary(view, list(template.only_jobs)))
        else:
            from .closing import closing

            full = True if output is Output.table else table
            for part in closing(view, full_table=False if quiet and not full else full):
                out().print(part)
            out().print(summary(view, list(template.only_jobs)), markup=False)
        if result.state is WorkflowState.HANDED_OFF:
            waiting = sum(1 for job in view.jobs.values() if job.state.is_active)
            out().print(f"handed off: {waiting} jobs wait in Slurm; 'hflow workflow status {wf.name}' or "
                      f"'hflow workflow run {wf.name}' carries the run on", markup=False)
        if result.exit_code is ExitCode.CANCELED:
            raise typer.Exit(ExitCode.CANCELED)
    if any(code is not ExitCode.OK for code in codes):
        raise typer.Exit(ExitCode.FAILED)


#: states whose jobs the summary names (skipped and canceled jobs follow from these)
NAMED_STATES = (JobState.FAILED, JobState.TIMEOUT, JobState.LOST, JobState.UNKNOWN)
MAX_NAMED = 20


def summary(view: WorkflowView, only: list[str] | None = None) -> str:
    """One line: the workflow's state, job counts per state, the jobs that failed by state.

    ``wf: failed - 3 jobs: done 1, failed 1, skipped 1; failed: b``; with ``only`` (a run of
    just those jobs) it starts with their states: ``wf: ran b (done), c (done); ...``
    """
    if only:
        ran = ", ".join(f"{job} ({view.jobs[job].state.value})" for job in only if job in view.jobs)
        return f"{view.name}: ran {ran}; " + summary(view).partition(": ")[2]
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

    return Live(LiveRun(engine), console=out(), refresh_per_second=4, transient=True)


@app.command(cls=OneForm)
def logs(
    positional: str = NameArgument,
    job: str = typer.Argument(None, metavar="JOB", help="The job whose log to print."),
    name: str = typer.Option(None, "--name", "-n", help="Workflow name."),
    job_option: str = typer.Option(None, "--job", "-j", help="The job (or give it after the workflow)."),
    attempt: int = typer.Option(None, "--attempt", "-a", min=1, help="This attempt (default: the latest)."),
    follow: bool = typer.Option(False, "--follow", "-f", help="Keep printing until the job ends (and its retries)."),
) -> None:
    """Print a job's log, local or remote: 'hflow workflow logs NAME JOB [--attempt N] [-f]'."""
    from .logs import print_log

    if job and job_option:
        raise RequestError(f"give the job once: '{job}' or --job '{job_option}'")
    workflow: str | None = positional
    if positional and name and not job:  # `logs --name wf JOB`: the job came first
        workflow, job = None, positional
    job = job or job_option
    if not job:
        raise RequestError("name the job: hflow workflow logs NAME JOB")
    wf_name = target(workflow, name)
    print_log(open_store(), _existing(wf_name), job, attempt, follow)


@app.command(cls=OneForm)
def result(
    positional: str = NameArgument,
    job: str = typer.Argument(None, metavar="JOB", help="The function node whose result to print."),
    name: str = typer.Option(None, "--name", "-n", help="Workflow name."),
    output: str = typer.Option("repr", "--output", "-o", help="repr or json."),
) -> None:
    """Print a function node's result: 'hflow workflow result NAME JOB [--output json]'."""
    from .result import result_text

    if output not in ("repr", "json"):
        raise RequestError(f"unknown output '{output}' (valid: json, repr)")
    if not job:
        raise RequestError("name the job: hflow workflow result NAME JOB")
    wf_name = target(positional, name)
    store = open_store()
    print(result_text(store, _existing(wf_name), job, output))


@app.command(cls=OneForm)
def cost(
    positional: str = NameArgument,
    name: str = typer.Option(None, "--name", "-n", help="Workflow name."),
    output: Output = typer.Option(Output.table, "--output", "-o", help="table, json or yaml."),
) -> None:
    """The bill: node-hours and allocation units (SUs) per job, per sweep, this run and all runs.

    Batch attempts (Slurm) record what they used when they finish: elapsed time, nodes, CPUs,
    GPUs, memory and Slurm's billing rate (from the partition's TRESBillingWeights);
    with accounting (sacct) also CPU time and peak memory. Retries count.
    """
    from ..render.cost import cost as bill, cost_table

    store = open_store()
    wf_name = _existing(target(positional, name))
    report = bill(store.view(wf_name), store.attempts(wf_name))
    if output is Output.table:
        out().print(cost_table(report))
        if report.unmetered:
            out().print(f"not metered (no batch usage): {', '.join(report.unmetered)}", markup=False)
        return
    payload = report.to_dict()
    sys.stdout.write(json.dumps(payload, indent=2) + "\n" if output is Output.json
                     else yaml.safe_dump(payload, sort_keys=False))


@app.command(cls=OneForm)
def runs(positional: str = NameArgument,
         name: str = typer.Option(None, "--name", "-n", help="Workflow name.")) -> None:
    """List the runs of a workflow: start, duration, state, who started it, counts."""
    from .logs import runs_table

    wf_name = target(positional, name)
    runs_table(open_store(), _existing(wf_name), out())


@app.command(cls=OneForm)
def status(
    positional: str = NameArgument,
    name: str = typer.Option(None, "--name", "-n", help="Workflow name(s)."),
    output: Output = typer.Option(Output.table, "--output", "-o", help="table, json or yaml."),
    group: bool | None = typer.Option(None, "--group/--no-group",
                               help="Table: one row per sweep with counts per state (default when sweeps exist)."),
) -> None:
    """Show the state of every job (readable while a run goes on); a run handed off to
    Slurm (run --detach) is first carried on: what Slurm did is recorded."""
    from .. import detached

    store = open_store()
    names = [_existing(n) for n in _names(target(positional, name))]
    for wf_name in names:
        if detached.handed_off(store, wf_name):
            detached.reconcile(store, wf_name)
    views = [store.view(n) for n in names]
    if output is Output.table:
        for view in views:
            out().print(_sweep_status_table(view, group))
        return
    data = [render.to_json_dict(view) for view in views]
    payload = data[0] if len(data) == 1 else data
    if output is Output.json:
        sys.stdout.write(json.dumps(payload, indent=2) + "\n")
    else:
        sys.stdout.write(yaml.safe_dump(payload, sort_keys=False))


@app.command(cls=OneForm)
def graph(
    positional: str = NameArgument,
    name: str = typer.Option(None, "--name", "-n", help="Workflow name."),
    format: GraphFormat = typer.Option(GraphFormat.svg, "--format", help="svg, dot or mermaid."),
    output: Path = typer.Option(None, "--output", "-o", help="File to write (default NAME.svg/.dot/.mmd)."),
) -> None:
    """Render the workflow graph, nodes coloured by state."""
    name = target(positional, name)
    wf = Workflow(_existing(name), store=open_store())
    suffix = {"svg": ".svg", "dot": ".dot", "mermaid": ".mmd"}[format.value]
    path = wf.graph(output or Path(f"{name}{suffix}"), format=format.value)
    out().print(f"wrote {path}")


@app.command()
def save(
    name: str = typer.Argument(..., help="Workflow name."),
    path: Path = typer.Argument(..., help="Target file: .yaml (with state) or .json."),
) -> None:
    """Export a workflow with its state."""
    Workflow(_existing(name), store=open_store()).save(path)
    out().print(f"wrote {path}")


@app.command(cls=OneForm)
def cancel(positional: str = NameArgument,
           name: str = typer.Option(None, "--name", "-n", help="Workflow name(s).")) -> None:
    """Cancel a run going on in another terminal, or one handed off to Slurm (scancel)."""
    from .. import detached

    store = open_store()
    for wf_name in _names(target(positional, name)):
        if detached.handed_off(store, _existing(wf_name)):
            detached.cancel(store, wf_name)
            out().print(f"canceled [bold]{wf_name}[/] (its Slurm jobs were scancelled)")
        elif Workflow(_existing(wf_name), store=store).cancel():
            out().print(f"cancel requested for [bold]{wf_name}[/]")
        else:
            out().print(f"workflow [bold]{wf_name}[/] is not running")


# -- parameter sweeps (issue 7): `hflow workflow expand`, grouped `status` -------------------


def _sweep_status_table(view: WorkflowView, group: bool | None) -> Table:
    """The status table; with ``group`` (default: when sweeps exist) one row per sweep."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    from ..labels import format_duration
    from ..render.sweeps import group_rows
    from ..render.table import STATE_STYLES

    sweeps = {name: job.spec.sweep for name, job in view.jobs.items() if job.spec.sweep}
    if not (sweeps if group is None else group):
        return render.status_table(view)
    rows = group_rows(render.status_rows(view), sweeps)
    counts = ", ".join(f"{n} {state}" for state, n in view.counts().items())
    table = Table(title=f"{view.name}: {state_text(view)}" + (f" ({counts})" if counts else ""),
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
    cost: bool = typer.Option(False, "--cost", help="Also ask each Slurm host its billing weights and print the "
                              "most each job can be charged (rate x time limit) and the total."),
) -> None:
    """Dry run: validate FILE and print its jobs with every sweep expanded; runs and stores nothing."""
    from ..load import load
    from ..render.sweeps import expansion_rows
    from ..spec import to_document

    spec = load(filename)
    if cost:
        _print_estimate(spec, output)
        return
    if output is Output.yaml:
        sys.stdout.write(yaml.safe_dump(to_document(spec), sort_keys=False, allow_unicode=True))
        return
    rows = expansion_rows(spec.jobs)
    if output is Output.json:
        sys.stdout.write(json.dumps({"name": spec.name, "jobs": rows,
                                     "dependencies": [list(edge) for edge in spec.edges]}, indent=2) + "\n")
        return
    from rich import box
    from rich.table import Table

    table = Table(title=f"{spec.name}: {len(rows)} jobs, {len(spec.edges)} dependencies", box=box.SIMPLE_HEAD)
    columns = [c for c in ("job", "sweep", "parameters", "output_dir", "kind", "host", "command")
               if c in ("job", "command") or any(row[c] for row in rows)]
    for column in columns:
        table.add_column(column.replace("_", " "), overflow="fold", no_wrap=column == "job",
                         min_width=max((len(r["job"]) for r in rows), default=3) if column == "job" else None)
    for row in rows:
        table.add_row(*(str(row[c]) for c in columns))
    out().print(table)


def _print_estimate(spec: WorkflowSpec, output: Output) -> None:
    """``expand --cost``: the most each billed job can be charged, and the total (one
    ``scontrol show partition`` per Slurm host; other kinds bill nothing)."""
    import asyncio

    from ..hostpool import HostPool

    async def ask() -> dict[str, float | None]:
        pool = HostPool(lambda: None)
        try:
            return await pool.estimates(spec, list(spec.jobs))
        finally:
            await pool.close()

    found = asyncio.run(ask())
    bounded = [units for units in found.values() if units is not None]
    total = None if len(bounded) < len(found) else sum(bounded)
    budget = spec.options.get("budget")
    if output is not Output.table:
        payload = {"name": spec.name, "jobs": found, "max_units": total, "budget": budget}
        sys.stdout.write(json.dumps(payload, indent=2) + "\n" if output is Output.json
                         else yaml.safe_dump(payload, sort_keys=False))
        return
    from rich.table import Table

    table = Table(title=f"{spec.name}: the most each job can be charged (allocation units)", title_justify="left")
    table.add_column("job")
    table.add_column("max units", justify="right")
    for job, units in found.items():
        table.add_row(job, "unbounded (no time limit)" if units is None else f"{units:.4f}")
    table.add_row("total", "unbounded" if total is None else f"{total:.4f}", style="bold")
    out().print(table)
    if not found:
        out().print("no job of a billing kind (slurm): nothing is charged", markup=False)
    if budget is not None and total is not None and total > float(budget):
        out().print(f"budget {budget} units: jobs that would exceed it are not submitted", markup=False)
