"""Uploading a workflow: YAML text, or an archive holding the YAML and its scripts.

Contract of :func:`store_upload`: either the workflow is stored whole — its files in
``uploads/NAME`` and its spec in the state database — or nothing changed at all: the
YAML is validated exactly as the CLI validates a file (against the unpacked scripts)
before anything is moved into place, and a failed database write puts the previous
upload directory back. Errors are :class:`~hybridflow.errors.SpecError` (invalid input),
:class:`~hybridflow.service.archive.TooLarge` and :class:`UploadConflict`.
"""

from __future__ import annotations

import dataclasses
import logging
import shutil
import tempfile
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path, PurePosixPath

from ..errors import LockedError, SpecError
from ..load import build
from ..names import MAX_NAME, NAME_RE, check_workflow_name
from ..spec import WorkflowSpec
from ..store.sqlite import Store
from ..yamlsafe import parse
from .archive import ArchiveError, kind_of, unpack
from .settings import ServiceSettings
from .snapshots import read_version

log = logging.getLogger(__name__)

YAML_SUFFIXES = (".yaml", ".yml")
DEFAULT_FILE = "workflow.yaml"


class UploadConflict(LockedError):
    """The name is taken (and replacing was not asked for) or its workflow is running."""


@dataclasses.dataclass(frozen=True, slots=True)
class Parsed:
    spec: WorkflowSpec  # validated, base_dir inside the staging directory
    yaml_dir: str  # directory of the YAML relative to the upload root ("." for the root)
    yaml_name: str
    files: list[str]


def _find_yaml(files: list[str], wanted: str | None) -> str:
    if wanted:
        name = PurePosixPath(wanted).as_posix()
        if name not in files:
            raise ArchiveError(f"archive has no file {wanted!r}")
        return name
    top = [f for f in files if "/" not in f and f.endswith(YAML_SUFFIXES)]
    if not top:  # a single directory at the root, as `tar czf x.tgz mydir` makes
        roots = {f.split("/", 1)[0] for f in files}
        if len(roots) == 1:
            top = [f for f in files if f.count("/") == 1 and f.endswith(YAML_SUFFIXES)]
    for preferred in ("workflow.yaml", "workflow.yml"):
        matches = [f for f in top if PurePosixPath(f).name == preferred]
        if len(matches) == 1:
            return matches[0]
    if len(top) == 1:
        return top[0]
    if not top:
        raise ArchiveError("archive holds no workflow YAML at its top level (give ?file=PATH)")
    raise ArchiveError(f"archive holds several YAML files ({', '.join(sorted(top)[:5])}); give ?file=PATH")


def parse_upload(data: bytes, staging: Path, settings: ServiceSettings, *,
                 name: str | None, file: str | None, filename: str | None = None, strict: bool = False) -> Parsed:
    """Unpack (if an archive) into ``staging`` and parse + validate the workflow there.

    The name is ``name``, else the YAML's ``name:``, else the stem of the YAML file (its
    folder's name for a ``workflow.yaml``), else the stem of ``filename`` (the client's
    file name, also used in error messages). ``strict`` refuses unknown keys as
    ``hflow workflow add --strict`` does.
    """
    if kind_of(data):
        files = unpack(data, staging, max_members=settings.max_members, max_bytes=settings.max_unpacked_bytes)
        yaml_name = _find_yaml(files, file)
        text_bytes = (staging / yaml_name).read_bytes()
    else:
        files, text_bytes = [], data
        yaml_name = _clean_filename(filename) or DEFAULT_FILE
        (staging / DEFAULT_FILE).write_bytes(data)
    try:
        text = text_bytes.decode("utf-8")
    except UnicodeDecodeError:
        raise SpecError("upload is neither UTF-8 YAML text nor a zip/tar archive", file=yaml_name) from None
    doc = parse(text, limits=settings.limits(), file=yaml_name)
    yaml_path = PurePosixPath(yaml_name)
    if name is not None:
        _check_workflow_name(name)
    chosen = name or _doc_name(doc) or _default_name(yaml_path, archive=bool(files), filename=filename)
    if not chosen:
        raise SpecError("the workflow has no name: give ?name=NAME or a top-level 'name:'", file=yaml_name)
    spec = build(doc, name=chosen, file=yaml_name, base_dir=str(staging / yaml_path.parent), limits=settings.limits(),
                 store_missing=True, strict=strict)
    if name is not None:
        spec = dataclasses.replace(spec, name=name)
    return Parsed(spec, str(yaml_path.parent) if files else ".", yaml_path.name if files else DEFAULT_FILE, files)


def _clean_filename(filename: str | None) -> str | None:
    """The base name of a client's file name, if it is a usable one."""
    if not filename:
        return None
    base = PurePosixPath(filename.replace("\\", "/")).name
    return base if base and base not in (".", "..") else None


def _default_name(yaml_path: PurePosixPath, *, archive: bool, filename: str | None) -> str | None:
    candidates: list[str] = []
    if archive:
        candidates.append(yaml_path.stem)
        if yaml_path.parent.name:
            candidates.append(yaml_path.parent.name)
    base = _clean_filename(filename)
    if base:
        stem = base
        for suffix in (".tar.gz", ".tar.bz2", ".tar.xz", ".tgz", ".zip", ".tar", ".yaml", ".yml"):
            if stem.lower().endswith(suffix):
                stem = stem[: -len(suffix)]
                break
        candidates.append(stem)
    usable = [c for c in candidates if c and NAME_RE.fullmatch(c) and len(c) <= MAX_NAME]
    preferred = [c for c in usable if c != "workflow"]  # a folder's name says more
    return (preferred or usable or [""])[0] or None


def _doc_name(doc: object) -> str | None:
    if not isinstance(doc, dict):
        return None
    body = doc.get("workflow")
    found = doc.get("name") or (body.get("name") if isinstance(body, dict) else None)
    return str(found) if found else None


def _check_workflow_name(name: str) -> None:
    check_workflow_name(name)


def store_upload(store: Store, settings: ServiceSettings, data: bytes, *, name: str | None,
                 file: str | None, replace: bool, filename: str | None = None, strict: bool = False,
                 name_lock: Callable[[str], AbstractContextManager[object]]) -> WorkflowSpec:
    """Validate ``data`` and store it as a workflow (see the module contract).

    ``name_lock(name)`` serializes the placing of one name against other writers.
    """
    settings.uploads.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=settings.uploads))
    try:
        parsed = parse_upload(data, staging, settings, name=name, file=file, filename=filename, strict=strict)
        with name_lock(parsed.spec.name):
            return _place(store, settings, parsed, staging, replace=replace)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def _place(store: Store, settings: ServiceSettings, parsed: Parsed, staging: Path, *, replace: bool) -> WorkflowSpec:
    name = parsed.spec.name
    if store.exists(name):
        if not replace:
            raise UploadConflict(f"workflow '{name}' exists (upload with replace=true to replace it)")
        if read_version(store, name).lock_alive():
            raise UploadConflict(f"workflow '{name}' is running; cancel it before replacing it")
    final = settings.uploads / name
    backup: Path | None = None
    if final.exists():
        backup = Path(tempfile.mkdtemp(prefix=f".old-{name}-", dir=settings.uploads))
        final.rename(backup / "dir")
    staging.rename(final)
    spec = dataclasses.replace(parsed.spec, base_dir=str((final / parsed.yaml_dir).resolve()),
                               source=str(final / parsed.yaml_dir / parsed.yaml_name))
    try:
        store.save(spec)
    except BaseException:
        shutil.rmtree(final, ignore_errors=True)
        if backup is not None:
            (backup / "dir").rename(final)
            shutil.rmtree(backup, ignore_errors=True)
        raise
    if backup is not None:
        shutil.rmtree(backup, ignore_errors=True)
    log.info("stored uploaded workflow %s (%d jobs) in %s", name, len(spec.jobs), final)
    return spec


def remove_upload(settings: ServiceSettings, name: str) -> None:
    """Delete the upload directory of a deleted workflow, if the service made one."""
    path = settings.uploads / name
    if path.is_dir() and path.parent == settings.uploads:
        shutil.rmtree(path, ignore_errors=True)
