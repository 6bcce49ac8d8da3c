"""``hflow service ...``: start, stop and query the REST service and web UI."""

from __future__ import annotations

import time
import webbrowser
from pathlib import Path

import httpx
import typer
from rich.console import Console

from .. import config
from ..service import daemon, tokens
from . import services

app = typer.Typer(no_args_is_help=True)
out = Console(highlight=False)


@app.command()
def start(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (non-loopback needs a configured token)."),
    port: int = typer.Option(8000, "--port", "-p", help="Port (0: any free port)."),
    reload: bool = typer.Option(False, "--reload", help="Restart on code changes (development; runs in the foreground)."),
    foreground: bool = typer.Option(False, "--foreground", "-f", help="Serve in this terminal until Ctrl-C."),
    everywhere: bool = typer.Option(False, "-c", help="cloudmesh-cc's -c: listen on 0.0.0.0:8000 (needs a configured token)."),
    services_file: Path = typer.Option(None, "--services", help="Publish the services of this services.yaml first."),
) -> None:
    """Start the service (in the background unless --foreground or --reload)."""
    if everywhere:
        host, port = "0.0.0.0", 8000  # asked for: refused without a configured token
    home = config.home()
    if services_file is not None:
        services.load_services(services_file)
    if foreground or reload:
        existing = daemon.read_record(home)
        if existing:
            raise daemon.ServiceError(f"a service already runs at {existing.url} (pid {existing.pid})")
        daemon.serve(home, host, port, reload=reload)
        return
    record = daemon.start_background(home, host, port)
    out.print(f"service running at [bold]{record.url}[/] (pid {record.pid})")
    out.print(f"web UI: {record.url}/  API docs: {record.url}/docs  token: 'hflow service token'")


@app.command()
def stop() -> None:
    """Stop the service (runs it started go on: they are detached coordinators)."""
    record = daemon.stop(config.home())
    if record is None:
        out.print("no service is running")
        return
    out.print(f"stopped the service at {record.url} (pid {record.pid})")


@app.command()
def status() -> None:
    """Show whether the service runs, where, and whether it answers; exit 1 if not running."""
    home = config.home()
    record = daemon.read_record(home)
    if record is None:
        out.print("not running")
        raise typer.Exit(1)
    token = tokens.read_token(home) or ""
    try:
        info = httpx.get(f"{record.url}/api/v1/service", headers={"Authorization": f"Bearer {token}"}, timeout=5)
        info.raise_for_status()
    except httpx.HTTPError as exc:
        out.print(f"running at {record.url} (pid {record.pid}) but not answering: {exc}")
        raise typer.Exit(1) from None
    data = info.json()
    uptime = time.time() - data["started"]
    out.print(f"running at [bold]{record.url}[/] (pid {record.pid}), version {data['version']}, "
              f"up {uptime:.0f} s, {data['workflows']} workflows, home {data['home']}")


@app.command()
def doc(open_browser: bool = typer.Option(False, "--open", help="Open the docs in a web browser.")) -> None:
    """Print the URL of the OpenAPI docs (log in with the token first)."""
    record = daemon.read_record(config.home())
    base = record.url if record else "http://127.0.0.1:8000"
    out.print(f"{base}/docs")
    out.print(f"OpenAPI document: {base}/openapi.json (send 'Authorization: Bearer TOKEN')")
    if record is None:
        out.print("[yellow]the service is not running: 'hflow service start'[/]")
    if open_browser:
        webbrowser.open(f"{base}/login?next=/docs")


app.command()(services.publish)
app.command()(services.unpublish)
app.command("services")(services.services)
app.command()(services.call)
app.add_typer(services.token_app, name="token")
