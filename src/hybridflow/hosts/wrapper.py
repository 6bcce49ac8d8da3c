"""The one job wrapper every kind runs: rendering it and building the payload line.

The wrapper (``templates/job.sh``) changes to the job's working directory (the workflow's
folder for local jobs, the run directory elsewhere), writes ``PID TOKEN`` to
``{stem}.pid``, activates the venv, runs the payload with stdout+stderr to ``{stem}.log``
and writes ``STATUS TOKEN`` to ``{stem}.exit`` (one short write: a reader that finds the
file empty treats it as not written yet; see :mod:`.attempt` for why the token). Completion
is read from that file, never from a progress line. This is the one place where command
lines for a shell are quoted.

The payload runs in the wrapper's own shell (``{ ...; }``): a subshell around it would cost
a fork per attempt, and bash forks again for the command an ``eval`` runs, so a line such
as ``python train.py`` took two forks where it now takes one, and a line of builtins
(``true``, ``echo``) none. A line that could end or take over the wrapper's shell before
it writes the exit file still runs in a subshell (:func:`isolated`); the wrapper's own
lines call builtins as such (a line may define a function ``printf``).
"""

from __future__ import annotations

import functools
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import PurePosixPath
from string import Template

from ..errors import HostError
from .attempt import AttemptFiles
from .base import StagedJob

NOTEBOOK_RUNNER = "run_notebook.py"
#: what a variable name exported by the wrapper must be (it reaches the shell unquoted)
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
#: what in a shell line could end the wrapper's shell or replace its process, or run text
#: not seen here: these words, a ``.`` command, an expansion that exits when a variable is
#: unset (``${X:?}``); such a line runs in a subshell
_TAKES_OVER = re.compile(r"(?<![\w.-])(?:exit|exec|set|trap|eval|source)(?![\w.-])|(?<![\w./-])\.(?=\s|$)"
                         r"|\$\{[^}]*\?")


def isolated(line: str) -> bool:
    """Whether a user's shell line must run in a subshell of the wrapper: it mentions
    ``exit``, ``exec``, ``set``, ``trap``, ``eval``, ``source`` or ``.`` as a word, or has a
    ``${...?...}`` expansion (also inside quotes: a false alarm costs one fork)."""
    return _TAKES_OVER.search(line) is not None


@functools.cache
def template_text(name: str) -> str:
    return resources.files("hybridflow.hosts").joinpath("templates", name).read_text(encoding="utf-8")


@dataclass(frozen=True, slots=True)
class _Split:
    """A ``string.Template`` text cut once at its placeholders: ``texts[i]`` comes before
    ``names[i]``, ``texts[-1]`` ends it. Filling it is one join; ``Template.substitute``
    scans the whole text again for every attempt."""

    texts: tuple[str, ...]
    names: tuple[str, ...]

    @classmethod
    def of(cls, template: str) -> _Split:
        texts, names, pending, at = [], [], [], 0
        for match in Template.pattern.finditer(template):
            pending.append(template[at:match.start()])
            at = match.end()
            if match.group("escaped") is not None:
                pending.append("$")
                continue
            name = match.group("named") or match.group("braced")
            if name is None:
                raise ValueError(f"invalid placeholder in a wrapper template at {match.start()}")
            texts.append("".join(pending))
            names.append(name)
            pending = []
        texts.append("".join([*pending, template[at:]]))
        return cls(tuple(texts), tuple(names))

    def fill(self, values: Mapping[str, object]) -> str:
        parts = [part for text, name in zip(self.texts, self.names) for part in (text, str(values[name]))]
        return "".join([*parts, self.texts[-1]])


@functools.cache
def _job_template() -> _Split:
    return _Split.of(template_text("job.sh"))


def payload_argv(job: StagedJob, script: str | None, python: str, notebook_runner: str) -> list[str] | str:
    """The payload: an argv list, or for ``exec`` the user's shell line itself.

    ``script`` is where the job's script is on the executing host; ``python`` the
    interpreter for ``.py``/``.ipynb`` (``python`` when a venv is active). An executed
    notebook is written as ``{stem}.out.ipynb`` in the job's working directory, beside its
    other outputs.
    """
    spec = job.spec
    if spec.exec is not None and not spec.script:
        return spec.exec
    assert script is not None
    args = list(spec.script_args)
    if script.endswith(".py"):
        return [python, script, *args]
    if script.endswith(".ipynb"):
        return [python, notebook_runner, script, f"{job.stem}.out.ipynb"]
    return ["bash", script, *args]


def render(
    job: StagedJob,
    payload: Sequence[str] | str,
    *,
    workdir: str,
    cwd: str | None = None,
    venv: str | None = None,
    header: Sequence[str] = (),
    environment: Mapping[str, str] | None = None,
    footer: str = "",
) -> str:
    """The wrapper script text for one attempt whose files are in ``workdir`` (an absolute
    POSIX path on its host) and that runs in ``cwd`` (default ``workdir``), exported as
    ``$HF_WORKFLOW_DIR``.

    ``footer`` runs after the exit file is written (the local kind's wake-up line).
    """
    q = shlex.quote
    files = AttemptFiles(workdir, job.stem)
    if isinstance(payload, str):
        line = f"( eval {q(payload)} )" if isolated(payload) else f"{{ eval {q(payload)}; }}"
    else:
        line = f"{{ {shlex.join(payload)}; }}"
    activate = f". {q(str(PurePosixPath(venv) / 'bin' / 'activate'))}" if venv else ""
    env = {**job.env, **(environment or {})}
    for key in env:
        if not ENV_NAME.fullmatch(key):
            raise HostError(f"job '{job.job}': environment variable name {key!r} is not a shell name")
    exports = "\n".join(f"export {key}={q(value)}" for key, value in env.items())
    return _job_template().fill(dict(
        header="\n".join(header),
        workflow=q(job.workflow).replace("\n", " "),
        workflow_q=q(job.workflow),
        job=job.job,
        job_q=q(job.job),
        attempt=job.attempt,
        token=job.token,
        token_q=q(job.token),
        workdir=q(workdir),
        cwd=q(cwd or workdir),
        pidfile=q(files.pid),
        logfile=q(files.log),
        exitfile=q(files.exit),
        environment=exports,
        activate=activate,
        payload=line,
        footer=footer,
    ))


def render_array(header: Sequence[str], wrappers: Sequence[str]) -> str:
    """The driver script of an ``sbatch --array`` (:mod:`.arrays`): task *i* runs the
    wrapper ``wrappers[i]``, which writes that attempt's own log, pid and exit files."""
    q = shlex.quote
    cases = "\n".join(f"  {index}) exec bash {q(path)} ;;" for index, path in enumerate(wrappers))
    return ("#!/bin/bash\n" + "\n".join(header) + f'\ncase "${{SLURM_ARRAY_TASK_ID:-}}" in\n{cases}\nesac\n'
            'echo "hflow: no task ${SLURM_ARRAY_TASK_ID:-} in this array" >&2\nexit 97\n')
