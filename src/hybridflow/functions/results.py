"""Reading a call's result file (written by :mod:`.runner`) and turning it into a value.

A function node's attempt leaves ``NAME.result`` in its run directory on its host; a
successful attempt's is staged back into the workflow's folder like any ``stage_out``
file. :func:`fetch` reads it from there, or, for an attempt that failed (stage-out runs
only for successes), from the host over its usual transport. :func:`outcome` checks that
the file is the latest attempt's (its token) and gives the value, raises the remote
exception with the remote traceback attached (``add_note``), or raises :class:`CallError`
with the runner's one line (a version mismatch, say).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import cloudpickle

from .. import callnodes, config
from ..errors import HostError, HybridflowError
from ..hosts.shell import release_shell, shell_for
from ..snapshot import WorkflowView
from ..states import JobState
from . import driver

log = logging.getLogger(__name__)

MAGIC = b"HFRESULT1\n"


class CallError(HybridflowError):
    """A call ended without a value: its function could not run there, was canceled, or
    raised an exception that cannot be re-raised here. The message is one line."""


@dataclass(frozen=True, slots=True)
class RemoteResult:
    """A return value over the result size limit: left on ``host`` at ``path``."""

    host: str
    path: str
    size: int


@dataclass(frozen=True, slots=True)
class ResultFile:
    """A parsed result file: its JSON header and the pickled payload after it."""

    header: dict[str, Any]
    payload: bytes

    @property
    def size(self) -> int:
        return int(self.header.get("size") or 0)


def parse(data: bytes, where: str) -> ResultFile:
    """Split a result file; :class:`CallError` when it is not one."""
    if not data.startswith(MAGIC):
        raise CallError(f"{where} is not a hybridflow result file")
    line, _, payload = data[len(MAGIC):].partition(b"\n")
    try:
        header = json.loads(line)
    except ValueError:
        raise CallError(f"{where}: unreadable result header") from None
    if not isinstance(header, dict):
        raise CallError(f"{where}: unreadable result header")
    return ResultFile(header, payload)


async def read_on_host(view: WorkflowView, job: str, path: str) -> bytes | None:
    """The bytes of ``path`` on the host that runs ``job`` (None when there is no such file)."""
    spec = view.spec
    job_spec = spec.jobs[job]
    shell = shell_for(config.host_config(spec, job_spec), job_spec.kind)
    try:
        return await shell.read_bytes(await shell.resolve(path))
    finally:
        await release_shell(shell)


def fetch(view: WorkflowView, job: str) -> tuple[ResultFile, str] | None:
    """The result file of ``job``'s latest attempt and where it was read; None if none."""
    name = callnodes.result_file(job)
    local = Path(view.spec.base_dir) / name
    attempt = view.attempts.get(job)
    state = view.jobs[job].state
    candidates: list[tuple[str, bytes | None]] = []
    if local.is_file():
        candidates.append((str(local), local.read_bytes()))
    remote = attempt is not None and state is not JobState.DONE and view.spec.jobs[job].kind != "local"
    if remote and attempt is not None:
        path = str(PurePosixPath(attempt.workdir) / name)
        try:
            candidates.insert(0, (f"{attempt.host}:{path}", driver.run_sync(read_on_host(view, job, path), timeout=300)))
        except HostError as exc:
            log.warning("job %s: cannot read its result on %s: %s", job, attempt.host, exc)
    token = attempt.token if attempt is not None else None
    for where, data in candidates:
        if data is None:
            continue
        found = parse(data, where)
        if token is None or found.header.get("token") == token:
            return found, where
        log.info("job %s: %s belongs to another attempt", job, where)
    return None


def outcome(view: WorkflowView, job: str, call_id: str) -> Any:
    """The value of a finished call, or its error raised (see the module's contract)."""
    state = view.jobs[job].state
    found = fetch(view, job)
    if found is None:
        message = view.jobs[job].message or state.value
        raise CallError(f"call {call_id} ended {state.value} without a result ({message})")
    result, where = found
    header = result.header
    if header.get("ok"):
        if header.get("stored"):
            attempt = view.attempts.get(job)
            return RemoteResult(attempt.host if attempt else "localhost", str(header["stored"]), result.size)
        return cloudpickle.loads(result.payload)
    line = str(header.get("error") or "failed")
    if header.get("kind") == "exception" and result.payload:
        try:
            exc = cloudpickle.loads(result.payload)
        except Exception as problem:  # the exception's class may not exist here
            raise CallError(f"call {call_id} raised {line} (not re-raised here: {problem})") from None
        if isinstance(exc, BaseException):
            exc.add_note(f"remote traceback (call {call_id}, {where}):\n{header.get('traceback', '')}".rstrip())
            raise exc
    if header.get("kind") == "exception":
        raise CallError(f"call {call_id} raised {line}\n{header.get('traceback', '')}".rstrip())
    raise CallError(f"call {call_id}: {line}")
