"""Sub-commands whose module is imported only when the command line names them.

``hflow workflow run`` must not pay for importing the HTTP client, the service or the SSH
host checks; a group built by :func:`lazy_group` lists its lazy sub-commands by name and
imports one the first time it is resolved (help output imports them all, to show their
help). A sub-command whose own module is not installed is left out, as if it did not
exist; any other import error propagates.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import ClassVar

import typer
import typer.main
from typer import _click as click
from typer.core import TyperGroup


@dataclass(frozen=True, slots=True)
class LazyCommand:
    """A sub-app (a :class:`typer.Typer` at ``module:attribute``) mounted as ``name``;
    with ``command``, that one command of the sub-app instead (``hflow start`` is
    ``hflow service start``)."""

    module: str
    attribute: str
    name: str
    help: str
    command: str | None = None

    def load(self) -> click.Command | None:
        """The click command of the sub-app; None when its module is not installed."""
        try:
            module = importlib.import_module(self.module)
        except ModuleNotFoundError as exc:
            if exc.name != self.module:
                raise
            return None
        sub: typer.Typer = getattr(module, self.attribute)
        group = typer.main.get_group(sub)  # a group, as add_typer mounts it (no completion options)
        if self.command is not None:
            return group.commands.get(self.command)  # its own name and help, as under the group
        group.name = self.name
        group.help = self.help
        return group


class LazyGroup(TyperGroup):
    """A Typer group with :attr:`lazy` sub-commands besides the ones defined eagerly."""

    lazy: ClassVar[dict[str, LazyCommand]] = {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        eager = super().list_commands(ctx)
        return [*eager, *(name for name in self.lazy if name not in eager)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is not None or cmd_name not in self.lazy:
            return command
        command = self.lazy[cmd_name].load()
        if command is not None:
            self.commands[cmd_name] = command  # resolve once
        return command


def lazy_group(*commands: LazyCommand) -> type[LazyGroup]:
    """A :class:`LazyGroup` subclass with these lazy sub-commands (pass it as ``cls=``)."""
    return type("LazyGroup", (LazyGroup,), {"lazy": {command.name: command for command in commands}})
