"""Putting attempts on a host and bringing their outputs back, through a :class:`Shell`.

Shared by every kind that runs the wrapper somewhere else than the coordinator's process
(ssh, slurm, lsf, wsl). Layout of a run directory on a host::

    WORKDIR/{stem}.*          the attempt's files (:class:`.attempt.AttemptFiles`)
    WORKDIR/.hflow/           notebook runner
    WORKDIR/<script path>     the job's script, at its path relative to the workflow
    WORKDIR/../.hfcache/      large content-addressed files (a function call's bundle and
                              arguments, ``fn-SHA.py``/``args-SHA.pkl``), uploaded once per
                              host and hard-linked into every run directory that uses them

``stage_in``/``stage_out`` node keys are lists (or one string) of paths, globs allowed,
relative to the workflow's folder on the coordinator (:attr:`StagedJob.base_dir`) and to
the run directory on the host: inputs are copied from that folder to the same relative
path on the host, outputs from the host back into that folder (where the workflow's local
jobs, which run in it, find them).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from ..errors import HostError, SpecError
from ..names import check_path
from ..spec import JobSpec
from ..states import JobState
from . import wrapper
from .attempt import AttemptFiles
from .base import Observation, StagedJob, Submission, gather_limited
from .shell import Shell

log = logging.getLogger(__name__)

RUNNER_DIR = ".hflow"
CACHE_DIR = ".hfcache"
#: content-addressed files at least this large go through the host's cache (smaller ones
#: cost less to send again than to look up)
CACHED_MIN = 1 << 20
_CONTENT_NAME = re.compile(r"(?:fn|args)-[0-9a-f]{32}\.(?:py|pkl)")
#: a function giving extra header lines (``#SBATCH ...``) for a job in an absolute workdir
HeaderFn = Callable[[StagedJob, str], Sequence[str]]


def recorded_paths(raw: Any) -> tuple[str, ...]:
    """The ``stage_out`` paths of a stage record read back from a host (see
    :func:`.remote.stage_record`), checked as loading checks a spec's: ValueError if not."""
    if not isinstance(raw, list):
        raise ValueError("must be a list of paths")
    try:
        return tuple(check_path(item) for item in raw)
    except SpecError as exc:
        raise ValueError(exc.problem) from None


def script_target(spec: JobSpec) -> str | None:
    """Where the job's script goes, relative to the host's run directory."""
    script = spec.script_path
    if not script:
        return None
    path = PurePosixPath(script)
    if path.is_absolute() or ".." in path.parts:
        return path.name
    return str(path)


@dataclass(frozen=True, slots=True)
class Prepared:
    """A staged attempt: its absolute run directory and wrapper path on the host."""

    job: StagedJob
    workdir: str
    wrapper: str


async def prepare(
    shell: Shell,
    jobs: Sequence[StagedJob],
    *,
    python: str,
    header: HeaderFn | None = None,
    shared: bool = False,
) -> list[Prepared]:
    """Create run directories, copy scripts, notebook runner and stage_in files, write wrappers.

    ``shared``: the host sees the coordinator's filesystem (a batch system on this
    machine); its jobs then run in the workflow's folder, as local jobs do, and nothing is
    copied but the wrapper (and the notebook runner). Raises :class:`HostError`
    (permanent) when a stage_in file is missing, transient ones from the transport.
    """
    workdirs = {job.workdir: await shell.resolve(job.workdir) for job in jobs}
    for absolute in set(workdirs.values()):
        await shell.makedirs(absolute)
    # files of an earlier attempt with the same stem would pass for this one's
    stale = [path for j in jobs for path in AttemptFiles(workdirs[j.workdir], j.stem).stale]
    await shell.remove(stale)
    started: dict[str, asyncio.Task[Any]] = {}

    async def once(target: str, action: Callable[[], Any]) -> None:
        """Do ``action`` for ``target`` once; concurrent callers wait for the same task."""
        if target not in started:
            started[target] = asyncio.ensure_future(action())
        await started[target]

    async def one(job: StagedJob) -> Prepared:
        workdir = workdirs[job.workdir]
        base = PurePosixPath(workdir)
        cwd = str(job.base_dir.resolve()) if shared else workdir
        script = None
        target = script_target(job.spec)
        if shared:
            script = str(job.base_dir / job.spec.script_path) if job.spec.script_path else None
        else:
            await stage_in(shell, job, workdir)
        if target is not None and not shared:
            local = (job.base_dir / (job.spec.script_path or "")).resolve()
            script = str(base / target)
            if PurePosixPath(target).parent != PurePosixPath("."):
                await once(str(PurePosixPath(script).parent), lambda: shell.makedirs(str(PurePosixPath(script).parent)))
            await once(script, lambda: put_file(shell, local, script, workdir))
        runner = str(base / RUNNER_DIR / wrapper.NOTEBOOK_RUNNER)
        if script is not None and script.endswith(".ipynb"):
            code = wrapper.template_text(wrapper.NOTEBOOK_RUNNER).encode()
            await once(str(base / RUNNER_DIR), lambda: shell.makedirs(str(base / RUNNER_DIR)))
            await once(runner, lambda: shell.write_bytes(runner, code))
        interpreter = "python" if job.spec.venv else python
        payload = wrapper.payload_argv(job, script, interpreter, runner)
        lines = list(header(job, workdir)) if header else []
        text = wrapper.render(job, payload, workdir=workdir, cwd=cwd, venv=job.spec.venv, header=lines)
        path = AttemptFiles(workdir, job.stem).wrapper
        await shell.write_bytes(path, text.encode(), 0o755)
        return Prepared(job, workdir, path)

    return await gather_limited([one(job) for job in jobs], limit=16)


async def stage_in(shell: Shell, job: StagedJob, workdir: str) -> None:
    """Copy the job's ``stage_in`` files from the workflow's folder.

    Only regular files inside that folder are copied (directories file by file): a
    symbolic link is refused, naming it, unless the job sets ``stage_follow_links: true``,
    so that a link in the folder cannot carry ``/etc/passwd`` to another host.
    """
    patterns = job.spec.stage_in
    follow = job.spec.stage_follow_links
    folder = job.base_dir
    root = folder.resolve()
    for pattern in patterns:
        matches = sorted(folder.glob(pattern))
        if not matches:
            raise HostError(f"job '{job.job}': stage_in file '{pattern}' not found in {folder}")
        for local in (item for match in matches for item in _regular_files(job, match, root, follow)):
            relative = local.relative_to(folder).as_posix()
            target = str(PurePosixPath(workdir) / relative)
            if "/" in relative:
                await shell.makedirs(str(PurePosixPath(target).parent))
            await put_file(shell, local, target, workdir)
            log.debug("stage_in %s: %s -> %s:%s", job.job, local, shell.label, target)


async def put_file(shell: Shell, local: Path, target: str, workdir: str) -> None:
    """Copy ``local`` to ``target`` (inside ``workdir``, absolute); a large content-addressed
    file (its name is its hash) through the host's cache: sent only when the cache lacks it
    (into a temporary name, then renamed: a cut transfer leaves no half file behind)."""
    if not _CONTENT_NAME.fullmatch(local.name) or local.stat().st_size < CACHED_MIN:
        await shell.put(local, target)
        return
    cache = PurePosixPath(workdir).parent / CACHE_DIR
    cached = str(cache / local.name)
    script, args = 'ln -f "$1" "$2" 2>/dev/null || cp -f "$1" "$2"', [cached, target]
    if await shell.read_bytes(cached, 0, 0) is None:
        await shell.makedirs(str(cache))
        part = f"{cached}.{local.stat().st_mtime_ns}.part"
        await shell.put(local, part)
        script, args = 'mv -f "$3" "$1" && ' + script, [*args, part]
        log.debug("cache %s: %s -> %s", shell.label, local.name, cached)
    result = await shell.run(["sh", "-c", script, "hflow", *args])
    if not result.ok:
        raise HostError(f"{shell.label}: cannot place {local.name} in {workdir}: {result.err}")


def _regular_files(job: StagedJob, match: Path, root: Path, follow: bool) -> list[Path]:
    """The files a ``stage_in`` match stands for; HostError for links and special files."""
    found: list[Path] = []
    pending = [match]
    while pending:
        path = pending.pop()
        name = path.relative_to(job.base_dir).as_posix()
        if path.is_symlink() and not follow:
            raise HostError(f"job '{job.job}': stage_in '{name}' is a symbolic link "
                            "(set stage_follow_links: true to copy what it points to)")
        if not follow and not path.resolve().is_relative_to(root):
            raise HostError(f"job '{job.job}': stage_in '{name}' is outside the workflow folder")
        if path.is_dir():
            pending.extend(sorted(path.iterdir(), reverse=True))
        elif path.is_file():
            found.append(path)
        else:
            raise HostError(f"job '{job.job}': stage_in '{name}' is not a regular file")
    return found


async def stage_out(shell: Shell, patterns: Sequence[str], sub: Submission, workdir: str, folder: Path,
                    obs: Observation) -> Observation:
    """Copy the files of the ``stage_out`` ``patterns`` back into the workflow's ``folder``;
    a missing one turns success into FAILED naming it."""
    for pattern in patterns:
        matches = await shell.glob(workdir, pattern)
        if not matches:
            message = f"stage_out file '{pattern}' missing in {shell.label}:{workdir}"
            log.warning("job %s: %s", sub.job, message)
            return Observation(JobState.FAILED, obs.exit_code, message)
        for relative in matches:
            await shell.get(str(PurePosixPath(workdir) / relative), folder / relative)
            log.debug("stage_out %s: %s:%s -> %s", sub.job, shell.label, relative, folder)
    return obs


#: one command reporting on many attempts. Args: quadruples WORKDIR STEM PID TOKEN (PID
#: "-": do not check the process). Prints "INDEX exit N", "INDEX run PID", "INDEX cancel",
#: "INDEX gone PID" (process dead, no exit file), "INDEX none" (never started: no pid
#: file). Pid and exit files count only when they carry TOKEN (see :mod:`.attempt`).
PROBE = r"""
stamped() {  # FILE TOKEN: print the value of FILE's "VALUE TOKEN" line if TOKEN is its owner
  v= o=
  [ -f "$1" ] && read -r v o < "$1" 2>/dev/null
  [ -n "$v" ] && [ "$o" = "$2" ] && printf '%s' "$v"
}
i=0
while [ "$#" -ge 4 ]; do
  d=$1 s=$2 p=$3 k=$4; shift 4
  c=$(stamped "$d/$s.exit" "$k")
  if [ -n "$c" ]; then printf '%s exit %s\n' "$i" "$c"
  elif [ "$p" = "-" ]; then printf '%s none\n' "$i"
  else
    [ -n "$p" ] || p=$(stamped "$d/$s.pid" "$k")
    alive=
    if [ -n "$p" ]; then
      if [ -r "/proc/$p/cmdline" ]; then
        case "$(tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null)" in *"$s.hflow.sh"*) alive=1 ;; esac
      elif kill -0 "$p" 2>/dev/null; then alive=1
      fi
    fi
    c=$(stamped "$d/$s.exit" "$k")
    if [ -n "$alive" ]; then printf '%s run %s\n' "$i" "$p"
    elif [ -n "$c" ]; then printf '%s exit %s\n' "$i" "$c"
    elif [ -f "$d/$s.cancel" ]; then printf '%s cancel\n' "$i"
    elif [ -n "$p" ]; then printf '%s gone %s\n' "$i" "$p"
    else printf '%s none\n' "$i"
    fi
  fi
  i=$((i + 1))
done
"""


async def probe(shell: Shell, items: Sequence[tuple[str, str, str, str]]) -> list[tuple[str, str]]:
    """Run :data:`PROBE` once for ``(workdir, stem, pid, token)`` items; ``(word, value)`` each.

    Entries the output lacks come back as ``("unknown", "")``.
    """
    if not items:
        return []
    argv = ["bash", "-c", PROBE, "hflow-probe"]
    for workdir, stem, pid, token in items:
        argv += [workdir, stem, pid, token]
    result = await shell.run(argv)
    found: list[tuple[str, str]] = [("unknown", "")] * len(items)
    for line in result.out.splitlines():
        parts = line.split(None, 2)
        if len(parts) >= 2 and parts[0].isdigit() and int(parts[0]) < len(items):
            found[int(parts[0])] = (parts[1], parts[2] if len(parts) > 2 else "")
    if not result.ok:
        log.warning("probe on %s exited %s: %s", shell.label, result.returncode, result.err)
    return found


def exit_observation(text: str) -> Observation:
    """The observation for an exit status the probe read from an attempt's own exit file."""
    try:
        code = int(text.strip())
    except ValueError:
        return Observation(JobState.UNKNOWN, None, "exit file unreadable")
    if code == 0:
        return Observation(JobState.DONE, 0)
    return Observation(JobState.FAILED, code, f"exit code {code}")
