"""Validation of a :class:`WorkflowSpec`: every problem is one :class:`SpecError` line.

Contract of :func:`validate`: the spec's jobs get their defaults (a function node becomes
the job that runs it, :func:`hybridflow.callnodes.resolve`; a job without ``script`` or
``exec`` runs ``NAME.sh`` beside the workflow), then every function of :data:`CHECKS`
runs in order, each raising :class:`SpecError` (:class:`LimitError` for the size limits)
naming the file, the job and the field. :data:`CHECKS` is a fixed tuple: nothing is added
to it by importing another module. The cheap checks (sizes, names) come first, so that a
workflow over the limits is refused before a cycle search over its edges.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from . import callnodes, config, dag, retry
from .budget import budget_of
from .errors import LimitError, SpecError
from .files import escaping_link, is_file
from .hosts import KINDS
from .jobfields import ENV_NAME
from .limits import Limits
from .names import check_name, check_path, check_workflow_name
from .spec import JobSpec, WorkflowSpec

#: node keys whose entries are paths relative to the run directory
STAGE_KEYS = ("stage_in", "stage_out")

Check = Callable[[WorkflowSpec, Limits], None]


def check_size(spec: WorkflowSpec, limits: Limits) -> None:
    """At most ``max_jobs`` jobs and ``max_edges`` dependencies (after expansion)."""
    if len(spec.jobs) > limits.max_jobs:
        raise LimitError(f"workflow has {len(spec.jobs)} jobs {limits.hint('max_jobs')}", file=spec.source)
    if len(spec.edges) > limits.max_edges:
        raise LimitError(f"workflow has {len(spec.edges)} dependencies {limits.hint('max_edges')}",
                         file=spec.source, field="dependencies")


def check_names(spec: WorkflowSpec, limits: Limits) -> None:
    """The workflow's, every job's and every named host's name is valid, matched whole."""
    try:
        check_workflow_name(spec.name)
    except SpecError as exc:
        raise SpecError(exc.problem, file=spec.source, field="name") from None
    for job in spec.jobs.values():
        for what, value in (("job", job.name), ("host", job.host)):
            if value is None:
                continue
            try:
                check_name(value, what)
            except SpecError as exc:
                field = "name" if what == "job" else what
                raise SpecError(exc.problem, file=spec.source, job=job.name, field=field) from None
        if job.user is not None and not job.user.isprintable():
            raise SpecError(f"user {job.user!r} holds a control character", file=spec.source, job=job.name, field="user")


def check_values(spec: WorkflowSpec, limits: Limits) -> None:
    """Job arguments and workflow options are plain data (what JSON can store), nested at
    most ``max_depth`` levels: the Python API builds them freely, YAML has dates and bytes."""
    places: list[tuple[str | None, str, Any]] = [
        (job.name, str(key), value) for job in spec.jobs.values() for key, value in job.args.items()
    ]
    places += [(None, str(key), value) for key, value in spec.options.items()]
    for job, key, value in places:
        problem = _plain(value, limits.max_depth)
        if problem is not None:
            error = LimitError if problem.startswith("nested") else SpecError
            raise error(problem, file=spec.source, job=job, field=key)


#: the scalar types a stored spec may hold
PLAIN = (str, int, float, bool, type(None))


def _plain(value: Any, bound: int) -> str | None:
    """Why ``value`` is not plain data nested at most ``bound`` levels, or None (no recursion)."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, level = stack.pop()
        if level > bound:
            return f"nested deeper than {bound} levels (limit {bound}; set HYBRIDFLOW_MAX_DEPTH to change it)"
        if isinstance(item, Mapping):
            stack.extend((child, level + 1) for child in item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend((child, level + 1) for child in item)
        elif not isinstance(item, PLAIN):
            return f"holds a {type(item).__name__} value: use a string, number, boolean, list or mapping"
    return None


def check_kinds(spec: WorkflowSpec, limits: Limits) -> None:
    """Every job's kind is a known host kind."""
    for job in spec.jobs.values():
        if job.kind not in KINDS:
            valid = ", ".join(sorted(KINDS))
            raise SpecError(f"unknown kind '{job.kind}' (valid: {valid})", file=spec.source, job=job.name, field="kind")


def check_env(spec: WorkflowSpec, limits: Limits) -> None:
    """``env`` names shell variables (matched whole) and holds text: what loading gives, and
    what a spec built in Python or rewritten by a sweep must keep."""
    for job in spec.jobs.values():
        for key, value in job.env.items():
            if not isinstance(key, str) or not ENV_NAME.fullmatch(key):
                raise SpecError(f"{key!r} is not a variable name ([A-Za-z_][A-Za-z0-9_]*)",
                                file=spec.source, job=job.name, field="env")
            if not isinstance(value, str):
                raise SpecError("value must be text", file=spec.source, job=job.name, field=f"env.{key}")


def check_dependencies(spec: WorkflowSpec, limits: Limits) -> None:
    """Every edge names declared jobs, and the edges form no cycle."""
    for parent, child in spec.edges:
        for name in (parent, child):
            if name not in spec.jobs:
                raise SpecError(f"dependency '{parent},{child}' names unknown job '{name}'",
                                file=spec.source, field="dependencies")
    cycle = dag.find_cycle(dag.build(spec.jobs, spec.edges))
    if cycle:
        raise SpecError(f"dependency cycle: {' -> '.join(cycle)}", file=spec.source, field="dependencies")


def check_payloads(spec: WorkflowSpec, limits: Limits) -> None:
    """Every job has a payload; a script path is printable and no link carries it out of the
    workflow folder. A script that does not exist is not an error here (cloudmesh-cc stores
    such a workflow): :func:`missing_scripts` finds them for the run to refuse."""
    for job in spec.jobs.values():
        if not job.script:
            if not job.exec:
                default = f"'{job.name}' or " if job.name.endswith(SCRIPT_SUFFIXES) else ""
                raise SpecError(f"neither 'script' nor 'exec' given and no default script {default}'{job.name}.sh'",
                                file=spec.source, job=job.name)
            continue
        written = _script_path(job, spec.source)
        if not written.isprintable():
            raise SpecError(f"script path {written!r} holds a control character", file=spec.source, job=job.name,
                            field="script")
        if not _is_file(spec, written):
            continue
        outside = escaping_link(spec.base_dir, written)
        if outside is not None:
            raise SpecError(f"'{written}' is a link to '{outside}', outside the workflow folder",
                            file=spec.source, job=job.name, field="script")


def missing_scripts(spec: WorkflowSpec, jobs: Iterable[str] | None = None) -> list[SpecError]:
    """One error per job (of ``jobs``, default all) whose script file does not exist."""
    found: list[SpecError] = []
    for name in spec.jobs if jobs is None else jobs:
        job = spec.jobs[name]
        if job.script:
            written = _script_path(job, spec.source)
            if not _is_file(spec, written):
                found.append(SpecError(f"file '{written}' does not exist", file=spec.source, job=job.name,
                                       field="script"))
    return found


def _script_path(job: JobSpec, file: str | None) -> str:
    try:
        return job.script_path or ""
    except ValueError as exc:  # shlex: no closing quotation
        raise SpecError(f"cannot split: {exc}", file=file, job=job.name, field="script") from None


def _is_file(spec: WorkflowSpec, written: str) -> bool:
    """Whether ``written`` names a file (False for a link loop, a NUL byte, an overlong name)."""
    try:
        return is_file(spec.resolve(written))
    except (OSError, RuntimeError, ValueError):
        return False


def check_policies(spec: WorkflowSpec, limits: Limits) -> None:
    """Retry, timeout, deadline and budget keys parse (``hybridflow.retry``, ``hybridflow.budget``)."""
    retry.check(spec)
    budget_of(spec)


def check_hosts(spec: WorkflowSpec, limits: Limits) -> None:
    """Every job's host exists and suits its kind; stage lists hold sane relative paths."""
    hosts = config.known_hosts(spec)
    file = spec.source
    for job in spec.jobs.values():
        for key in STAGE_KEYS:
            try:
                for path in getattr(job, key):
                    check_path(path)
            except SpecError as exc:
                raise SpecError(exc.problem, file=file, job=job.name, field=key) from None
        local = config.is_local_name(job.host)
        if job.kind == "local":
            continue  # cloudmesh-cc runs it here whatever host it names (see ignored_hosts)
        if local:
            if job.kind in config.REMOTE_ONLY:
                raise SpecError(f"kind '{job.kind}' needs a 'host:'", file=file, job=job.name, field="host")
            continue
        if job.host not in hosts:
            raise SpecError(config.unknown_host(str(job.host), hosts), file=file, job=job.name, field="host")
        if job.kind in config.REMOTE_ONLY and not hosts[str(job.host)].address:
            raise SpecError(f"host '{job.host}' has no address", file=file, job=job.name, field="host")


def ignored_hosts(spec: WorkflowSpec) -> str | None:
    """The warning for ``kind: local`` jobs that name another host (they run here, as in
    cloudmesh-cc), or None."""
    ignored = [f"{job.name} (host '{job.host}')" for job in spec.jobs.values()
               if job.kind == "local" and not config.is_local_name(job.host)]
    if not ignored:
        return None
    more = f" and {len(ignored) - 5} more" if len(ignored) > 5 else ""
    return (f"{spec.source or spec.name}: kind 'local' runs on this machine; host ignored for "
            f"{', '.join(ignored[:5])}{more} (use kind 'ssh' or 'slurm' to run there)")


#: the checks :func:`validate` runs, in this order
CHECKS: tuple[Check, ...] = (
    check_size,
    check_names,
    check_values,
    check_kinds,
    check_env,
    check_dependencies,
    check_payloads,
    check_policies,
    check_hosts,
)


#: what a file must end with to run as a script when ``exec`` or the job's name names it
SCRIPT_SUFFIXES = (".sh", ".py", ".ipynb")


def with_defaults(spec: WorkflowSpec) -> WorkflowSpec:
    """``spec`` with the scripts cloudmesh-cc infers, for jobs whose file exists beside the
    workflow: ``exec: a.ipynb`` (one word naming a ``.sh``/``.py``/``.ipynb`` file) runs that
    file like ``script:``; a job without payload named ``b.py`` (with such a suffix) runs
    ``b.py``, any other one ``NAME.sh``."""
    return spec.with_jobs(_defaults(spec))


def _defaults(spec: WorkflowSpec) -> Iterator[JobSpec]:
    for job in spec.jobs.values():
        if job.script:
            continue
        if job.exec:
            word = job.exec.strip()
            if word.endswith(SCRIPT_SUFFIXES) and " " not in word and _is_file(spec, word):
                yield dataclasses.replace(job, script=word, exec=None)
            continue
        for candidate in ((job.name,) if job.name.endswith(SCRIPT_SUFFIXES) else ()) + (f"{job.name}.sh",):
            if _is_file(spec, candidate):
                yield dataclasses.replace(job, script=candidate)
                break


def validate(spec: WorkflowSpec, *, limits: Limits | None = None) -> WorkflowSpec:
    """Check ``spec`` (see the module contract); returns it with defaults filled."""
    limits = limits or Limits.from_env()
    check_size(spec, limits)
    spec = with_defaults(callnodes.resolve(spec))
    for check in CHECKS:
        check(spec, limits)
    return spec

