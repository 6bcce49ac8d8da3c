"""``hflow workflow service ...``: the workflow verbs against a running service, over HTTP.

The URL defaults to the service recorded in ``$HYBRIDFLOW_HOME`` (else
``http://127.0.0.1:8000``; ``--url`` or ``$HYBRIDFLOW_SERVICE_URL`` override it) and the
token to the one in ``$HYBRIDFLOW_HOME`` (``--token`` or ``$HYBRIDFLOW_SERVICE_TOKEN``).
The service's one-line errors are printed as they are; an invalid workflow exits 2.
"""

from __future__ import annotations

import io
import json
import os
import sys
import tarfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Any

import httpx
import typer
import yaml
from rich.console import Console
from rich.table import Table

from .. import config
from ..coordinator import ExitCode
from ..errors import HybridflowError, NotFoundError, SpecError
from ..names import split_list
from ..service import daemon, tokens
from .forms import DEFAULT, OneForm, target

app = typer.Typer(no_args_is_help=True)
out = Console(highlight=False)

URL_ENV = "HYBRIDFLOW_SERVICE_URL"
MAX_BUNDLE = 16 << 20


class Output(StrEnum):
    table = "table"
    json = "json"
    yaml = "yaml"


class ServiceClientError(HybridflowError):
    """The service refused a request or could not be reached."""


@contextmanager
def reaching(base: str) -> Iterator[None]:
    """Turn a failure to reach the service at ``base`` (httpx's errors, a client's
    TimeoutError) into a one-line :class:`ServiceClientError`."""
    try:
        yield
    except httpx.ConnectError:
        raise ServiceClientError(f"no service answers at {base} (start one with 'hflow service start')") from None
    except (httpx.HTTPError, TimeoutError) as exc:
        raise ServiceClientError(f"{base}: {exc}") from None


def _url(url: str | None) -> str:
    if url:
        return url.rstrip("/")
    if os.environ.get(URL_ENV):
        return os.environ[URL_ENV].rstrip("/")
    record = daemon.read_record(config.home())
    return record.url if record else "http://127.0.0.1:8000"


class Client:
    """A thin httpx client that turns error answers into one-line exceptions."""

    def __init__(self, url: str | None, token: str | None) -> None:
        self.base = _url(url)
        secret = token or tokens.read_token(config.home())
        if not secret:
            raise ServiceClientError(f"no service token in {config.home()}: run 'hflow service token' there, or pass --token")
        self.http = httpx.Client(base_url=self.base, headers={"Authorization": f"Bearer {secret}"}, timeout=60)

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        with reaching(self.base):
            response = self.http.request(method, f"/api/v1{path}", **kwargs)
        if response.is_success:
            return response
        try:
            detail = response.json().get("detail", response.text)
        except ValueError:
            detail = response.text.strip() or response.reason_phrase
        if response.status_code == 422:
            raise SpecError(str(detail))
        if response.status_code == 404:
            raise NotFoundError(str(detail))
        raise ServiceClientError(f"{detail} (HTTP {response.status_code})")


UrlOption = typer.Option(None, "--url", help="Service URL (default: the running service of $HYBRIDFLOW_HOME).")
TokenOption = typer.Option(None, "--token", envvar=tokens.TOKEN_ENV, help="Token (default: $HYBRIDFLOW_HOME's).")
NameArgument = typer.Argument(None, hidden=True, metavar="NAME", show_default=False)
#: the keys of a job the service takes by name; any other KEY=VALUE goes into its ``args``
JOB_KEYS = ("kind", "exec", "script", "host", "user", "label", "venv", "shape", "style")
OutputOption = typer.Option(Output.table, "--output", "-o", help="table, json or yaml.")


def _bundle(path: Path) -> bytes:
    """The YAML's folder as a tar.gz, so that its scripts travel with it."""
    buffer = io.BytesIO()
    total = 0
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for item in sorted(path.parent.rglob("*")):
            if item.is_symlink() or not item.is_file() or any(p.startswith(".") for p in item.relative_to(path.parent).parts):
                continue
            total += item.stat().st_size
            if total > MAX_BUNDLE:
                raise ServiceClientError(f"{path.parent} is over {MAX_BUNDLE >> 20} MiB: pack what the workflow needs yourself")
            archive.add(item, arcname=item.relative_to(path.parent).as_posix(), recursive=False)
    return buffer.getvalue()


def _width() -> str:
    return str(max(40, min(400, out.width)))


def _add_jobs(client: Client, name: str, job: str, args: list[str]) -> None:
    """``add --job JOB KEY=VALUE...``: POST the jobs, creating the workflow if need be."""
    fields: dict[str, Any] = {"name": job, "args": {}}
    for arg in args:
        key, sep, value = arg.partition("=")
        if not sep or not key:
            raise SpecError(f"argument {arg!r} is not KEY=VALUE")
        if key in JOB_KEYS:
            fields[key] = value
        else:
            fields["args"][key] = value
    try:
        added = client.request("POST", f"/workflows/{name}/jobs", json=fields).json()
    except NotFoundError:
        empty = f"name: {name}\nworkflow:\n  nodes: {{}}\n".encode()
        client.request("POST", "/workflows", content=empty, params={"filename": f"{name}.yaml", "name": name},
                       headers={"Content-Type": "application/yaml"})
        added = client.request("POST", f"/workflows/{name}/jobs", json=fields).json()
    out.print(f"workflow [bold]{name}[/]: added {', '.join(added['added'])} on {client.base}")


@app.command(cls=OneForm)
def add(
    args: list[str] = typer.Argument(None, metavar="FILE|ARGS",
                                     help="Workflow YAML (or a .zip/.tar.gz with its scripts); with --job, KEY=VALUE fields."),
    name: str = typer.Option(None, "--name", "-n", help="Workflow name (default: the YAML's; with --job, 'workflow')."),
    job: str = typer.Option(None, "--job", "-j", help="Add job(s) such as 'fetch' or 'train[1-3]' with KEY=VALUE fields."),
    filename: Path = typer.Option(None, "--filename", "-f", help="Workflow YAML file (instead of FILE)."),
    replace: bool = typer.Option(False, "--replace", help="Replace a stored workflow of that name."),
    bundle: bool = typer.Option(False, "--bundle", help="Send the YAML's folder (its scripts) along as an archive."),
    url: str = UrlOption,
    token: str = TokenOption,
) -> None:
    """Upload a workflow to the service: 'hflow workflow service add [--name NAME] FILE'.

    'hflow workflow service add [--name NAME] --job JOB KEY=VALUE...' adds jobs.
    """
    args = list(args or [])
    if job:
        if filename is not None:
            raise SpecError("--filename uploads a whole workflow: add jobs with --job JOB KEY=VALUE..., without it")
        _add_jobs(Client(url, token), name or DEFAULT, job, args)
        return
    if filename is None:
        if len(args) != 1:
            raise SpecError("give one workflow file: hflow workflow service add [--name NAME] FILE")
        filename = Path(args[0])
    elif args:
        raise SpecError(f"give the file once: '{args[0]}' or --filename '{filename}'")
    if not filename.is_file():
        raise SpecError(f"no file '{filename}'")
    file = filename
    client = Client(url, token)
    is_yaml = file.suffix.lower() in (".yaml", ".yml")
    params: dict[str, str] = {"filename": file.name}
    if name:
        params["name"] = name
    if replace:
        params["replace"] = "true"
    if is_yaml and bundle:
        data, kind = _bundle(file), "application/gzip"
        params["file"] = file.name
    else:
        data, kind = file.read_bytes(), "application/yaml" if is_yaml else "application/octet-stream"
    try:
        wf = client.request("POST", "/workflows", content=data, params=params, headers={"Content-Type": kind}).json()
    except SpecError as exc:
        hint = " (add --bundle to send the workflow's scripts)" if is_yaml and not bundle and "does not exist" in str(exc) else ""
        raise SpecError(f"{exc}{hint}") from None
    for line in wf.get("warnings") or []:
        hint = " (add --bundle to send the workflow's scripts)" if is_yaml and not bundle and "does not exist" in line else ""
        sys.stderr.write(f"warning: {' '.join(str(line).split())}{hint}\n")
    out.print(f"added workflow [bold]{wf['name']}[/] ({wf['job_count']} jobs) to {client.base}")


@app.command("list", cls=OneForm)
def list_(positional: str = NameArgument,
          name: str = typer.Option(None, "--name", "-n", help="Show this workflow's jobs."),
          job: str = typer.Option(None, "--job", "-j", help="With --name: show these jobs in full."),
          url: str = UrlOption, token: str = TokenOption) -> None:
    """List the service's workflows with their state and job counts; with --name, its jobs."""
    client = Client(url, token)
    if positional or name or job:
        wf_name = target(positional, name)
        for one in split_list(wf_name):
            if job:
                for job_name in split_list(job):
                    sys.stdout.write(json.dumps(client.request("GET", f"/workflows/{one}/jobs/{job_name}").json(),
                                                indent=2) + "\n")
            else:
                text = client.request("GET", f"/workflows/{one}/status", params={"format": "table", "width": _width()}).text
                sys.stdout.write(text)
        return
    table = Table("workflow", "state", "jobs", "states")
    for wf in client.request("GET", "/workflows").json():
        state = f"{wf['state']} (pid {wf['pid']})" if wf["running"] else wf["state"]
        counts = ", ".join(f"{s} {n}" for s, n in sorted(wf["counts"].items()))
        table.add_row(wf["name"], state, str(wf["job_count"]), counts)
    out.print(table)


@app.command(cls=OneForm)
def run(
    positional: str = NameArgument,
    name: str = typer.Option(None, "--name", "-n", help="Workflow name."),
    sequential: bool = typer.Option(False, "--sequential", help="One job at a time, in topological order."),
    rerun_failed: bool = typer.Option(False, "--rerun-failed", help="Run only failed/skipped/canceled jobs and their dependents."),
    from_job: str = typer.Option(None, "--from", help="Run these job(s) and everything after them again."),
    force: bool = typer.Option(False, "--force", help="Run every job again, even unchanged successful ones."),
    wait: bool = typer.Option(False, "--wait", "-w", help="Wait for the end; exit 1 if a job failed, 130 if canceled."),
    url: str = UrlOption,
    token: str = TokenOption,
) -> None:
    """Start a run on the service (a coordinator that outlives the service), with the
    options of 'hflow workflow run'."""
    name = target(positional, name)
    if rerun_failed and force:
        raise SpecError("use only one of --rerun-failed, --from and --force")
    options = {"sequential": sequential, "rerun": "force" if force else "failed" if rerun_failed else "default",
               "from_jobs": split_list(from_job) if from_job else []}
    client = Client(url, token)
    started = client.request("POST", f"/workflows/{name}/run", json=options).json()
    out.print(f"workflow [bold]{name}[/]: {'running' if started['running'] else 'ran'} (coordinator pid {started['pid']})")
    if not wait:
        return
    fresh = {"fresh": "true"}
    while client.request("GET", f"/workflows/{name}", params=fresh).json()["running"]:
        time.sleep(1.0)
    table = {"format": "table", "width": _width(), **fresh}
    sys.stdout.write(client.request("GET", f"/workflows/{name}/status", params=table).text)
    final = client.request("GET", f"/workflows/{name}", params=fresh).json()["state"]
    if final == "canceled":
        raise typer.Exit(ExitCode.CANCELED)
    if final != "done":
        raise typer.Exit(ExitCode.FAILED)


@app.command(cls=OneForm)
def delete(positional: str = NameArgument,
           name: str = typer.Option(None, "--name", "-n", help="Workflow name(s), e.g. 'a,b[1-2]'."),
           job: str = typer.Option(None, "--job", "-j", help="Delete only these job(s)."),
           url: str = UrlOption, token: str = TokenOption) -> None:
    """Delete workflows on the service, or jobs of them (refused while they run)."""
    names = split_list(target(positional, name))
    client = Client(url, token)
    for wf in names:
        if job:
            for job_name in split_list(job):
                client.request("DELETE", f"/workflows/{wf}/jobs/{job_name}")
            out.print(f"workflow [bold]{wf}[/]: deleted {job}")
            continue
        client.request("DELETE", f"/workflows/{wf}")
        out.print(f"deleted workflow [bold]{wf}[/]")


@app.command(cls=OneForm)
def status(
    positional: str = NameArgument,
    name: str = typer.Option(None, "--name", "-n", help="Workflow name."),
    output: Output = OutputOption,
    url: str = UrlOption,
    token: str = TokenOption,
) -> None:
    """Show the state of every job, as 'hflow workflow status' does."""
    name = target(positional, name)
    client = Client(url, token)
    text = client.request("GET", f"/workflows/{name}/status", params={"format": output.value, "width": _width()}).text
    if output is Output.json:
        text = json.dumps(json.loads(text), indent=2) + "\n"
    elif output is Output.yaml:
        text = yaml.safe_dump(yaml.safe_load(text), sort_keys=False)
    sys.stdout.write(text)


@app.command(cls=OneForm)
def cancel(positional: str = NameArgument, name: str = typer.Option(None, "--name", "-n", help="Workflow name."),
           url: str = UrlOption, token: str = TokenOption) -> None:
    """Cancel a run going on (started by the service or the CLI)."""
    name = target(positional, name)
    answer = Client(url, token).request("POST", f"/workflows/{name}/cancel").json()
    out.print(f"cancel requested for [bold]{name}[/]" if answer["running"] else f"workflow [bold]{name}[/] is not running")
