"""``hflow service publish|call|unpublish|services`` and ``hflow service token ...``.

Publishing writes the services database of ``$HYBRIDFLOW_HOME`` (the running service
serves a new service at once); calling goes through the REST API with
:class:`hybridflow.client.Client`, to the service recorded in the home unless ``--url``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import typer
import yaml
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .. import config
from ..durations import parse_duration
from ..errors import SpecError
from ..service import daemon, tokens

out = Console(highlight=False)
token_app = typer.Typer(no_args_is_help=False, invoke_without_command=True,
                        help="Show the admin token, or create, list and revoke call tokens.")

def _db() -> Any:
    from ..service.servicedb import ServiceDB

    return ServiceDB(config.home())


def _value(text: str) -> Any:
    """A ``key=value`` value: YAML/JSON (7, 2.5, true, [1, 2], {name: x}), else the text."""
    try:
        return yaml.safe_load(text) if text.strip() else ""
    except yaml.YAMLError:
        return text


def parse_assignments(words: list[str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for word in words:
        key, sep, text = word.partition("=")
        if not sep or not key.isidentifier():
            raise SpecError(f"'{word}' is not KEY=VALUE (e.g. days=7 or region='{{name: SoCal}}')")
        values[key] = _value(text)
    return values


def publish(
    target: str = typer.Argument(..., help="module:function, or a workflow file (wf.yaml)."),
    name: str = typer.Option(None, "--name", "-n", help="Service name (default: the function's name or file's stem)."),
    host: str = typer.Option(None, "--host", help="Host (a hosts: entry) the calls run on."),
    kind: str = typer.Option(None, "--kind", help="Job kind: local, ssh, slurm..."),
    time_limit: str = typer.Option(None, "--time", help="Time limit of each call (30m, 1h)."),
    partition: str = typer.Option(None, "--partition", help="Batch partition."),
    gres: str = typer.Option(None, "--gres", help="Generic resources (gpu:1)."),
    python: str = typer.Option(None, "--python", help="Interpreter on the host."),
    option: list[str] = typer.Option([], "--option", "-o", help="More host options, KEY=VALUE."),  # noqa: B006
) -> None:
    """Publish a function or a workflow as a REST service (POST /api/v1/services/NAME/calls)."""
    from ..service.publish import function_row, workflow_row

    file = Path(target)
    if file.suffix in (".yaml", ".yml") or file.is_file():
        if not file.is_file():
            raise SpecError(f"no workflow file '{target}'")
        row = workflow_row(name, file)
    else:
        given = {"host": host, "kind": kind, "time": time_limit, "partition": partition, "gres": gres, "python": python}
        options = {key: value for key, value in given.items() if value is not None}
        options.update(parse_assignments(option))
        row = function_row(name, target, options, str(Path.cwd()))
    db = _db()
    db.put_service(row)
    record = daemon.read_record(config.home())
    url = record.url if record else "http://127.0.0.1:8000"
    out.print(f"published [bold]{escape(row.name)}[/] ({row.kind} {escape(row.target)}): "
              f"POST {url}/api/v1/services/{escape(row.name)}/calls")


def unpublish(name: str = typer.Argument(..., help="Service name.")) -> None:
    """Stop serving a service (its calls stay readable until they expire)."""
    if not _db().remove_service(name):
        raise SpecError(f"no published service '{name}'")
    out.print(f"unpublished {escape(name)}")


def services() -> None:
    """List the published services."""
    table = Table("service", "kind", "target", "options", box=None)
    for row in _db().services():
        table.add_row(row.name, row.kind, row.target, json.dumps(row.options) if row.options else "")
    out.print(table)


def call(
    name: str = typer.Argument(..., help="Service name."),
    values: list[str] = typer.Argument(None, help="Parameters, KEY=VALUE (VALUE is YAML: 7, [1,2], {name: x})."),
    url: str = typer.Option(None, "--url", help="The service (default: the one running for this home)."),
    token: str = typer.Option(None, "--token", help="Token (default: $HYBRIDFLOW_SERVICE_TOKEN or the home's)."),
    no_wait: bool = typer.Option(False, "--no-wait", help="Print the call's id and return."),
    timeout: float = typer.Option(3600.0, "--timeout", help="Seconds to wait for the result."),
) -> None:
    """Call a published service and print its value as JSON."""
    from ..client import Client
    from .workflow_service import reaching

    kwargs = parse_assignments(values or [])
    home = config.home()
    if url is None:
        record = daemon.read_record(home)
        if record is None:
            raise SpecError("no service is running for this home: 'hflow service start', or pass --url")
        url = record.url
    with Client(url, token, timeout=timeout) as client, reaching(url):  # no token: the home's
        if no_wait:
            print(client.submit(name, **kwargs)["id"])
            return
        value = client.call(name, **kwargs)
    print(json.dumps(value, indent=2, default=repr))


@token_app.callback()
def token(ctx: typer.Context,
          rotate: bool = typer.Option(False, "--rotate", help="Replace the admin token (logs every client out).")) -> None:
    """Show the service (admin) token (created on first use, mode 0600 in $HYBRIDFLOW_HOME)."""
    if ctx.invoked_subcommand is not None:
        return
    home = config.home()
    value = tokens.create_token(home, rotate=rotate)
    print(value)
    if rotate and daemon.read_record(home):
        Console(stderr=True).print("[yellow]restart the service ('hflow service stop' and 'start') to use the new token[/]")


@token_app.command("create")
def token_create(
    service: str = typer.Option(..., "--service", "-s", help="The one service the token may call."),
    expires: str = typer.Option(None, "--expires", help="Lifetime (7d, 12h); default: until revoked."),
) -> None:
    """Create a call token: it may call SERVICE and read its own calls, nothing else."""
    from ..service import scopes

    lifetime = None if expires is None else parse_duration(expires, field="--expires")
    secret, row = scopes.create(_db(), service, lifetime)
    print(secret)
    until = "until revoked" if row.expires is None else f"until {time.strftime('%Y-%m-%d %H:%M', time.localtime(row.expires))}"
    Console(stderr=True, highlight=False).print(f"call token {row.id} for service {escape(service)}, valid {until} "
                                                "(shown once; stored hashed)")


@token_app.command("list")
def token_list() -> None:
    """List call tokens (their ids, never their secrets)."""
    table = Table("id", "service", "created", "expires", "state", box=None)
    now = time.time()
    for row in _db().tokens():
        state = "revoked" if row.revoked else "expired" if not row.valid(now) else "valid"
        expires = "-" if row.expires is None else time.strftime("%Y-%m-%d %H:%M", time.localtime(row.expires))
        table.add_row(row.id, row.service, time.strftime("%Y-%m-%d %H:%M", time.localtime(row.created)), expires, state)
    out.print(table)


@token_app.command("revoke")
def token_revoke(token_id: str = typer.Argument(..., help="The token's id (from 'token list').")) -> None:
    """Revoke a call token: it is refused from now on."""
    if not _db().revoke_token(token_id):
        raise SpecError(f"no valid call token '{token_id}' ('hflow service token list')")
    out.print(f"revoked call token {escape(token_id)}")


def load_services(path: Path) -> None:
    """Publish the services of a services.yaml (``hflow service start --services``)."""
    from ..service.publish import load_file

    names = load_file(_db(), path)
    out.print(f"published {len(names)} services from {escape(str(path))}: {escape(', '.join(names)) or 'none'}")
