"""Where hybridflow keeps its files, and which host a job runs on.

``$HYBRIDFLOW_HOME`` (default ``~/.hybridflow``) holds the state database
(``hybridflow.db``), run directories (``runs/NAME``) and the hosts file (``hosts.yaml``).

Hosts file and inline ``hosts:`` of a workflow share one format (inline entries win)::

    hosts:                       # the top-level key is optional in hosts.yaml
      cluster:
        address: login.example.org
        port: 22
        user: alice
        identity: ~/.ssh/id_ed25519
        known_hosts: ~/.ssh/known_hosts   # default; insecure_host_key: true skips the check
        python: /opt/conda/bin/python      # for .py/.ipynb jobs (default python3)
        workdir: /scratch/alice/hf         # root of run directories (default ~/.hybridflow/runs)
        max_parallel: 50
        partition: gpu                     # any other key: a kind option (Slurm defaults,
        account: proj42                    #   poll_interval, wsl distro, ...)

A job names its host with ``host:``; ``user:`` on the job overrides the entry's user.
Kind ``local`` runs on this machine (host empty, ``local``, ``localhost`` or this
machine's name); ``ssh`` needs a configured host with an address; ``slurm``/``lsf`` run
here without a host, over SSH with one; ``wsl`` uses the host entry's ``distro``. An
unknown host is a :class:`SpecError` naming the file, job and field before anything runs
(the check is ``hybridflow.validate.check_hosts``). The hosts file is read as a workflow
file is (``hybridflow.files``, ``hybridflow.yamlsafe``): bounded, strict UTF-8, one-line errors.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from .errors import SpecError
from .files import read_text
from .hostconfig import HostConfig
from .keys import check_host_keys
from .limits import Limits
from .names import check_name
from .spec import JobSpec, WorkflowSpec
from .yamlsafe import parse

log = logging.getLogger(__name__)

LOCAL_NAMES = frozenset({None, "", "local", "localhost", "127.0.0.1"})
#: kinds that run on a named remote host only
REMOTE_ONLY = frozenset({"ssh"})
#: kinds that run here without a host and over SSH with one
BATCH_KINDS = frozenset({"slurm", "lsf"})


def home_path() -> Path:
    """Where the hybridflow home directory is (``$HYBRIDFLOW_HOME``, else ``~/.hybridflow``)."""
    return Path(os.environ.get("HYBRIDFLOW_HOME") or Path.home() / ".hybridflow").expanduser()


def home() -> Path:
    """The hybridflow home directory (created on first use)."""
    path = home_path()
    path.mkdir(parents=True, exist_ok=True)
    return path


def database_path() -> Path:
    return home() / "hybridflow.db"


def default_run_dir(workflow: str) -> Path:
    return home() / "runs" / workflow


def hosts_path() -> Path:
    """The hosts file: ``$HYBRIDFLOW_HOME/hosts.yaml``."""
    return home() / "hosts.yaml"


def _entries(doc: Any) -> Any:
    """The host entries of a hosts document (the top-level ``hosts:`` key is optional)."""
    return doc["hosts"] if isinstance(doc, Mapping) and set(doc) == {"hosts"} else doc


def parse_hosts(doc: Any, *, file: str | None) -> dict[str, HostConfig]:
    """Host configs of a hosts document; every problem is one :class:`SpecError`."""
    doc = _entries(doc)
    if doc is None:
        return {}
    if not isinstance(doc, Mapping):
        raise SpecError("must be a mapping of host name to settings", file=file, field="hosts")
    if not doc:
        return {}
    # pydantic only when there is an entry to check (a local run does not import it)
    from .hostentry import host_entry

    found: dict[str, HostConfig] = {}
    for name, raw in doc.items():
        name = str(name)
        try:
            check_name(name, "host")
        except SpecError as exc:
            raise SpecError(exc.problem, file=file, field="hosts") from None
        found[name] = host_entry(name, raw, file=file)
    return found


@lru_cache(maxsize=8)
def _hosts_file(path: str, mtime: float) -> dict[str, HostConfig]:
    """The hosts file's entries, checked as a workflow's ``hosts:`` is (a misspelt key is an
    error; other unknown keys are logged once per version of the file)."""
    limits = Limits.from_env()
    doc = parse(read_text(path, limits=limits), limits=limits, file=path)
    for line in check_host_keys(_entries(doc), path):
        log.warning("%s", line)
    return parse_hosts(doc, file=path)


def file_hosts() -> dict[str, HostConfig]:
    """Hosts of ``$HYBRIDFLOW_HOME/hosts.yaml`` (empty when there is none)."""
    path = hosts_path()
    try:
        mtime = path.stat().st_mtime
    except FileNotFoundError:
        return {}
    return _hosts_file(str(path), mtime)


def known_hosts(spec: WorkflowSpec | None = None) -> dict[str, HostConfig]:
    """All configured hosts: the hosts file, then the workflow's inline ``hosts:``."""
    hosts = dict(file_hosts())
    if spec is not None and spec.hosts:
        hosts.update(parse_hosts(dict(spec.hosts), file=spec.source))
    return hosts


def is_local_name(host: str | None) -> bool:
    return host in LOCAL_NAMES or host == socket.gethostname()


def host_key(job: JobSpec) -> tuple[str, str]:
    """(kind, host name) identifying the host instance that runs ``job``.

    Jobs naming the same host with different ``user:`` get different instances.
    """
    if is_local_name(job.host) or job.kind == "local":
        return job.kind, "localhost"
    if job.user and job.kind != "local":
        return job.kind, f"{job.user}@{job.host}"
    return job.kind, str(job.host)


def host_config(spec: WorkflowSpec, job: JobSpec) -> HostConfig:
    """Settings for the host that runs ``job``: inline ``hosts:`` over the hosts file.

    A local name gives the ``localhost`` entry when one is configured (Slurm defaults for
    a local cluster, say), else defaults. Raises :class:`SpecError` for an unknown host.
    """
    kind = job.kind
    hosts = known_hosts(spec)
    if is_local_name(job.host) or kind == "local":
        base = hosts.get("localhost") or HostConfig(name="localhost")
        return _replace(base, name="localhost", kind=kind, address=None)
    name = str(job.host)
    if name not in hosts:
        raise SpecError(unknown_host(name, hosts), file=spec.source, job=job.name, field="host")
    base = hosts[name]
    return _replace(base, kind=kind, user=job.user or base.user)


def _replace(config: HostConfig, **changes: Any) -> HostConfig:
    values = {name: getattr(config, name) for name in HostConfig.__slots__}
    values.update(changes)
    return HostConfig(**values)


def unknown_host(name: str, hosts: Mapping[str, HostConfig]) -> str:
    known = ", ".join(sorted(hosts)) or "none"
    return f"unknown host '{name}' (configured: {known}; add it to {hosts_path()} or to 'hosts:')"
