"""cloudmesh-cc's REST routes (``/workflows``, ``/workflow/...``) over the same store and runner.

A thin router so that a script written against cloudmesh-cc's service works after adding
the token header (the app's auth middleware guards these routes like every other one).
Answers keep cloudmesh-cc's shapes (``{"workflows": [...]}``, ``{NAME: {...}}``,
``{"jobs": {...}}``, ``{"message": ...}``); errors are hybridflow's: one-line ``detail``
with a 4xx status, never a 200 carrying an error message as cloudmesh-cc answers.

Uploads: cloudmesh-cc's upload names *server-side* paths (``directory=``, ``archive=``,
``yaml=``). Such a path is refused (403) unless it lies inside the service's own home;
inside it, the folder's top-level ``.yaml``/``.sh``/``.py``/``.ipynb`` files are stored
through the same upload path as ``POST /api/v1/workflows`` (validated first, all or
nothing). A request body (YAML or an archive) is accepted as that route accepts it.

The routes are left out of ``/openapi.json`` (see :data:`router`).
"""

from __future__ import annotations

import io
import tarfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, Response
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from ... import render
from ...cloudmesh import edges_of, local_host, nodes_of
from ...coordinator import RunRequest
from ...errors import NotFoundError, SpecError
from ...spec import JobSpec
from ...validate import validate
from .. import uploads
from ..archive import TooLarge
from ..deps import ServiceState, StateDep
from ..schemas import NAME_PATTERN
from .common import RESPONSES, JobName, WorkflowName, read_body

#: Not in /openapi.json: the auth middleware treats paths outside /api/ as pages (an anonymous
#: GET is sent to the login page, not answered 401), which the schema could not promise.
router = APIRouter(tags=["cloudmesh-cc"], responses=RESPONSES, include_in_schema=False)

REDIRECT: dict[int | str, dict[str, Any]] = {307: {"description": "Redirect to the workflow's web page"}}
WORKFLOW_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "The workflow (JSON), or its graph (SVG) with output=graph",
          "content": {"application/json": {"schema": {"type": "object"}},
                      "image/svg+xml": {"schema": {"type": "string"}}}},
    **REDIRECT,
}

#: the files of a folder that cloudmesh-cc's upload copies
FOLDER_SUFFIXES = (".yaml", ".yml", ".sh", ".py", ".ipynb")

OptionalName = Annotated[str | None, Query(pattern=NAME_PATTERN, max_length=200,
                                           description="Name of the workflow (default: from the path).")]
ServerPath = Annotated[str | None, Query(max_length=4096, description="A path on the server, inside the service's home.")]


def _view(hf: ServiceState, name: str) -> Any:
    return hf.stores.get().view(name)


def _workflow_dict(hf: ServiceState, name: str) -> dict[str, Any]:
    view = _view(hf, name)
    return {"nodes": nodes_of(view), "dependencies": edges_of(view)}


@router.get("/workflows", summary="List workflows (cloudmesh-cc)")
def cc_list_workflows(
    hf: StateDep,
    output: Annotated[str | None, Query(description="none: names; json: every workflow's nodes and dependencies")] = None,
) -> dict[str, Any]:
    """``{"workflows": [names]}``; with ``output=json`` ``{name: {nodes, dependencies}}``."""
    names = hf.stores.get().names()
    if output is None:
        return {"workflows": names}
    if output == "json":
        found: dict[str, Any] = {}
        for name in names:
            try:
                found[name] = _workflow_dict(hf, name)
            except NotFoundError:
                continue
        return found
    raise SpecError(f"output '{output}' is not served (valid: json, or none)", field="output")


def _inside_home(hf: ServiceState, written: str, what: str) -> Path:
    """``written`` resolved (``~`` expanded, links followed); 403 unless inside the home."""
    home = hf.settings.home.resolve()
    try:
        path = Path(written).expanduser()
        path = (path if path.is_absolute() else home / path).resolve()
    except (OSError, RuntimeError, ValueError) as exc:
        raise SpecError(f"cannot use {what} path {written!r}: {exc}", field=what) from None
    if not path.is_relative_to(home):
        raise HTTPException(403, f"{what} '{written}' is outside the service's home {home}; "
                                 "upload the files in the request body instead")
    return path


def _pack_folder(folder: Path, limit: int) -> bytes:
    """The folder's top-level workflow files (cloudmesh-cc copies those) as a tar.gz."""
    buffer = io.BytesIO()
    total = 0
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for path in sorted(folder.iterdir()):
            if not path.name.endswith(FOLDER_SUFFIXES) or path.is_symlink() or not path.is_file():
                continue
            total += path.stat().st_size
            if total > limit:
                raise TooLarge(f"folder '{folder.name}' holds over {limit} bytes of workflow files")
            archive.add(str(path), arcname=path.name, recursive=False)
    return buffer.getvalue()


def _folder_yaml(folder: Path, wanted: str | None) -> str:
    found = sorted(p.name for p in folder.iterdir() if p.name.endswith((".yaml", ".yml")) and p.is_file())
    if wanted:
        if wanted not in found:
            raise SpecError(f"'{wanted}' is not a YAML file in '{folder}'", field="yaml")
        return wanted
    for preferred in (f"{folder.name}.yaml", "workflow.yaml"):
        if preferred in found:
            return preferred
    if len(found) == 1:
        return found[0]
    if not found:
        raise SpecError(f"folder '{folder}' holds no workflow YAML", field="directory")
    raise SpecError(f"folder '{folder}' holds several YAML files ({', '.join(found[:5])}); give yaml=PATH", field="directory")


def _upload(hf: ServiceState, data: bytes, *, name: str | None, file: str | None, filename: str | None) -> str:
    store = hf.stores.get()
    spec = uploads.store_upload(store, hf.settings, data, name=name, file=file, replace=True,
                                filename=filename, name_lock=hf.name_lock)
    hf.cache.forget(spec.name)
    return spec.name


def _stem(path: Path) -> str:
    return path.name.split(".")[0]


async def _cc_upload(request: Request, hf: ServiceState, *, directory: str | None, archive: str | None,
                     yaml: str | None, name: str | None) -> dict[str, Any]:
    chosen = [x for x in (directory, archive, yaml) if x]
    if len(chosen) > 1:
        raise SpecError("only one of directory, archive and yaml can be given")
    limit = hf.settings.max_upload_bytes
    if directory:
        folder = _inside_home(hf, directory, "directory")
        if not folder.is_dir():
            raise SpecError(f"'{directory}' is not a directory", field="directory")
        wanted = name or folder.name

        def from_folder() -> str:
            return _upload(hf, _pack_folder(folder, limit), name=wanted, file=_folder_yaml(folder, None), filename=None)

        stored = await run_in_threadpool(from_folder)
        return {"message": f"Successfully uploaded {stored} dir", "name": stored}
    if yaml:
        path = _inside_home(hf, yaml, "yaml")
        if not path.is_file() or not path.name.endswith((".yaml", ".yml")):
            raise SpecError(f"'{yaml}' is not a YAML file", field="yaml")
        wanted = name or _stem(path)

        def from_yaml() -> str:  # the YAML with the scripts beside it
            return _upload(hf, _pack_folder(path.parent, limit), name=wanted,
                           file=_folder_yaml(path.parent, path.name), filename=None)

        stored = await run_in_threadpool(from_yaml)
        return {"message": f"Successfully uploaded {yaml}", "name": stored}
    if archive:
        path = _inside_home(hf, archive, "archive")
        if not path.is_file():
            raise SpecError(f"'{archive}' is not a file", field="archive")
        if path.stat().st_size > limit:
            raise TooLarge(f"archive '{archive}' is over the limit of {limit} bytes")
        wanted = name or _stem(path)
        stored = await run_in_threadpool(lambda: _upload(hf, path.read_bytes(), name=wanted, file=None,
                                                         filename=path.name))
        return {"message": f"Successfully uploaded {archive}", "name": stored}
    data = await read_body(request, limit)
    if not data:
        raise SpecError("give directory=, archive= or yaml=, or send the YAML or an archive as the body")
    stored = await run_in_threadpool(lambda: _upload(hf, data, name=name, file=None, filename=None))
    return {"message": f"Successfully uploaded {stored}", "name": stored}


@router.post("/workflow/upload", summary="Upload a workflow (cloudmesh-cc)")
@router.post("/workflow", summary="Upload a workflow (cloudmesh-cc)")
async def cc_upload(request: Request, hf: StateDep, directory: ServerPath = None, archive: ServerPath = None,
                    yaml: ServerPath = None, workflow_name: OptionalName = None,
                    name: OptionalName = None) -> dict[str, Any]:
    """cloudmesh-cc's upload: a server-side ``directory``, ``archive`` or ``yaml`` (inside
    the service's home, else 403), or the YAML/archive as the request body. Replaces a
    stored workflow of that name (409 while it runs)."""
    return await _cc_upload(request, hf, directory=directory, archive=archive, yaml=yaml, name=workflow_name or name)


@router.get("/workflow/run/{name}", summary="Run a workflow (cloudmesh-cc)", responses=REDIRECT,
            response_class=RedirectResponse)
def cc_run(
    name: WorkflowName,
    hf: StateDep,
    run_type: Annotated[str, Query(pattern="^(topo|parallel)$", description="topo: one job at a time; parallel")] = "topo",
    redirect: Annotated[str | None, Query(max_length=100, description="Accepted; the answer redirects to the "
                                                                      "workflow's page")] = None,
    show: Annotated[bool, Query(description="Accepted and ignored")] = False,
) -> Response:
    """Start a run in a coordinator process (as ``POST /api/v1/workflows/{name}/run``) and
    redirect to the workflow's page, as cloudmesh-cc redirects to its watcher."""
    started = hf.runner.start(hf.stores.get(), RunRequest(name, sequential=run_type == "topo"))
    hf.cache.forget(name)
    return RedirectResponse(f"/workflows/{name}", status_code=307,
                            headers={"X-Hybridflow-Run-Pid": str(started.pid)})


@router.get("/workflow/{name}", summary="Get a workflow (cloudmesh-cc)", responses=WORKFLOW_RESPONSES)
def cc_get_workflow(
    name: WorkflowName,
    hf: StateDep,
    output: Annotated[str | None, Query(description="none, json, graph (SVG), html or table (the web page)")] = None,
    initialized: Annotated[bool, Query(description="Accepted and ignored")] = False,
) -> Any:
    """``{NAME: {name, graph: {nodes, edges, colors}}}``; ``output=json``: nodes and
    dependencies; ``output=graph``: the SVG; ``html``/``table``: the workflow's page."""
    view = _view(hf, name)
    if output is None:
        return {name: {"name": name, "filename": view.spec.source,
                       "graph": {"name": name, "nodes": nodes_of(view), "edges": edges_of(view),
                                 "colors": dict(view.spec.colors)}}}
    if output == "json":
        return {"nodes": nodes_of(view), "dependencies": edges_of(view)}
    if output == "graph":
        return Response(render.to_svg(view), media_type="image/svg+xml")
    if output in ("html", "table"):
        return RedirectResponse(f"/workflows/{name}", status_code=307)
    raise SpecError(f"output '{output}' is not served (valid: json, graph, html, table, or none)", field="output")


@router.post("/workflow/{name}", summary="Upload a workflow under a name (cloudmesh-cc 4.x)")
async def cc_upload_named(request: Request, name: WorkflowName, hf: StateDep, directory: ServerPath = None,
                          archive: ServerPath = None, yaml: ServerPath = None) -> dict[str, Any]:
    """cloudmesh-cc 4.x's upload route: as ``POST /workflow/upload`` with the name in the path."""
    return await _cc_upload(request, hf, directory=directory, archive=archive, yaml=yaml, name=name)


@router.delete("/workflow/{name}", summary="Delete a workflow or one of its jobs (cloudmesh-cc)")
def cc_delete_workflow(
    name: WorkflowName,
    hf: StateDep,
    job: Annotated[str | None, Query(pattern=NAME_PATTERN, max_length=200, description="Delete only this job")] = None,
) -> dict[str, Any]:
    """Delete the workflow (not while it runs, 409) with its uploaded files, or only ``job``."""
    store = hf.stores.get()
    with hf.name_lock(name):
        if job is not None:
            store.remove_job(name, job)
            message = f"The job {job} was deleted in the workflow {name}"
        else:
            store.delete(name)
            uploads.remove_upload(hf.settings, name)
            message = f"The workflow {name} was deleted"
    hf.cache.forget(name)
    return {"message": message}


@router.get("/workflow/{name}/job/{job}", summary="Get a job (cloudmesh-cc)")
def cc_get_job(name: WorkflowName, job: JobName, hf: StateDep,
               output: Annotated[str | None, Query(description="none or json (the same)")] = None) -> dict[str, Any]:
    """``{JOB: {name, status, progress, script, exec, ...}}``."""
    nodes = nodes_of(_view(hf, name))
    if job not in nodes:
        raise NotFoundError(f"Job '{job}' not in workflow '{name}'")
    return {job: nodes[job]}


@router.post("/workflow/{name}/job/{job}", summary="Add or update a job (cloudmesh-cc)")
def cc_add_job(
    name: WorkflowName,
    job: JobName,
    hf: StateDep,
    user: Annotated[str | None, Query(max_length=200)] = None,
    host: Annotated[str | None, Query(max_length=200)] = None,
    kind: Annotated[str | None, Query(max_length=50)] = None,
    status: Annotated[str | None, Query(max_length=50, description="Accepted and ignored (the engine owns state)")] = None,
    script: Annotated[str | None, Query(max_length=4096)] = None,
    exec: Annotated[str | None, Query(max_length=65536)] = None,
    progress: Annotated[str | None, Query(max_length=10, description="Accepted and ignored")] = None,
    label: Annotated[str | None, Query(max_length=4096)] = None,
    parent: Annotated[str | None, Query(pattern=NAME_PATTERN, max_length=200, description="Add the edge parent→job")] = None,
) -> dict[str, Any]:
    """Add the job, or update the fields given of an existing one (as cloudmesh-cc's
    ``add_node`` does); 422 for an invalid job (unknown kind, missing script...)."""
    store = hf.stores.get()
    given = {k: v for k, v in (("user", user), ("kind", kind), ("script", script), ("exec", exec),
                               ("label", label)) if v is not None}
    with hf.name_lock(name):
        current = store.spec(name)
        fields = {**(current.jobs[job].to_dict() if job in current.jobs else {}), **given}
        fields.pop("name", None)
        if host is not None:
            fields["host"] = host
        if "host" in fields:
            kept = local_host(job, fields.get("kind"), fields["host"])
            if kept is None:
                del fields["host"]
        spec = JobSpec.from_dict(job, fields)
        edges = [(parent, job)] if parent else []
        updated = validate(current.with_jobs([spec]).with_edges(edges))
        store.add_jobs(name, [updated.jobs[job]], edges)
    hf.cache.forget(name)
    return {"jobs": nodes_of(store.view(name))}


@router.delete("/workflow/{name}/job/{job}", summary="Delete a job (cloudmesh-cc)")
def cc_remove_job(name: WorkflowName, job: JobName, hf: StateDep) -> dict[str, Any]:
    """Remove a job that is not running, with its edges; answers the remaining jobs."""
    store = hf.stores.get()
    with hf.name_lock(name):
        store.remove_job(name, job)
    hf.cache.forget(name)
    return {"jobs": nodes_of(store.view(name))}
