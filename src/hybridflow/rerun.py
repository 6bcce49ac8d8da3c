"""Which jobs a new run of a workflow runs again, and which it reuses.

A job's fingerprint hashes its spec, its script file's content and its parents'
fingerprints. By default a job that succeeded before and whose fingerprint is unchanged is
reused; everything that did not succeed, or changed (or whose parents changed), runs.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from enum import StrEnum

from . import dag
from .errors import SpecError
from .spec import WorkflowSpec
from .states import JobState


class RerunMode(StrEnum):
    DEFAULT = "default"  # run what did not succeed or changed; reuse the rest
    FAILED = "failed"  # only unsuccessful jobs and their descendants
    FORCE = "force"  # everything


def fingerprints(spec: WorkflowSpec, graph: dag.DAG) -> dict[str, str]:
    """A content hash per job (spec, script bytes, parents' hashes)."""
    found: dict[str, str] = {}
    for job in dag.topological_order(graph):
        job_spec = spec.jobs[job]
        digest = hashlib.sha256(json.dumps(job_spec.to_dict(), sort_keys=True, default=str).encode())
        if job_spec.script_path:
            digest.update(_script_bytes(spec, job_spec.script_path))
        for parent in sorted(graph.predecessors(job)):
            digest.update(found[parent].encode())
        found[job] = digest.hexdigest()[:20]
    return found


def _script_bytes(spec: WorkflowSpec, script: str) -> bytes:
    """The script's content, or a marker when it cannot be read (missing, a link loop, a
    name the file system refuses): the run itself then refuses the job, naming it."""
    try:
        path = spec.resolve(script)
        return path.read_bytes() if path.is_file() else b"<missing>"
    except (OSError, RuntimeError, ValueError):  # RuntimeError: pathlib's "symlink loop"
        return b"<unreadable>"


def plan(
    graph: dag.DAG,
    states: Mapping[str, JobState],
    stored: Mapping[str, str | None],
    current: Mapping[str, str],
    mode: RerunMode = RerunMode.DEFAULT,
    from_jobs: Sequence[str] = (),
) -> tuple[set[str], list[str]]:
    """(jobs to reset to ready, jobs reused) for a new run; active jobs are left alone."""
    finished = {job for job, state in states.items() if state.is_terminal}
    if mode is RerunMode.FORCE:
        reset = set(finished)
    elif from_jobs:
        unknown = [job for job in from_jobs if job not in graph]
        if unknown:
            raise SpecError(f"--from names unknown job '{unknown[0]}'")
        reset = set(from_jobs)
        for job in from_jobs:
            reset |= dag.descendants(graph, job)
        reset &= finished
    else:
        reset = {job for job in finished if states[job].is_unsuccessful}
        if mode is RerunMode.FAILED:
            for job in list(reset):
                reset |= dag.descendants(graph, job) & finished
        else:
            reset |= {job for job in finished if states[job] is JobState.DONE and stored.get(job) != current[job]}
    reused = [job for job in graph.nodes if states[job] is JobState.DONE and job not in reset]
    return reset, reused
