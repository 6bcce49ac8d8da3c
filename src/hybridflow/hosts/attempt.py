"""The files of one attempt on its host, and what makes them evidence of *that* attempt.

An attempt writes, in its run directory ``workdir`` and under its file stem (``NAME``,
then ``NAME.attempt2``...)::

    {stem}.hflow.sh   the rendered wrapper (carries the token in a comment)
    {stem}.pid        "PID TOKEN", written by the wrapper when it starts
    {stem}.log        the payload's stdout and stderr
    {stem}.exit       "STATUS TOKEN", written once the payload ended
    {stem}.cancel     written by a cancel request

Stems repeat (a workflow deleted and added again starts at attempt 1), so a pid or exit
file counts only when it carries the attempt's token: a file left by another attempt is
never evidence that this one ran, let alone that it succeeded.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class AttemptFiles:
    """Paths of an attempt's files on its host (POSIX paths: the host may be remote)."""

    workdir: str
    stem: str

    def path(self, suffix: str) -> str:
        return f"{self.workdir.rstrip('/') or '/'}/{self.stem}.{suffix}".replace("//", "/")

    @property
    def wrapper(self) -> str:
        return self.path("hflow.sh")

    @property
    def log(self) -> str:
        return self.path("log")

    @property
    def pid(self) -> str:
        return self.path("pid")

    @property
    def exit(self) -> str:
        return self.path("exit")

    @property
    def cancel(self) -> str:
        return self.path("cancel")

    def batch_output(self, kind: str) -> str:
        """Where a batch system writes its own output for the attempt (``.slurm.out``)."""
        return self.path(f"{kind}.out")

    @property
    def stale(self) -> tuple[str, ...]:
        """The files to remove before the attempt is staged (an earlier one's leftovers)."""
        return (self.exit, self.pid, self.cancel, self.log, self.wrapper)


def stem_for(job: str, attempt: int) -> str:
    """File stem of an attempt's files: ``NAME`` first, then ``NAME.attemptN``."""
    return job if attempt <= 1 else f"{job}.attempt{attempt}"


def parse_stamped(text: str, token: str) -> str | None:
    """The value of a ``"VALUE TOKEN"`` line, None when empty, garbled or another attempt's."""
    value, _, owner = text.strip().partition(" ")
    if not value or owner.strip() != token:
        return None
    return value


def parse_exit(text: str, token: str) -> int | None:
    """The exit status in an exit file's text, None unless it is this attempt's."""
    value = parse_stamped(text, token)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None
