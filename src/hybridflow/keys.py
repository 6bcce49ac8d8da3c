"""The keys a workflow file may hold, and what a key that is none of them means.

Contract of :func:`check_keys` (a step of ``hybridflow.load``, run on the parsed document
before the spec is built; values of the wrong type are left to the parsers after it):

- **Closed places** — the top level, ``workflow:``, each entry of ``hosts:`` (a workflow's,
  and the hosts file's: :func:`check_host_keys`), ``notify:`` —
  hold known keys; a key within edit distance :func:`near` of a known key of its place
  (``dependecies``, ``retires``, ``adress``) is a :class:`SpecError` "did you mean ...?".
  Other keys of the top level and of ``workflow:`` are workflow variables (placeholders
  such as ``{project.seed}``); one that no placeholder of the file names is reported in a
  warning. Other keys of a host entry are kind options kept for the host (a warning).
- **Node keys** are the :class:`~hybridflow.spec.JobSpec` fields, the policy fields of
  :mod:`hybridflow.jobfields`, the sweep keys, the state keys cloudmesh-cc writes, and the
  options of every kind (:data:`KIND_OPTIONS`). On a job of a batch kind (slurm, lsf) an
  option of another kind only (``queue`` on a slurm job) is an error; other kinds keep
  batch options silently (as cloudmesh-cc does, for when the job becomes a batch job). A
  key near a known one (``timout``, ``gpu``) is an error with the suggestion; any other
  key is kept as a job argument, and all such keys of the file are listed in *one*
  warning line.
- With ``strict`` (``load(..., strict=True)``, ``--strict``, or ``strict: true`` at the
  top of the file) a warning is an error instead.

:func:`check_keys` returns the warnings, each one line naming the file. The kind option
tables are written out here (the host kinds are a higher layer, imported only when used);
a unit test holds them equal to the kinds' own tables (``hosts.slurm.OPTIONS``...).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from . import jobfields
from .callnodes import CALL_KEYS
from .errors import SpecError
from .hostconfig import HostConfig
from .spec import JOB_FIELDS, STATE_FIELDS

__all__ = ["KIND_OPTIONS", "NODE_KEYS", "TOP_KEYS", "WORKFLOW_KEYS", "check_host_keys", "check_keys", "distance",
           "near", "suggestion"]

#: top-level keys that are not workflow variables
TOP_KEYS = ("workflow", "name", "colors", "hosts", *jobfields.POLICY_KEYS, "deadline", "notify", "strict", "budget",
            "handoff")
#: keys of ``workflow:`` that are not workflow variables (policy defaults may sit here too)
WORKFLOW_KEYS = ("nodes", "dependencies", "name", *jobfields.POLICY_KEYS, "deadline", "notify")
#: keys of ``notify:``
NOTIFY_KEYS = ("command", "webhook", "on")
#: node keys a kind reads (``hosts.slurm.OPTIONS`` + ``sbatch``, ``hosts.lsf.OPTIONS`` + ...)
KIND_OPTIONS: dict[str, tuple[str, ...]] = {
    "local": (),
    "ssh": (),
    "wsl": (),
    "slurm": ("partition", "time", "nodes", "ntasks", "cpus", "mem", "gpus", "gres", "account", "qos",
              "constraint", "sbatch"),
    "lsf": ("queue", "time", "cpus", "mem", "project", "gpus", "bsub"),
}
#: host-entry options a kind reads besides its node options
HOST_OPTIONS: dict[str, tuple[str, ...]] = {
    "ssh": ("poll_interval",),
    "wsl": ("distro", "wsl_exe", "poll_interval"),
    "slurm": ("accounting", "arrays", "min_poll_gap", "max_poll_gap", "poll_interval"),
    "lsf": ("min_poll_gap", "max_poll_gap", "poll_interval"),
}
#: keys of a host entry (``hybridflow.hostentry``) and every kind's options
HOST_KEYS = tuple(dict.fromkeys(
    [*(s for s in HostConfig.__slots__ if s != "name"),
     *(k for keys in KIND_OPTIONS.values() for k in keys),
     *(k for keys in HOST_OPTIONS.values() for k in keys)]))
#: node keys ``hybridflow.sweeps`` consumes
SWEEP_KEYS = ("experiments", "constants")
#: node attributes cloudmesh-cc writes into the files it saves: kept, never a warning
CLOUDMESH_KEYS = ("label_format", "format", "number", "parent", "created", "modified", "tstart", "tend",
                  "instance", "pid", "directory")
#: the node keys of every kind: fields, policy, sweeps, function nodes, state, cloudmesh's attributes
NODE_KEYS = (*JOB_FIELDS, *jobfields.FIELDS, *SWEEP_KEYS, *CALL_KEYS, *STATE_FIELDS, *CLOUDMESH_KEYS)
#: an option of one kind that another kind names differently
EQUIVALENT = {"queue": "partition", "partition": "queue", "project": "account", "account": "project"}
#: how many unknown keys one warning line names
SHOWN = 12

_HEAD = re.compile(r"(?<!\$)\{([A-Za-z_][A-Za-z0-9_]*)[.}]")


def distance(a: str, b: str, bound: int = 3) -> int:
    """Edit distance of ``a`` and ``b`` (insert, delete, replace, swap two neighbours),
    or ``bound`` when it is at least that."""
    if abs(len(a) - len(b)) >= bound:
        return bound
    previous: list[int] | None = None
    row = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            current[j] = min(row[j] + 1, current[j - 1] + 1, row[j - 1] + cost)
            if previous is not None and i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], previous[j - 2] + 1)
        previous, row = row, current
    return min(row[len(b)], bound)


def near(key: str, known: str) -> bool:
    """Whether ``key`` reads as a misspelling of ``known``: an edit distance of at most 2
    (at most 1 for keys of up to four letters, where 2 edits make another word: ``size``
    is not ``time``), compared without case, ``-`` as ``_``."""
    a, b = key.lower().replace("-", "_"), known.lower()
    if a == b:
        return True
    return distance(a, b) <= (1 if min(len(a), len(b)) <= 4 else 2)


def suggestion(key: str, known: Iterable[str]) -> str | None:
    """The known key nearest to ``key`` among those :func:`near` it (first written wins a tie)."""
    best: tuple[int, str] | None = None
    for candidate in dict.fromkeys(known):
        if candidate != key and near(key, candidate):
            score = distance(key.lower().replace("-", "_"), candidate)
            if best is None or score < best[0]:
                best = (score, candidate)
    return best[1] if best else None


def _mean(candidate: str) -> str:
    return f"unknown key; did you mean '{candidate}'?"


def check_keys(doc: Any, *, file: str | None = None, strict: bool = False) -> tuple[str, ...]:
    """Refuse misspelt keys of ``doc`` and return the warnings (see the module contract)."""
    if not isinstance(doc, Mapping):
        return ()
    strict = strict or _strict(doc, file)
    body = doc.get("workflow")
    body = body if isinstance(body, Mapping) else {}
    for key in ("nodes", "dependencies"):
        if key in doc:
            raise SpecError(f"'{key}' belongs under 'workflow:'", file=file, field=key)
    _closed(doc, TOP_KEYS + ("nodes", "dependencies"), file, prefix="")
    _closed(body, WORKFLOW_KEYS, file, prefix="workflow.")
    for source in (doc, body):
        notify = source.get("notify")
        if notify is not None and not isinstance(notify, Mapping):
            raise SpecError("must be a mapping with 'command' and/or 'webhook'", file=file, field="notify")
        for key, value in (notify or {}).items():
            key = "on" if key is True else str(key)  # YAML 1.1 reads a bare `on:` as true
            if key not in NOTIFY_KEYS:
                hint = suggestion(key, NOTIFY_KEYS)
                problem = _mean(hint) if hint else f"unknown key (valid: {', '.join(NOTIFY_KEYS)})"
                raise SpecError(problem, file=file, field=f"notify.{key}")
            _notify_value(key, value, file)
    warnings: list[tuple[str, str, str]] = []  # (job or "", field, what the warning says)
    warnings += _hosts(doc.get("hosts"), file)
    warnings += _nodes(body.get("nodes"), file)
    warnings += _variables(doc, body)
    if strict and warnings:
        job, key, _ = warnings[0]
        what = ("unknown host key" if key.startswith("hosts.") else
                "workflow variable that no placeholder uses" if not job else "unknown node key")
        more = f" ({len(warnings) - 1} more)" if len(warnings) > 1 else ""
        raise SpecError(f"{what}: strict mode refuses unknown keys{more}", file=file, job=job or None, field=key)
    return _lines(warnings, file)


def _notify_value(key: str, value: Any, file: str | None) -> None:
    if value is None or isinstance(value, str):
        return
    if key == "on" and isinstance(value, list) and all(isinstance(v, str) for v in value):
        return
    wanted = "a list of states or one 'done,failed' string" if key == "on" else "a string"
    raise SpecError(f"must be {wanted}", file=file, field=f"notify.{key}")


def _strict(doc: Mapping[str, Any], file: str | None) -> bool:
    value = doc.get("strict", False)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise SpecError(f"'{value}' is not true or false", file=file, field="strict")
    return value


def _closed(mapping: Mapping[Any, Any], known: tuple[str, ...], file: str | None, *, prefix: str) -> None:
    """A key of ``mapping`` near a known one (and not known itself) is a misspelling."""
    for key in mapping:
        key = str(key)
        if key in known:
            continue
        hint = suggestion(key, known)
        if hint is not None:
            under = " (under 'workflow:')" if not prefix and hint in ("nodes", "dependencies") else ""
            raise SpecError(_mean(hint) + under, file=file, field=prefix + key)


def check_host_keys(hosts: Any, file: str | None) -> tuple[str, ...]:
    """The rule of ``hosts:`` for a hosts file (``hosts.yaml``): a key near a known one is a
    :class:`SpecError` naming the file and field; the warning lines for the other unknown
    keys (kept as host options) are returned."""
    return _lines(list(_hosts(hosts, file)), file)


def _hosts(hosts: Any, file: str | None) -> Iterator[tuple[str, str, str]]:
    if not isinstance(hosts, Mapping):
        return  # from_document refuses a non-mapping
    for name, entry in hosts.items():
        if not isinstance(entry, Mapping):
            continue  # hostentry refuses it, naming the field
        for key in entry:
            key = str(key)
            if key in HOST_KEYS:
                continue
            hint = suggestion(key, HOST_KEYS)
            if hint is not None:
                raise SpecError(_mean(hint), file=file, field=f"hosts.{name}.{key}")
            yield "", f"hosts.{name}.{key}", "host"


def _nodes(nodes: Any, file: str | None) -> Iterator[tuple[str, str, str]]:
    if not isinstance(nodes, Mapping):
        return
    options = {key for keys in KIND_OPTIONS.values() for key in keys}
    for name, node in nodes.items():
        if not isinstance(node, Mapping):
            continue
        job = str(node.get("name") or name)
        kind = node.get("kind") or "local"
        if not isinstance(kind, str) or kind not in KIND_OPTIONS:
            continue  # validation names the unknown kind
        own = KIND_OPTIONS[kind]
        for key in node:
            key = str(key)
            if key in NODE_KEYS or key in own:
                continue
            if key in options:
                if own:  # a batch kind naming another batch kind's option
                    raise SpecError(_other_kind(key, kind), file=file, job=job, field=key)
                continue  # kept for when the job becomes a batch job, as cloudmesh-cc keeps it
            hint = suggestion(key, [*NODE_KEYS, *own, *sorted(options - set(own))])
            if hint is not None:
                raise SpecError(_mean(hint), file=file, job=job, field=key)
            yield job, key, "node"


def _other_kind(key: str, kind: str) -> str:
    kinds = [k for k, keys in KIND_OPTIONS.items() if key in keys]
    problem = f"'{key}' is an option of kind {' and '.join(kinds)}, not of kind '{kind}'"
    same = EQUIVALENT.get(key)
    if same in KIND_OPTIONS[kind]:
        return f"{problem}; did you mean '{same}'?"
    return f"{problem} ({kind} takes: {', '.join(KIND_OPTIONS[kind])})"


def _variables(doc: Mapping[Any, Any], body: Mapping[Any, Any]) -> Iterator[tuple[str, str, str]]:
    """Workflow variables that no placeholder of the document names."""
    candidates = [(str(k), "") for k in doc if str(k) not in TOP_KEYS]
    candidates += [(str(k), "workflow.") for k in body if str(k) not in WORKFLOW_KEYS]
    if not candidates:
        return
    used: set[str] = set()
    for text in _strings(doc):
        if "{" in text:
            used.update(_HEAD.findall(text))
    for key, prefix in candidates:
        if key not in used:
            yield "", prefix + key, "variable"


def _strings(value: Any) -> Iterator[str]:
    """Every string inside ``value`` (mapping keys too), without recursion."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, Mapping):
            stack.extend(str(k) for k in item)
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)


def _lines(found: list[tuple[str, str, str]], file: str | None) -> tuple[str, ...]:
    """One warning line per sort: node keys, host keys, unused variables."""
    where = f"{file}: " if file else ""
    lines: list[str] = []
    nodes = [(job, key) for job, key, sort in found if sort == "node"]
    if nodes:
        by_job: dict[str, list[str]] = {}
        for job, key in nodes:
            by_job.setdefault(job, []).append(key)
        listed = [f"job '{job}': {', '.join(keys)}" for job, keys in by_job.items()]
        lines.append(f"{where}unknown node keys kept as job arguments (hybridflow does not read them; "
                     f"--strict refuses them): {_shown(listed)}")
    hosts = [key for _, key, sort in found if sort == "host"]
    if hosts:
        lines.append(f"{where}unknown host keys kept as host options (no kind reads them): {_shown(hosts)}")
    unused = [key for _, key, sort in found if sort == "variable"]
    if unused:
        lines.append(f"{where}workflow variables that no placeholder uses: {_shown(unused)}")
    return tuple(lines)


def _shown(items: list[str]) -> str:
    text = "; ".join(items[:SHOWN])
    return text + (f"; and {len(items) - SHOWN} more" if len(items) > SHOWN else "")
