"""cloudmesh-cc's command forms beside hybridflow's own (issue 12).

cloudmesh-cc names the workflow with ``--name=NAME`` (``cms cc workflow status
--name=wf``); hybridflow's commands take it as their first argument (``hflow workflow
status wf``). Both work: each command's help shows the ``--name`` form
(:class:`OneForm` leaves the positional NAME out of the usage line and the argument list)
and :func:`target` takes the name from either, refusing it twice.
"""

from __future__ import annotations

from typer import _click as click
from typer.core import TyperCommand

from ..coordinator import RequestError

#: the name cloudmesh-cc uses when none is given (``cms set workflow=NAME`` aside)
DEFAULT = "workflow"


class OneForm(TyperCommand):
    """A command whose usage line leaves out its hidden (positional) parameters."""

    def collect_usage_pieces(self, ctx: click.Context) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if not getattr(param, "hidden", False):
                pieces.extend(param.get_usage_pieces(ctx))
        return pieces


def target(positional: str | None, option: str | None, *, default: str | None = None) -> str:
    """The workflow name(s) of a command: NAME or ``--name NAME`` (one of them), else
    ``default``; none at all is a usage error."""
    if positional and option:
        raise RequestError(f"the workflow is given twice ('{positional}' and --name '{option}'): give --name only")
    name = positional or option or default
    if not name:
        raise RequestError("name the workflow with --name NAME")
    return name
