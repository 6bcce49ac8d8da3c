"""Validation of a :class:`WorkflowSpec`: every problem is one :class:`SpecError` line.

Other modules add checks by appending to :data:`CHECKS` (a function taking the spec and
raising :class:`SpecError`), e.g. the hosts configuration checks that named hosts exist.
"""

from __future__ import annotations

from collections.abc import Callable

from . import dag
from .errors import SpecError
from .spec import JobSpec, WorkflowSpec
from .hosts import KINDS

CHECKS: list[Callable[[WorkflowSpec], None]] = []


def _check_payload(spec: WorkflowSpec, job: JobSpec) -> JobSpec:
    file = spec.source
    if job.script:
        path = spec.resolve(job.script_path or "")
        if not path.is_file():
            raise SpecError(f"file '{job.script_path}' does not exist", file=file, job=job.name, field="script")
        return job
    if job.exec:
        return job
    default = spec.resolve(f"{job.name}.sh")
    if default.is_file():
        return JobSpec(**{**_fields(job), "script": f"{job.name}.sh"})
    raise SpecError(
        f"neither 'script' nor 'exec' given and no default script '{job.name}.sh'",
        file=file,
        job=job.name,
    )


def _fields(job: JobSpec) -> dict:
    return {name: getattr(job, name) for name in JobSpec.__slots__}


def validate(spec: WorkflowSpec) -> WorkflowSpec:
    """Check ``spec``; returns it with defaults filled (``NAME.sh`` scripts).

    Raises :class:`SpecError` for an unknown kind, an unknown dependency, a cycle, a
    missing script or a job with nothing to run.
    """
    file = spec.source
    for job in spec.jobs.values():
        if job.kind not in KINDS:
            valid = ", ".join(sorted(KINDS))
            raise SpecError(f"unknown kind '{job.kind}' (valid: {valid})", file=file, job=job.name, field="kind")
    for parent, child in spec.edges:
        for name in (parent, child):
            if name not in spec.jobs:
                raise SpecError(
                    f"dependency '{parent},{child}' names unknown job '{name}'",
                    file=file,
                    field="dependencies",
                )
    cycle = dag.find_cycle(dag.build(spec.jobs, spec.edges))
    if cycle:
        raise SpecError(f"dependency cycle: {' -> '.join(cycle)}", file=file, field="dependencies")
    spec = spec.with_jobs([_check_payload(spec, job) for job in spec.jobs.values()])
    from . import config, retry  # noqa: F401  (config registers the hosts check on import)

    retry.check(spec)
    for check in CHECKS:
        check(spec)
    return spec
