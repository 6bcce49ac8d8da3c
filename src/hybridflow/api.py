"""The Python API: :class:`Workflow`, a handle on a workflow kept in the state database.

Every change (``add_job``, ``add_dependencies``, ``remove_job``) is validated and written
to the store at once, so it also reaches a run in progress, in this process or another::

    from hybridflow import Workflow
    wf = Workflow.load("examples/fanout/workflow.yaml")
    wf.add_job("extra", exec="echo more")
    wf.add_dependencies("end,extra")
    wf.run()
    print(wf.table())
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import shlex
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import config, load as loading, spec as specs
from .engine import Engine
from .errors import NotFoundError, SpecError
from .keys import check_keys
from .names import chain_edges
from .policies import SchedulingPolicy
from .rerun import RerunMode
from .savedstate import saved_states
from .snapshot import JobView, WorkflowView
from .spec import JobSpec, WorkflowSpec
from .states import WorkflowState
from .store.sqlite import Store
from .validate import validate

if TYPE_CHECKING:
    from rich.table import Table


log = logging.getLogger(__name__)


def open_store(home: str | Path | None = None) -> Store:
    """The store of ``home`` (default ``$HYBRIDFLOW_HOME``)."""
    path = Path(home) / "hybridflow.db" if home else config.database_path()
    return Store(path)


class Workflow:
    """A named workflow in the state database.

    ``Workflow(name)`` opens it, creating an empty one when it does not exist yet, whose
    ``folder`` (default: the current directory) is where its relative scripts are found and
    its local jobs run, as a file's folder is for :meth:`load`.
    """

    def __init__(self, name: str, *, store: Store | None = None, folder: str | Path | None = None) -> None:
        self.store = store or open_store()
        self.name = name
        if not self.store.exists(name):
            base = Path(folder) if folder is not None else Path.cwd()
            self.store.save(validate(WorkflowSpec(name=name, base_dir=str(base.resolve()))))

    @classmethod
    def load(cls, path: str | Path, *, name: str | None = None, store: Store | None = None,
             with_state: bool = False) -> Workflow:
        """Read a YAML file (cloudmesh-cc format), validate it and store it.

        A script that does not exist yet is stored with a warning, as cloudmesh-cc does;
        :meth:`run` refuses the workflow until it exists. ``with_state`` restores the
        ``status``/``progress`` a saved file carries, so that a finished run can be viewed
        (and its graph rendered) elsewhere. Raises
        :class:`~hybridflow.errors.SpecError`; nothing is stored then.
        """
        spec = loading.load(path, name=name, store_missing=True)
        for line in spec.warnings:  # kept but doubtful (a missing script: the run refuses it)
            log.warning("%s", line)
        states = saved_states(path, spec.jobs) if with_state else {}
        wf = cls.from_spec(spec, store=store)
        if states:
            wf.store.restore_states(wf.name, states)
        return wf

    @classmethod
    def from_spec(cls, spec: WorkflowSpec, *, store: Store | None = None) -> Workflow:
        store = store or open_store()
        store.save(validate(spec))
        return cls(spec.name, store=store)

    # -- the description -------------------------------------------------------------------

    @property
    def spec(self) -> WorkflowSpec:
        return self.store.spec(self.name)

    def add_job(self, name: str, *, kind: str = "local", after: Sequence[str] = (), **fields: Any) -> JobSpec:
        """Add (or replace) a job; keys as in YAML (``exec``, ``script``, ``host``...).

        ``after`` names its parents (added in the same transaction, so a running
        coordinator never sees the job without them). Works while the workflow runs: the
        running coordinator starts it when ready. Keys are checked as in a file: one close
        to a known key (``retires``) is a :class:`~hybridflow.errors.SpecError` with "did
        you mean"; any other unknown key is kept as a job argument with a logged warning.
        """
        for line in check_keys({"workflow": {"nodes": {name: {"kind": kind, **fields}}}}):
            log.warning("%s", line)
        job = JobSpec.from_dict(name, {"kind": kind, **fields})
        edges = [(parent, job.name) for parent in after]
        updated = validate(self.spec.with_jobs([job]).with_edges(edges))
        self.store.add_jobs(self.name, [updated.jobs[job.name]], edges)
        return updated.jobs[job.name]

    def add_call(self, fn: Callable[..., Any], /, *args: Any, after: Sequence[str] = (), name: str | None = None,
                 inputs: Mapping[str, str] | None = None, **kwargs: Any) -> JobSpec:
        """Add a function node: a job that calls ``fn(*args, **kwargs)``.

        ``fn`` is pickled by value (with ``args``/``kwargs``) into a bundle under
        ``$HYBRIDFLOW_HOME/bundles``; made with ``hybridflow.remote(fn, host=...)`` it runs
        where that says (its ``kind``, ``partition``, ``retries``...), else locally. A value
        ``"{JOB.result}"`` (or ``inputs={param: JOB}``) passes that function node's result
        object, staged like a file; JOB becomes a parent. ``name`` defaults to ``fn``'s name.
        Returns the stored job (see :mod:`hybridflow.callnodes`).
        """
        from . import callnodes
        from .functions import bundle as bundles

        node_options = getattr(fn, "node_options", None)
        options: dict[str, Any] = dict(node_options()) if callable(node_options) else {}
        function = getattr(fn, "fn", fn) if callable(node_options) else fn
        refs: dict[str, str] = dict(inputs or {})
        plain_args: list[Any] = []
        for index, value in enumerate(args):
            match = callnodes.RESULT_REF.fullmatch(value) if isinstance(value, str) else None
            if match:
                refs[str(index)] = match.group(1)
            plain_args.append(None if match else value)
        plain_kwargs: dict[str, Any] = {}
        for key, value in kwargs.items():
            match = callnodes.RESULT_REF.fullmatch(value) if isinstance(value, str) else None
            if match:
                refs[key] = match.group(1)
            else:
                plain_kwargs[key] = value
        stored = bundles.pickle_arguments(plain_args, plain_kwargs)
        bundle = bundles.write_bundle(config.home() / "bundles", function, args=stored)
        fields = {**options, "call": bundles.target_of(function), "bundle": str(bundle), "inputs": refs}
        kind = str(fields.pop("kind", "local"))
        return self.add_job(name or bundles.job_name(function), kind=kind,
                            after=list(dict.fromkeys([*after, *refs.values()])), **fields)

    def result(self, job: str) -> Any:
        """The result of function node ``job`` (run first): its return value, or its
        exception re-raised with the remote traceback attached."""
        from .functions import results

        view = self.status()
        if job not in view.jobs:
            raise NotFoundError(f"workflow '{self.name}' has no job '{job}'")
        if not view.jobs[job].state.is_terminal:
            raise NotFoundError(f"job '{job}' of workflow '{self.name}' has not finished ({view.jobs[job].state.value})")
        return results.outcome(view, job, f"{self.name}:{job}")

    def add_dependencies(self, *chains: str) -> None:
        """Add edges from chains such as ``"a,b,c"`` (a→b→c) or ``"prep,train[1-3]"``."""
        edges: list[tuple[str, str]] = []
        for chain in chains:
            edges.extend(chain_edges(chain))
        current = self.spec
        validate(current.with_edges(edges))
        self.store.add_jobs(self.name, [], edges)

    def remove_job(self, name: str) -> None:
        """Remove a job that is not running, with its edges."""
        self.store.remove_job(self.name, name)

    def delete(self) -> None:
        self.store.delete(self.name)

    def __iter__(self) -> Iterator[JobView]:
        return iter(self.status().jobs.values())

    def __len__(self) -> int:
        return len(self.spec.jobs)

    def __getitem__(self, job: str) -> JobView:
        try:
            return self.status().jobs[job]
        except KeyError:
            raise NotFoundError(f"workflow '{self.name}' has no job '{job}'") from None

    # -- running ---------------------------------------------------------------------------

    def engine(
        self,
        *,
        parallel: bool = True,
        policy: SchedulingPolicy | None = None,
        workdir: str | Path | None = None,
        on_update: Callable[[Engine], None] | None = None,
        rerun: RerunMode | str = RerunMode.DEFAULT,
        from_jobs: Sequence[str] = (),
        only_jobs: Sequence[str] = (),
        detach: bool | None = None,
        reconcile: bool = False,
    ) -> Engine:
        """An engine for this workflow (see :meth:`run` for the options)."""
        return Engine(self.store, self.name, policy=policy, sequential=not parallel, run_dir=workdir,
                      on_update=on_update, rerun=RerunMode(rerun), from_jobs=from_jobs, only=only_jobs,
                      detach=detach, reconcile=reconcile)

    def run(self, parallel: bool = True, **options: Any) -> WorkflowState:
        """Run (or resume) the workflow to the end; returns its final state.

        Options: ``policy`` (a :class:`SchedulingPolicy`), ``workdir``, ``on_update``,
        ``rerun`` (``"default"``: reuse jobs that succeeded and are unchanged — same spec,
        script content and parents —; ``"failed"``: only unsuccessful jobs and their
        dependents; ``"force"``: everything), ``from_jobs`` (those and their
        descendants) and ``only_jobs`` (just those: see
        :class:`~hybridflow.coordinator.RunRequest`; ``from_jobs`` must name them too),
        ``detach`` (hand the Slurm jobs off and return ``running`` once only Slurm holds
        work: :mod:`hybridflow.handoff`; default: the file's ``handoff:``).
        Attempts still running from a coordinator that died are re-attached.
        """
        return asyncio.run(self.engine(parallel=parallel, **options).run())

    def cancel(self) -> bool:
        """Ask the running coordinator (any process) to cancel; False if none runs."""
        return self.store.request_cancel(self.name)

    # -- looking at it ---------------------------------------------------------------------

    def status(self) -> WorkflowView:
        return self.store.view(self.name)

    # the renderers (rich tables, networkx layout) load only when something is rendered

    def table(self) -> Table:
        from . import render

        return render.status_table(self.status())

    def graph(self, path: str | Path, format: str | None = None) -> Path:
        """Write the graph as SVG, DOT or Mermaid (chosen by ``format`` or the suffix)."""
        from . import render

        path = Path(path)
        fmt = format or {".dot": "dot", ".gv": "dot", ".mmd": "mermaid"}.get(path.suffix, "svg")
        writers = {"svg": render.to_svg, "dot": render.to_dot, "mermaid": render.to_mermaid}
        if fmt not in writers:
            raise SpecError(f"unknown graph format '{fmt}' (valid: dot, mermaid, svg)")
        path.write_text(writers[fmt](self.status()), encoding="utf-8")
        return path

    def save(self, path: str | Path) -> Path:
        """Export with state: YAML (loads back as the same workflow) or ``.json``."""
        path = Path(path)
        view = self.status()
        if path.suffix == ".json":
            from .render.json import to_json

            path.write_text(to_json(view), encoding="utf-8")
        else:
            states = {name: (job.state.value, job.progress) for name, job in view.jobs.items()}
            spec = view.spec
            if path.resolve().parent != Path(spec.base_dir).resolve():
                spec = absolute_scripts(spec)
            path.write_text(specs.dump_yaml(spec, states), encoding="utf-8")
        return path


def absolute_scripts(spec: WorkflowSpec) -> WorkflowSpec:
    """The spec with script and venv paths made absolute, to be saved in another folder."""
    jobs = []
    for job in spec.jobs.values():
        changes: dict[str, Any] = {}
        if job.script:
            changes["script"] = shlex.join([str(spec.resolve(job.script_path or "")), *job.script_args])
        if job.venv:
            changes["venv"] = str(spec.resolve(job.venv))
        jobs.append(dataclasses.replace(job, **changes))
    return spec.with_jobs(jobs)
