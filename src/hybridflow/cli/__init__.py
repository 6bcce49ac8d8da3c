"""The ``hflow`` command line: one Typer sub-app per noun.

Errors of hybridflow print as one line on stderr, never a traceback: exit code 2 for an
invalid workflow description, 1 for other errors.
"""

from __future__ import annotations

import importlib
import logging
import sys

import typer
from rich.console import Console
from rich.markup import escape

from ..errors import HybridflowError, SpecError

app = typer.Typer(
    name="hflow",
    help="hybridflow: describe a workflow of jobs once, run it across local, SSH and Slurm hosts, watch it live.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

#: sub-apps mounted when their module is present: (module, attribute, name, help)
SUBAPPS = [
    ("hybridflow.cli.workflow", "app", "workflow", "Add, run, watch, render and cancel workflows."),
    ("hybridflow.cli.host", "app", "host", "List and check the hosts jobs run on."),
    ("hybridflow.cli.service", "app", "service", "Start, stop and query the REST service and web UI."),
]

for _module, _attr, _name, _help in SUBAPPS:
    try:
        _sub = getattr(importlib.import_module(_module), _attr)
    except ModuleNotFoundError as _exc:
        if _exc.name != _module:
            raise
        continue
    app.add_typer(_sub, name=_name, help=_help)

err = Console(stderr=True, highlight=False, soft_wrap=True)


@app.callback()
def _root(verbose: bool = typer.Option(False, "--verbose", "-v", help="Log what the engine does.")) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def main() -> None:
    """Entry point of ``hflow``: hybridflow's errors become one line and an exit code."""
    try:
        app()
    except SpecError as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}")
        sys.exit(2)
    except HybridflowError as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}")
        sys.exit(1)
