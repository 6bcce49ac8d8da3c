"""The ``hflow`` command line: one Typer sub-app per noun, imported when named.

Errors of hybridflow print as one line on stderr, never a traceback, with the exit code
of :class:`~hybridflow.coordinator.ExitCode`: 2 for an invalid workflow description or
request, 75 when another coordinator runs the workflow, 1 for other errors. A misused
command line (an unknown option, a missing value...) is one line too, exit 2.

``hflow start|stop|status|doc`` are ``hflow service start|stop|status|doc`` (cloudmesh-cc's
``cms cc start`` and so on).
"""

from __future__ import annotations

import gc
import logging
import sys

import typer

from ..coordinator import exit_code_for
from ..errors import HybridflowError
from .lazy import LazyCommand, lazy_group

#: sub-apps, each imported only when the command line names it (or asks for help)
SUBAPPS = (
    LazyCommand("hybridflow.cli.workflow", "app", "workflow", "Add, run, watch, render and cancel workflows."),
    LazyCommand("hybridflow.cli.host", "app", "host", "List and check the hosts jobs run on."),
    LazyCommand("hybridflow.cli.service", "app", "service", "Start, stop and query the REST service and web UI."),
    *(LazyCommand("hybridflow.cli.service", "app", verb, f"Same as 'hflow service {verb}'.", command=verb)
      for verb in ("start", "stop", "status", "doc")),
)

app = typer.Typer(
    name="hflow",
    help="hybridflow: describe a workflow of jobs once, run it across local, SSH and Slurm hosts, watch it live.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    cls=lazy_group(*SUBAPPS),
)


def _error(text: str) -> None:
    """One line on stderr: ``error: TEXT`` (red on a terminal; rich imported only here)."""
    from rich.console import Console
    from rich.markup import escape

    Console(stderr=True, highlight=False, soft_wrap=True).print(f"[red]error:[/red] {escape(_one_line(text))}")


@app.callback()
def _root(verbose: bool = typer.Option(False, "--verbose", "-v", help="Log what the engine does.")) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def _one_line(text: str) -> str:
    return " ".join(text.split())


def main() -> None:
    """Entry point of ``hflow``: hybridflow's errors and a misused command line become one
    line on stderr and an exit code.

    The objects of the modules imported so far live as long as the process, so they are
    moved out of the garbage collector's way (``gc.freeze``): no collection, including
    the one at exit, walks them again: about 17 ms of a 1-job run's 0.19 s (paired runs).
    """
    from typer import _click as click

    gc.freeze()
    try:
        code = app(prog_name="hflow", standalone_mode=False)
    except HybridflowError as exc:
        _error(str(exc))
        sys.exit(exit_code_for(exc))
    except click.exceptions.NoArgsIsHelpError as exc:  # `hflow workflow`: its help, as before
        assert exc.ctx is not None
        click.echo(exc.ctx.get_help(), err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.ClickException as exc:
        ctx = getattr(exc, "ctx", None)
        where = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        _error(exc.format_message() + where)
        sys.exit(exc.exit_code)
    except typer.Abort:
        sys.stderr.write("aborted\n")
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)
