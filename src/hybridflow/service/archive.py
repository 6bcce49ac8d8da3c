"""Safe unpacking of uploaded workflow archives (zip, tar, tar.gz/bz2/xz).

Contract of :func:`unpack`: every member is checked before anything is written, and
nothing outside ``target`` is ever created. It raises :class:`ArchiveError` (a
:class:`~hybridflow.errors.SpecError`) for a member whose name is absolute, has a ``..``
part, a backslash or a drive letter, for links, devices and FIFOs, for duplicate names,
and :class:`TooLarge` when members or unpacked bytes exceed the limits (counted on what
is actually read, so a lying header does not help a zip bomb). Regular files are written
with mode 0644, or 0755 when the archive marks them executable.
"""

from __future__ import annotations

import io
import stat
import tarfile
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, TypeVar

from ..errors import SpecError

CHUNK = 1 << 16

_Info = TypeVar("_Info", zipfile.ZipInfo, tarfile.TarInfo)


class ArchiveError(SpecError):
    """An archive member that must not be unpacked, or an unreadable archive."""


class TooLarge(ArchiveError):
    """An upload over the service's size limits (answered 413)."""


@dataclass(frozen=True, slots=True)
class Member:
    name: str  # normalized relative POSIX path
    is_dir: bool
    executable: bool
    size: int


def safe_name(raw: str) -> str:
    """The normalized relative path of a member; raises :class:`ArchiveError` otherwise."""
    if not raw or "\x00" in raw:
        raise ArchiveError(f"archive member {raw!r}: empty or invalid name")
    if "\\" in raw:
        raise ArchiveError(f"archive member {raw!r}: backslash in name")
    path = PurePosixPath(raw)
    if path.is_absolute() or raw.startswith("/"):
        raise ArchiveError(f"archive member {raw!r}: absolute path")
    parts = [p for p in path.parts if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise ArchiveError(f"archive member {raw!r}: '..' in path")
    if parts and len(parts[0]) == 2 and parts[0][1] == ":":
        raise ArchiveError(f"archive member {raw!r}: drive letter in path")
    if not parts:
        return "."
    return "/".join(parts)


def kind_of(data: bytes) -> str | None:
    """``zip``, ``tar`` or None, from the content's magic bytes (never a client's claim)."""
    if data[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return "zip"
    if data[:2] == b"\x1f\x8b" or data[:3] == b"BZh" or data[:6] == b"\xfd7zXZ\x00":
        return "tar"  # compressed: only tarballs are accepted
    if len(data) >= 262 and data[257:262] == b"ustar":
        return "tar"
    return None


def _zip_members(archive: zipfile.ZipFile) -> Iterator[tuple[Member, zipfile.ZipInfo]]:
    for info in archive.infolist():
        mode = info.external_attr >> 16
        if stat.S_IFMT(mode) not in (0, stat.S_IFREG, stat.S_IFDIR):  # 0: no Unix type recorded
            kind = "link" if stat.S_ISLNK(mode) else "special file"
            raise ArchiveError(f"archive member {info.filename!r}: is a {kind}")
        yield Member(safe_name(info.filename), info.is_dir(), bool(mode & 0o111), info.file_size), info


def _tar_members(archive: tarfile.TarFile) -> Iterator[tuple[Member, tarfile.TarInfo]]:
    for info in archive.getmembers():
        if info.issym() or info.islnk():
            raise ArchiveError(f"archive member {info.name!r}: is a link")
        if not (info.isfile() or info.isdir()):
            raise ArchiveError(f"archive member {info.name!r}: is a special file")
        yield Member(safe_name(info.name), info.isdir(), bool(info.mode & 0o111), info.size), info


def _copy(src: IO[bytes], dest: Path, executable: bool, budget: list[int], name: str) -> None:
    with dest.open("xb") as out:
        while chunk := src.read(CHUNK):
            budget[0] -= len(chunk)
            if budget[0] < 0:
                raise TooLarge(f"archive unpacks to more than the limit (at member {name!r})")
            out.write(chunk)
    dest.chmod(0o755 if executable else 0o644)


def unpack(data: bytes, target: Path, *, max_members: int, max_bytes: int) -> list[str]:
    """Unpack ``data`` (zip or tar) into the empty directory ``target``; returns file names."""
    kind = kind_of(data)
    if kind is None:
        raise ArchiveError("not a zip or tar archive")
    try:
        if kind == "zip":
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                return _extract(list(_zip_members(zf)), lambda info: zf.open(info), target,
                                max_members=max_members, max_bytes=max_bytes)
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as tf:
            def opener(info: tarfile.TarInfo) -> IO[bytes]:
                handle = tf.extractfile(info)
                return handle if handle is not None else io.BytesIO()
            return _extract(list(_tar_members(tf)), opener, target,
                            max_members=max_members, max_bytes=max_bytes)
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, NotImplementedError, RuntimeError) as exc:
        raise ArchiveError(f"unreadable {kind} archive: {exc}") from None


def _extract(members: list[tuple[Member, _Info]], opener: Callable[[_Info], IO[bytes]], target: Path, *,
             max_members: int, max_bytes: int) -> list[str]:
    if len(members) > max_members:
        raise TooLarge(f"archive has {len(members)} members (limit {max_members})")
    seen: set[str] = set()
    for member, _ in members:
        if member.name in seen and not member.is_dir:
            raise ArchiveError(f"archive member {member.name!r}: appears twice")
        seen.add(member.name)
    budget = [max_bytes]
    files: list[str] = []
    root = target.resolve()
    for member, info in members:
        if member.name == ".":
            continue
        dest = root / member.name
        if root not in dest.resolve().parents and dest.resolve() != root:
            raise ArchiveError(f"archive member {member.name!r}: escapes the upload directory")
        if member.is_dir:
            dest.mkdir(parents=True, exist_ok=True)
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        if dest.parent.resolve() != root and root not in dest.parent.resolve().parents:
            raise ArchiveError(f"archive member {member.name!r}: escapes the upload directory")
        with opener(info) as src:
            _copy(src, dest, member.executable, budget, member.name)
        files.append(member.name)
    return files
