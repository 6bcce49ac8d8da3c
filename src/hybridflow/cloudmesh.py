"""cloudmesh-cc's Python API over hybridflow: a drop-in for ``cloudmesh.cc.workflow.Workflow``.

Code written against cloudmesh-cc keeps working after changing one import::

    from hybridflow.cloudmesh import Workflow      # was: from cloudmesh.cc.workflow import Workflow
    w = Workflow(name="wf")
    w.add_job(name="start", kind="local", exec="echo hi")
    w.add_job(name="end", kind="local", exec="echo bye")
    w.add_dependencies("start,end")
    w.run_topo(show=False)
    print(w.table)
    w.graph.save(filename="wf.svg", colors="status", engine="dot")

This is an adapter, not a second engine: every change goes to the state database through
:class:`hybridflow.Workflow` (validated at once, so an invalid job is one
:class:`~hybridflow.errors.SpecError` line), runs are :meth:`hybridflow.Workflow.run`, and
``jobs``/``table``/``graph`` are read from the store's view. Where cloudmesh-cc differs
from hybridflow the choices are:

- ``add_dependencies("a,b")`` creates a job that does not exist yet (as cloudmesh does),
  with the default payload ``NAME.sh``; a missing file is then the usual one-line error.
- A job named with an extension and no ``script``/``exec`` (``c.py``) runs that file.
  Relative scripts are looked up beside the workflow file (or the folder the workflow was
  made in) and, failing that, in the current directory at the time of ``add_job``.
- ``kind: local`` with a remote ``host:`` (cloudmesh's ``host: rivanna``) runs locally: the
  host is dropped with one warning.
- ``status``/``progress`` given to ``add_job`` are not state (the engine owns state);
  :meth:`load_with_state` restores the saved states through the store's
  ``restore_states`` (or, on a store without it, shows them until the next run).
- ``save`` writes the description, ``save_with_state`` the description with each node's
  ``status`` and ``progress``; dependencies are written as ``a,b`` chains, which both
  cloudmesh-cc and hybridflow load. Saved cloudmesh files (dependencies as a mapping,
  runtime keys such as ``number``, ``parent``, ``instance``) load.
- ``graph.save`` writes SVG, DOT or Mermaid (by suffix); ``colors`` and ``layout`` are
  accepted and ignored (nodes are always coloured by state), nothing is opened in a browser.
"""

from __future__ import annotations

import dataclasses
import getpass
import logging
import shlex
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from . import config, dag, labels, spec as specs
from .api import Workflow as CoreWorkflow, absolute_scripts, open_store
from .errors import SpecError
from .files import read_text
from .limits import Limits
from .load import build
from .names import split_list
from .snapshot import JobView, WorkflowView
from .spec import WorkflowSpec
from .states import JobState, WorkflowState
from .store.sqlite import Store
from .yamlsafe import parse

log = logging.getLogger(__name__)

__all__ = ["Graph", "Workflow", "cloudmesh_document", "local_host", "node_dict", "nodes_of", "edges_of"]

#: node keys cloudmesh-cc writes for its own bookkeeping: dropped when a file is loaded
RUNTIME_KEYS = frozenset({"number", "created", "modified", "instance", "parent", "format", "pid", "directory",
                          "label_format", "status", "progress"})
#: script kinds a job named ``NAME.EXT`` runs when it has no script or exec
SCRIPT_SUFFIXES = (".sh", ".py", ".ipynb")
#: cloudmesh-cc's default status colours (its ``Graph.set_status_colors``)
STATUS_COLORS = {"ready": "white", "undefined": "#DBFF33", "done": "#CCFFCC", "failed": "#FFCCCC",
                 "running": "#CCE5FF"}
#: the columns of :attr:`Workflow.table`, in cloudmesh-cc's order
TABLE_COLUMNS = ("number", "host", "status", "label", "name", "progress", "script", "user", "parent", "kind")
#: cloudmesh-cc state names that are not hybridflow's
STATE_ALIASES = {"undefined": JobState.UNKNOWN, "completed": JobState.DONE}

_warned: set[tuple[str, str]] = set()


def _warn_once(key: tuple[str, str], message: str) -> None:
    if key not in _warned:
        _warned.add(key)
        log.warning("%s", message)


def local_host(name: str, kind: str | None, host: str | None) -> str | None:
    """The host to store for a job: ``None`` for a ``local`` job naming a remote host (with
    one warning), as cloudmesh-cc runs such a job on this machine."""
    if (kind or "local") == "local" and not config.is_local_name(host):
        _warn_once((name, str(host)), f"job '{name}': kind 'local' runs on this machine; host '{host}' is ignored")
        return None
    return host


# -- reading cloudmesh-cc's files ------------------------------------------------------------


def cloudmesh_document(doc: Any, file: str | None = None) -> tuple[Any, dict[str, tuple[str, int]]]:
    """A cloudmesh-cc document made loadable, and the saved state of its nodes.

    Dependencies written as a mapping (``a-b: {source: a, destination: b}``, the form
    cloudmesh-cc saves) become ``a,b`` chains; runtime keys (:data:`RUNTIME_KEYS`) and
    empty values are dropped (``label_format`` becomes ``label`` when there is none);
    ``status``/``progress`` are returned apart; a local job's remote host is dropped.
    """
    if not isinstance(doc, Mapping) or not isinstance(doc.get("workflow"), Mapping):
        return doc, {}
    body = dict(doc["workflow"])
    states: dict[str, tuple[str, int]] = {}
    nodes = body.get("nodes")
    if isinstance(nodes, Mapping):
        cleaned: dict[Any, Any] = {}
        for key, node in nodes.items():
            if not isinstance(node, Mapping):
                cleaned[key] = node
                continue
            name = str(node.get("name") or key)
            if "status" in node or "progress" in node:
                states[name] = (str(node.get("status") or "ready"), _progress(node.get("progress")))
            data = {k: v for k, v in node.items() if v is not None and k not in RUNTIME_KEYS}
            if node.get("label_format") and not node.get("label"):
                data["label"] = node["label_format"]
            if data.get("name") == key:
                del data["name"]
            if "host" in data:
                host = local_host(name, data.get("kind"), str(data["host"]))
                if host is None:
                    del data["host"]
            cleaned[key] = data
        body["nodes"] = cleaned
    deps = body.get("dependencies")
    if isinstance(deps, Mapping):
        chains = []
        for key, edge in deps.items():
            if not (isinstance(edge, Mapping) and edge.get("source") and edge.get("destination")):
                raise SpecError(f"dependency {key!r} needs 'source' and 'destination'", file=file, field="dependencies")
            chains.append(f"{edge['source']},{edge['destination']}")
        body["dependencies"] = chains
    out = {k: v for k, v in doc.items() if k != "name"}
    out["workflow"] = {k: v for k, v in body.items() if k != "name"}
    return out, states


def _progress(value: Any) -> int:
    try:
        return max(0, min(100, int(value)))
    except (TypeError, ValueError):
        return 0


def job_state(status: str) -> JobState:
    """A cloudmesh-cc status as a :class:`JobState` (``undefined`` is ``unknown``)."""
    if status in STATE_ALIASES:
        return STATE_ALIASES[status]
    try:
        return JobState(status)
    except ValueError:
        return JobState.READY


def load_spec(path: str | Path, *, name: str, limits: Limits | None = None) -> tuple[WorkflowSpec, dict[str, tuple[str, int]]]:
    """Read a cloudmesh-cc (or hybridflow) workflow file as workflow ``name``, with its
    saved states; the same read → parse → build → validate steps as ``hybridflow.load``."""
    limits = limits or Limits.from_env()
    path = Path(path).expanduser()
    file = str(path)
    text = read_text(path, limits=limits, file=file)
    doc, states = cloudmesh_document(parse(text, limits=limits, file=file), file)
    return build(doc, name=name, file=file, base_dir=str(path.resolve().parent), limits=limits), states


# -- presenting a view as cloudmesh-cc's dicts -----------------------------------------------


def _when(seconds: float | None) -> str | None:
    return None if seconds is None else str(datetime.fromtimestamp(seconds))


def topological(view: WorkflowView) -> list[str]:
    """Every job in a topological order (ties in declaration order)."""
    position = {name: i for i, name in enumerate(view.spec.jobs)}
    return dag.topological_order(dag.build(view.spec.jobs, view.spec.edges), key=lambda n: position[n])


def nodes_of(view: WorkflowView) -> dict[str, dict[str, Any]]:
    """cloudmesh-cc's ``jobs`` dict: name → the node's fields with status and progress."""
    order = {name: i for i, name in enumerate(topological(view))}
    parents: dict[str, list[str]] = {name: [] for name in view.jobs}
    for parent, child in view.spec.edges:
        if child in parents and view.jobs[parent].state is not JobState.DONE:
            parents[child].append(parent)  # cloudmesh drops a parent once it is done
    return {name: node_dict(job, view, order[name], parents[name]) for name, job in view.jobs.items()}


def node_dict(job: JobView, view: WorkflowView, number: int, parent: list[str]) -> dict[str, Any]:
    """One node as cloudmesh-cc shows it (plus hybridflow's own keys of the job)."""
    spec = job.spec
    label = spec.label or spec.name
    node: dict[str, Any] = {
        "name": spec.name, "label": label, "label_format": label, "kind": spec.kind,
        "user": spec.user or getpass.getuser(), "host": spec.host or "localhost",
        "status": job.state.value, "progress": job.progress,
        "created": _when(job.created), "modified": _when(job.modified),
        "script": spec.script, "exec": spec.exec, "venv": spec.venv, "instance": None,
        "number": number, "parent": parent,
    }
    extra = spec.to_dict()
    for key in specs.JOB_FIELDS:
        extra.pop(key, None)
    for key in ("shape", "style"):
        if getattr(spec, key) is not None:
            node[key] = getattr(spec, key)
    node.update(extra)
    return node


def edges_of(view: WorkflowView) -> dict[str, dict[str, str]]:
    """cloudmesh-cc's ``dependencies`` dict: ``a-b`` → source, destination, name."""
    return {f"{a}-{b}": {"source": a, "destination": b, "name": f"{a}-{b}"} for a, b in view.spec.edges}


def colors_of(view: WorkflowView) -> dict[str, Any]:
    colors = {key: dict(value) if isinstance(value, Mapping) else value for key, value in view.spec.colors.items()}
    colors["status"] = {**STATUS_COLORS, **colors.get("status", {})}
    return colors


def text_table(rows: Iterable[Mapping[str, Any]], columns: Iterable[str]) -> str:
    """A grid table as cloudmesh-common's ``Printer.write`` prints it (cells may hold lines)."""
    heads = list(columns)
    cells = [[_cell(row.get(col)).split("\n") for col in heads] for row in rows]
    widths = [max([len(h)] + [len(line) for row in cells for line in row[i]]) for i, h in enumerate(heads)]
    rule = "+" + "+".join("-" * (w + 2) for w in widths) + "+"

    def line(values: list[str]) -> str:
        return "| " + " | ".join(v.ljust(w) for v, w in zip(values, widths)) + " |"

    out = [rule, line(heads), rule]
    for row in cells:
        height = max(len(c) for c in row)
        for i in range(height):
            out.append(line([c[i] if i < len(c) else "" for c in row]))
    out.append(rule)
    return "\n".join(out)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return str(value)
    return str(value)


# -- the classes -----------------------------------------------------------------------------


class Graph:
    """``Workflow.graph``: cloudmesh-cc's graph object (nodes, edges, colours, ``save``)."""

    def __init__(self, workflow: Workflow) -> None:
        self._workflow = workflow

    @property
    def name(self) -> str:
        return self._workflow.name

    @property
    def nodes(self) -> dict[str, dict[str, Any]]:
        return self._workflow.jobs

    @property
    def edges(self) -> dict[str, dict[str, str]]:
        return edges_of(self._workflow.view())

    @property
    def colors(self) -> dict[str, Any]:
        return colors_of(self._workflow.view())

    def __getitem__(self, name: str) -> dict[str, Any]:
        return self._workflow.job(name)

    def __str__(self) -> str:
        view = self._workflow.view()
        data = {"workflow": {"nodes": nodes_of(view), "dependencies": edges_of(view)}, "colors": colors_of(view)}
        return yaml.safe_dump(data, indent=2, sort_keys=True)

    def create_label(self, name: str) -> str:
        """The node's label with its template filled in."""
        view = self._workflow.view()
        if name not in view.jobs:
            raise KeyError(name)
        return labels.label_for(view.jobs[name], view)

    def save(self, filename: str | Path = "test.svg", colors: str | None = None, layout: Any = None,
             engine: str = "networkx") -> Path:
        """Write the graph: SVG, DOT (``.dot``/``.gv``) or Mermaid (``.mmd``) by suffix.

        With ``engine="dot"`` a ``.dot`` file is also written beside it, as cloudmesh-cc
        does. ``colors`` and ``layout`` are accepted for compatibility and ignored.
        """
        from . import render

        path = Path(filename).expanduser()
        suffix = path.suffix.lower()
        writers: dict[str, Callable[[WorkflowView], str]] = {
            ".svg": render.to_svg, ".dot": render.to_dot, ".gv": render.to_dot,
            ".mmd": render.to_mermaid, ".mermaid": render.to_mermaid,
        }
        if suffix not in writers:
            raise SpecError(f"cannot write graph '{path.name}': use .svg, .dot or .mmd", field="filename")
        view = self._workflow.view()
        if path.parent != Path(""):
            path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(writers[suffix](view), encoding="utf-8")
        if engine == "dot" and suffix not in (".dot", ".gv"):
            path.with_suffix(".dot").write_text(render.to_dot(view), encoding="utf-8")
        return path


class Workflow:
    """cloudmesh-cc's ``Workflow`` on hybridflow's store and engine (see the module doc).

    ``Workflow(name=N)`` opens the stored workflow ``N`` (made by the CLI, the service or
    this API) or creates an empty one; ``Workflow(filename=F)`` is named after ``F``'s stem
    and loads ``F`` when it exists. ``store`` (hybridflow's) defaults to ``$HYBRIDFLOW_HOME``.
    """

    def __init__(self, name: str | None = None, filename: str | Path | None = None, runtime_dir: str | None = None,
                 user: str | None = None, host: str | None = None, load: bool = False,
                 clear_runtime_dir: bool = True, runtime: bool = False, *, store: Store | None = None) -> None:
        if filename is not None:
            path = Path(filename).expanduser().resolve()
            self.name = path.name.split(".")[0] or "workflow"
            self.filename: str | None = str(path)
            base = path.parent
        else:
            self.name = name or "workflow"
            self.filename = None
            base = Path.cwd()
        self.runtime_dir = runtime_dir
        self.user = user
        self.host = host
        self.store = store or open_store()
        self._restored: dict[str, tuple[str, int]] | None = None
        self.graph = Graph(self)
        if self.filename is not None and Path(self.filename).is_file() and not runtime:
            self.load(self.filename)
        elif not self.store.exists(self.name):
            CoreWorkflow.from_spec(WorkflowSpec(name=self.name, base_dir=str(base)), store=self.store)
        self.core = CoreWorkflow(self.name, store=self.store)
        self.created_time = datetime.now().strftime("%m/%d/%Y, %H:%M:%S")

    # -- the description -------------------------------------------------------------------

    def load(self, filename: str | Path, clear: bool = True) -> None:
        """Load a workflow file (cloudmesh-cc's format, saved or written by hand) as this
        workflow, replacing its jobs; scripts resolve beside the file."""
        spec, _ = load_spec(filename, name=self.name)
        CoreWorkflow.from_spec(spec, store=self.store)
        self._restored = None

    def load_with_state(self, filename: str | Path) -> None:
        """:meth:`load`, then show each node's saved ``status`` and ``progress`` (in
        ``jobs``, ``table`` and the graph) until the next run."""
        spec, states = load_spec(filename, name=self.name)
        CoreWorkflow.from_spec(spec, store=self.store)
        saved = {job: state for job, state in states.items() if job in spec.jobs}
        restore = getattr(self.store, "restore_states", None)  # the store's API, where it has one
        if restore is not None:
            restore(self.name, {job: (job_state(status), progress) for job, (status, progress) in saved.items()})
            self._restored = None
        else:
            self._restored = saved

    def add_job(self, filename: str | None = None, name: str | None = None, user: str | None = None,
                host: str | None = None, label: str | None = None, label_format: str | None = None,
                kind: str | None = "local", status: str = "ready", progress: int = 0, script: str | None = None,
                exec: str | None = None, pid: int | None = None, venv: str | None = None, **kwargs: Any) -> None:
        """Add (or replace) a job; cloudmesh-cc's keywords, other keys become job arguments.

        ``status``, ``progress`` and ``pid`` are cloudmesh's bookkeeping and ignored.
        With ``filename``, the workflow is saved there afterwards (as cloudmesh does).
        """
        if not name:
            raise SpecError("add_job needs a name")
        kind = kind or "local"
        fields: dict[str, Any] = {k: v for k, v in kwargs.items() if v is not None and k not in RUNTIME_KEYS}
        template = label_format or label
        for key, value in (("user", user), ("label", template), ("venv", venv), ("exec", exec),
                           ("host", local_host(name, kind, host)), ("script", self._script_for(name, script, exec))):
            if value is not None:
                fields[key] = value
        self.core.add_job(name, kind=kind, **fields)
        if filename:
            self.save(filename)

    def _script_for(self, name: str, script: str | None, exec: str | None) -> str | None:
        """The script to store: cloudmesh's defaults, resolved beside the workflow or here."""
        if script is None:
            if exec:
                return None
            if not name.endswith(SCRIPT_SUFFIXES) and not self._findable(f"{name}.sh"):
                return None  # the core's default (NAME.sh beside the workflow) or its error
            script = name if name.endswith(SCRIPT_SUFFIXES) else f"{name}.sh"
        try:
            words = shlex.split(script)
        except ValueError:
            return script  # the core names the problem
        if not words:
            return script
        base = Path(self.core.spec.base_dir)
        written = Path(words[0]).expanduser()
        if not written.is_absolute() and not (base / written).is_file() and (Path.cwd() / written).is_file():
            return shlex.join([str((Path.cwd() / written).resolve()), *words[1:]])
        return script

    def _findable(self, file: str) -> bool:
        return (Path(self.core.spec.base_dir) / file).is_file() or (Path.cwd() / file).is_file()

    def add_dependency(self, source: str, destination: str) -> None:
        self.add_dependencies(f"{source},{destination}")

    def add_dependencies(self, dependency: str, nodedata: Mapping[str, Any] | None = None,
                         edgedata: Mapping[str, Any] | None = None) -> None:
        """Add the chain ``"a,b,c"`` (a→b→c; names expand: ``s[1-3]``); a job it names that
        does not exist yet is created with the default payload, as cloudmesh-cc does."""
        known = self.core.spec.jobs
        for job in dict.fromkeys(split_list(dependency)):
            if job not in known:
                self.add_job(name=job, **dict(nodedata or {}))
        self.core.add_dependencies(dependency)

    def remove_job(self, name: str, state: bool = False) -> None:
        """Remove a job (not running) with its edges."""
        self.core.remove_job(name)
        if self._restored:
            self._restored.pop(name, None)

    def remove_workflow(self) -> None:
        """Delete the workflow from the store."""
        self.core.delete()

    # -- looking at it ---------------------------------------------------------------------

    def view(self) -> WorkflowView:
        """The store's view, with the states restored by :meth:`load_with_state` shown."""
        view = self.core.status()
        if not self._restored:
            return view
        jobs = {name: dataclasses.replace(job, state=job_state(self._restored[name][0]),
                                          progress=self._restored[name][1])
                if name in self._restored else job for name, job in view.jobs.items()}
        return dataclasses.replace(view, jobs=jobs)

    @property
    def jobs(self) -> dict[str, dict[str, Any]]:
        """name → the node's fields (``status``, ``progress``, ``parent``, ``number``...)."""
        return nodes_of(self.view())

    def job(self, name: str) -> dict[str, Any]:
        jobs = self.jobs
        if name not in jobs:
            raise KeyError(f"workflow '{self.name}' has no job '{name}'")
        return jobs[name]

    def __getitem__(self, name: str) -> dict[str, Any]:
        return self.job(name)

    @property
    def dependencies(self) -> dict[str, dict[str, str]]:
        return edges_of(self.view())

    def predecessor(self, name: str) -> list[str]:
        return [a for a, b in self.core.spec.edges if b == name]

    def sequential_order(self) -> list[str]:
        """Every job in a topological order."""
        return topological(self.view())

    def create_topological_order(self) -> list[str]:
        return self.sequential_order()

    @property
    def table(self) -> str:
        """The jobs as a printable table (cloudmesh-cc's columns, labels filled in)."""
        view = self.view()
        rows = []
        for name, node in nodes_of(view).items():
            rows.append({**node, "label": labels.label_for(view.jobs[name], view)})
        rows.sort(key=lambda row: row["number"])
        return text_table(rows, TABLE_COLUMNS)

    def table2(self, with_label: bool = False) -> str:
        columns = TABLE_COLUMNS if with_label else tuple(c for c in TABLE_COLUMNS if c != "label")
        view = self.view()
        rows = sorted(nodes_of(view).values(), key=lambda row: row["number"])
        return text_table([{**r, "label": labels.label_for(view.jobs[r["name"]], view)} for r in rows], columns)

    def status(self) -> dict[str, Any]:
        """cloudmesh-cc's status dict: the workflow's state and each job's status/progress."""
        view = self.view()
        return {"workflow": view.state.value,
                "jobs": {name: {"status": job.state.value, "progress": job.progress} for name, job in view.jobs.items()}}

    def analyze_states(self) -> dict[str, int]:
        return self.view().counts()

    @property
    def dict_of_workflow(self) -> dict[str, Any]:
        view = self.view()
        return {"nodes": nodes_of(view), "dependencies": edges_of(view)}

    @property
    def yaml(self) -> str:
        return yaml.safe_dump(self.dict_of_workflow)

    def json(self, filepath: str | None = None) -> str:
        import json

        return json.dumps(self.dict_of_workflow, indent=2)

    def __str__(self) -> str:
        return str(self.graph)

    # -- saving ----------------------------------------------------------------------------

    def save(self, filename: str | Path | None = None) -> Path | None:
        """Write the workflow (without state) as YAML that cloudmesh-cc and hybridflow load."""
        if not filename:
            return None
        return self._write(Path(filename).expanduser(), with_state=False)

    def save_with_state(self, filename: str | Path, stdout: bool = False) -> str | None:
        """Write the workflow with each node's ``status`` and ``progress``; with
        ``stdout``, also return the text written."""
        path = self._write(Path(filename).expanduser(), with_state=True)
        return path.read_text(encoding="utf-8") if stdout else None

    def _write(self, path: Path, *, with_state: bool) -> Path:
        if path.parent != Path(""):
            path.parent.mkdir(parents=True, exist_ok=True)
        if with_state and not self._restored:
            return self.core.save(path)  # the core's export with state
        view = self.view()
        spec = view.spec
        if path.resolve().parent != Path(spec.base_dir).resolve():
            spec = absolute_scripts(spec)
        states = {n: (j.state.value, j.progress) for n, j in view.jobs.items()} if with_state else None
        path.write_text(specs.dump_yaml(spec, states), encoding="utf-8")
        return path

    # -- running ---------------------------------------------------------------------------

    def run_topo(self, order: Any = None, dryrun: bool = False, show: bool = True,
                 filename: str | Path | None = None) -> WorkflowState | None:
        """Run every job again, one at a time in topological order (cloudmesh's ``run_topo``
        starts afresh). With ``show``, the SVG graph in ``filename`` (default
        ``runtime/NAME.svg``) is rewritten as states change."""
        return self._run(parallel=False, rerun="force", dryrun=dryrun, show=show, period=0.5, filename=filename)

    def run_parallel(self, directory: str = "~/experiment", order: Any = None, dryrun: bool = False,
                     show: bool = True, period: float = 0.5, filename: str | Path | None = None) -> WorkflowState | None:
        """Run the jobs as soon as their parents are done (jobs that already succeeded and
        are unchanged are kept, as cloudmesh's only starts ``ready`` jobs)."""
        return self._run(parallel=True, rerun="default", dryrun=dryrun, show=show, period=period, filename=filename)

    def _run(self, *, parallel: bool, rerun: str, dryrun: bool, show: bool, period: float,
             filename: str | Path | None) -> WorkflowState | None:
        if dryrun:
            for name in self.sequential_order():
                print(f"running {name}")
            return None
        self._restored = None
        svg = Path(filename).expanduser() if filename else Path("runtime") / f"{self.name}.svg"
        on_update: Callable[[Any], None] | None = None
        if show:
            last = [0.0]

            def on_update(_: Any) -> None:
                now = time.monotonic()
                if now - last[0] >= period:
                    last[0] = now
                    self.graph.save(filename=svg)

        state = self.core.run(parallel=parallel, rerun=rerun, on_update=on_update)
        if show:
            self.graph.save(filename=svg)
        return state
