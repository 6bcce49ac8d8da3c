"""Job arrays: the attempts of one sweep (or bracket family) submitted as one ``sbatch --array``.

Pure helpers for :class:`~hybridflow.hosts.slurm.SlurmHost`. Attempts are grouped when
they belong to one family (``JobSpec.sweep``), wait for the same parents (``after_ids``)
and ask for the same resources (their ``#SBATCH`` lines but the per-attempt ones), and
split into chunks that fit the site's ``MaxArraySize`` and ``MaxSubmitJobs``.

Each task stays its own attempt: the array's driver script runs task *i*'s own wrapper
(``{stem}.hflow.sh``: its log, pid and exit files, its token), and its native id is
``ARRAYID_i``. Each task's wrapper carries an :data:`ARRAY_MARK` line naming the array
(by the first task's token, the array's job name) and its index, so that a restarted
coordinator finds a task of an array it submitted (``recover``) instead of submitting it
again. A retried task is a new attempt, submitted alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .base import StagedJob

#: the wrapper line naming a task's array: ``# hflow-array: NAME INDEX``
ARRAY_MARK = "# hflow-array: "
#: ``#SBATCH`` options that differ per attempt (not part of the resources compared)
PER_ATTEMPT = ("--job-name", "--output", "--chdir", "--dependency", "--array", "-J", "-o", "-D", "-d", "-a")


@dataclass(frozen=True, slots=True)
class Limits:
    """How many tasks one array may have (``MaxArraySize``, ``MaxSubmitJobs``)."""

    max_array_size: int = 1001
    max_submit: int | None = None

    @property
    def size(self) -> int:
        """The most tasks of one array: indices run from 0, below ``MaxArraySize``."""
        return max(1, min(self.max_array_size, self.max_submit or self.max_array_size))


def parse_limits(text: str) -> Limits:
    """Limits from ``scontrol show config`` (``Key = Value`` lines)."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            values[key.strip()] = value.strip()

    def number(key: str) -> int | None:
        word = values.get(key, "").split(" ")[0]
        return int(word) if word.isdigit() else None

    return Limits(number("MaxArraySize") or 1001, number("MaxSubmitJobs"))


def resources(lines: Sequence[str]) -> tuple[str, ...]:
    """The ``#SBATCH`` lines of an attempt's header that are the same for every task."""
    kept = []
    for line in lines:
        if not line.startswith("#SBATCH"):
            continue
        option = line.removeprefix("#SBATCH").strip().split("=")[0].split(" ")[0]
        if option not in PER_ATTEMPT:
            kept.append(line)
    return tuple(kept)


def groups(jobs: Sequence[StagedJob], key_of: dict[str, tuple[str, ...]], limits: Limits) -> list[list[StagedJob]]:
    """``jobs`` in submission groups: one per family, parents and resources (``key_of``:
    each job's resource lines), split to fit ``limits``; a group of one is a plain job."""
    by_key: dict[tuple[object, ...], list[StagedJob]] = {}
    for job in jobs:
        family = job.spec.sweep if job.attempt == 1 else None  # a retried task goes alone
        key = (family, job.workdir, job.after_ids, key_of[job.job]) if family else (job.token,)
        by_key.setdefault(key, []).append(job)
    found: list[list[StagedJob]] = []
    size = limits.size
    for members in by_key.values():
        found.extend(members[i:i + size] for i in range(0, len(members), size))
    return found


def task_id(array_id: str, index: int) -> str:
    return f"{array_id}_{index}"


def base_id(native_id: str) -> str:
    """The array's id of a task id (``123_4`` -> ``123``; a plain id stays)."""
    return native_id.split("_", 1)[0]


def marked(text: str) -> tuple[str, int] | None:
    """(array name, index) from a wrapper's :data:`ARRAY_MARK` line, if it has one."""
    for line in text.splitlines():
        if line.startswith(ARRAY_MARK):
            name, _, index = line.removeprefix(ARRAY_MARK).partition(" ")
            if index.strip().isdigit():
                return name, int(index)
    return None
