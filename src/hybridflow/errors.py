"""Exception tree of hybridflow.

    HybridflowError
    ├── SpecError            a workflow description is invalid (file, job, field named)
    │   └── LimitError       it is over a configured size limit (jobs, edges, bytes, depth)
    ├── StoreError           the state database cannot be used
    │   ├── LockedError      another live coordinator runs this workflow
    │   ├── BusyError        the job is running: it cannot be replaced or removed now
    │   └── NotFoundError    no such workflow or job
    ├── StateError           an illegal state transition was asked for
    └── HostError            a host kind failed to act; ``transient`` tells whether to retry
        └── UnreachableError the host could not be reached (always transient)

Every message is one line, suitable for a CLI error: :class:`SpecError` shows control
characters of what it names (a job name ending in a newline) escaped, as ``repr`` does.
"""

from __future__ import annotations


class HybridflowError(Exception):
    """Root of all errors raised on purpose by hybridflow."""


class SpecError(HybridflowError):
    """An invalid workflow description.

    The message names the file, the job and the field where they are known:
    ``wf.yaml: job 'train': field 'script': file 'train.sh' does not exist``.
    """

    def __init__(
        self,
        problem: str,
        *,
        file: str | None = None,
        job: str | None = None,
        field: str | None = None,
        line: int | None = None,
    ) -> None:
        self.problem = problem
        self.file = file
        self.job = job
        self.field = field
        self.line = line
        super().__init__(self._compose())

    def _compose(self) -> str:
        parts: list[str] = []
        if self.file:
            parts.append(f"{self.file}:{self.line}" if self.line else self.file)
        if self.job:
            parts.append(f"job '{self.job}'")
        if self.field:
            parts.append(f"field '{self.field}'")
        parts.append(self.problem)
        return one_line(": ".join(parts))

    def with_file(self, file: str) -> SpecError:
        """Return a copy that names ``file`` (used when a loader knows the path)."""
        return SpecError(self.problem, file=file, job=self.job, field=self.field, line=self.line)


class LimitError(SpecError):
    """A workflow over a configured size limit (see ``hybridflow.limits``); REST answers 413."""


def one_line(text: str) -> str:
    """``text`` with every non-printable character escaped as ``repr`` writes it (``\\n``)."""
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)


class StoreError(HybridflowError):
    """The state database cannot be read or written."""


class LockedError(StoreError):
    """Another live coordinator holds the workflow's lock."""


class BusyError(StoreError):
    """A running job cannot be replaced or removed."""


class NotFoundError(StoreError):
    """A workflow or job that does not exist was named."""


class StateError(HybridflowError):
    """A state transition that the transition table forbids."""


class HostError(HybridflowError):
    """A host kind could not do what was asked.

    ``transient`` is True when trying again later may work (network, scheduler busy).
    """

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


class UnreachableError(HostError):
    """The host could not be reached; always transient."""

    def __init__(self, message: str) -> None:
        super().__init__(message, transient=True)
