"""Sub-commands whose module is imported only when the command line names them.

``hflow workflow run`` must not pay for importing the HTTP client, the service or the SSH
host checks; a group built by :func:`lazy_group` lists its lazy sub-commands by name and
imports one the first time it is resolved (help output imports them all, to show their
help). A sub-command whose own module is not installed is left out, as if it did not
exist; any other import error propagates.

Typer converts every command of a sub-app (signature, type hints, options) when it builds
the sub-app's group: 14 for ``hflow workflow``, about 4 ms of a run that needs one. A
sub-app whose group is a :class:`LazyGroup` has its commands converted one by one, when
first resolved.
"""

from __future__ import annotations

import copy
import functools
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

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
        group = _group(sub)  # a group, as add_typer mounts it (no completion options)
        if self.command is not None:
            return group.get_command(click.Context(group), self.command)  # its own name and help, as under the group
        group.name = self.name
        group.help = self.help
        return group


class LazyGroup(TyperGroup):
    """A Typer group with :attr:`lazy` sub-commands besides the ones defined eagerly, and
    :attr:`pending` ones: Typer's registrations, converted when first resolved."""

    lazy: ClassVar[dict[str, LazyCommand]] = {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: name -> conversion, in registration order (kept once converted: the order of help)
        self.pending: dict[str, Callable[[], click.Command]] = {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        later = list(dict.fromkeys([*self.pending, *self.lazy]))
        return [*(name for name in super().list_commands(ctx) if name not in later), *later]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            return command
        if cmd_name in self.pending:
            command = self.pending[cmd_name]()
        elif cmd_name in self.lazy:
            command = self.lazy[cmd_name].load()
        if command is not None:
            self.commands[cmd_name] = command  # resolve once
        return command


def _group(sub: typer.Typer) -> TyperGroup:
    """The click group of a sub-app; a :class:`LazyGroup` gets its commands as
    :attr:`LazyGroup.pending` conversions instead of all converted now."""
    cls = sub.info.cls
    if not (isinstance(cls, type) and issubclass(cls, LazyGroup)):
        return typer.main.get_group(sub)
    bare = copy.copy(sub)
    bare.registered_commands = []
    group = typer.main.get_group(bare)
    assert isinstance(group, LazyGroup)
    for info in sub.registered_commands:
        assert info.callback is not None
        name = info.name or typer.main.get_command_name(info.callback.__name__)
        group.pending[name] = functools.partial(typer.main.get_command_from_info, info,
                                                pretty_exceptions_short=sub.pretty_exceptions_short,
                                                rich_markup_mode=sub.rich_markup_mode)
    return group


def lazy_group(*commands: LazyCommand) -> type[LazyGroup]:
    """A :class:`LazyGroup` subclass with these lazy sub-commands (pass it as ``cls=``)."""
    return type("LazyGroup", (LazyGroup,), {"lazy": {command.name: command for command in commands}})
