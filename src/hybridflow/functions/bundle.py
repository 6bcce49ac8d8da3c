"""Bundles: a function pickled by value with its manifest, and a call's arguments, as
content-addressed files that the job wrapper runs (see :mod:`.runner`).

A bundle ``fn-SHA.py`` is a zip archive that Python runs as a script: ``__main__.py``
(the runner), ``manifest.json`` (:class:`Manifest`), ``fn.pkl`` (the function by value,
cloudpickle; the module it was defined in too, unless that module is installed) and,
for a workflow's function node, ``args.pkl``. ``SHA`` is the sha256 of the archive's
bytes, which are deterministic (fixed timestamps): the same function gives the same file
name, so a batch of calls of one function uploads it once. A call's arguments go as a
separate file ``args-SHA.pkl`` (never on a command line).

Contracts: :func:`write_bundle`/:func:`write_args` return the path of a file whose name
is its content's hash, written atomically and only when missing;
:class:`~hybridflow.errors.SpecError` (one line) when the function or an argument cannot
be pickled.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.metadata
import io
import json
import os
import pickletools
import re
import sys
import sysconfig
import threading
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import cloudpickle

from ..errors import SpecError

RUNNER = Path(__file__).with_name("runner.py")
#: modules the runner provides or that need no check
_SKIP = frozenset({"builtins", "cloudpickle", "hybridflow", "__main__", "copyreg", "_codecs"})
_FIXED = (2020, 1, 1, 0, 0, 0)
_REGISTRY_LOCK = threading.RLock()


@dataclass(frozen=True, slots=True)
class Manifest:
    """What a bundle needs of the interpreter that unpickles it."""

    python: str  # X.Y
    python_full: str
    cloudpickle: str
    hybridflow: str
    payload: str  # sha256 of fn.pkl
    modules: Mapping[str, str] = field(default_factory=dict)  # top-level module -> version ('' unknown)

    def to_json(self) -> str:
        return json.dumps({**asdict(self), "modules": dict(self.modules)}, sort_keys=True)


@functools.cache
def hybridflow_version() -> str:
    try:
        return importlib.metadata.version("hybridflow")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _installed(path: str) -> bool:
    """Whether a module file belongs to the standard library or an installed distribution."""
    parts = Path(path).resolve().parts
    if "site-packages" in parts or "dist-packages" in parts:
        return True
    roots = {sysconfig.get_paths()[key] for key in ("stdlib", "platstdlib", "purelib", "platlib")}
    return any(Path(path).resolve().is_relative_to(Path(root).resolve()) for root in roots)


def _local_module(fn: Any) -> ModuleType | None:
    """The user's own (not installed) top-level module that defines ``fn``, if any: it is
    pickled by value, since the host that runs the call does not have it."""
    name = str(getattr(fn, "__module__", "") or "")
    top = name.partition(".")[0]
    if not top or top in _SKIP:
        return None
    module = sys.modules.get(top)
    file = getattr(sys.modules.get(name), "__file__", None)
    if module is None or not file or _installed(file):
        return None
    return module


_STRINGS = frozenset({"SHORT_BINUNICODE", "BINUNICODE", "UNICODE", "BINUNICODE8", "STRING", "BINSTRING",
                      "SHORT_BINSTRING"})
_SUBIMPORT = frozenset({"subimport", "dynamic_subimport"})


def referenced_modules(payload: bytes) -> dict[str, str]:
    """Top-level modules a pickle refers to by reference (imported when it is loaded),
    with their ``__version__`` ('' when they have none): the standard library left out.

    Read from the opcodes: ``STACK_GLOBAL`` after two strings (module, name), ``GLOBAL``,
    and the string after cloudpickle's ``subimport`` (a module global of the function);
    strings and globals come back through the memo too."""
    found: set[str] = set()
    memo: dict[int, Any] = {}
    recent: list[Any] = [None, None]
    last: Any = None
    subimport = False
    for opcode, arg, _ in pickletools.genops(payload):
        name = opcode.name
        if name == "MEMOIZE":
            memo[len(memo)] = last
            continue
        if name in ("BINPUT", "LONG_BINPUT", "PUT"):
            memo[int(str(arg))] = last
            continue
        if name in _STRINGS:
            value: Any = arg if isinstance(arg, str) else None
        elif name in ("BINGET", "LONG_BINGET", "GET"):
            value = memo.get(int(str(arg)))
        elif name == "STACK_GLOBAL":
            module, attribute = recent[-2], recent[-1]
            value = ("global", module, attribute) if isinstance(module, str) and isinstance(attribute, str) else None
            if value is not None:
                found.add(module.partition(".")[0])
        elif name == "GLOBAL" and isinstance(arg, str):
            module, _, attribute = arg.partition(" ")
            found.add(module.partition(".")[0])
            value = ("global", module, attribute)
        else:
            value = None
        if isinstance(value, str) and subimport:
            found.add(value.partition(".")[0])
        subimport = isinstance(value, tuple) and value[2] in _SUBIMPORT
        recent = [recent[-1], value]
        last = value
    stdlib = set(sys.stdlib_module_names)
    modules: dict[str, str] = {}
    for module_name in sorted(found):
        if (module_name in stdlib or module_name in _SKIP or module_name.startswith("_")
                or not module_name.isidentifier()):
            continue
        modules[module_name] = str(getattr(sys.modules.get(module_name), "__version__", "") or "")
    return modules


@contextlib.contextmanager
def _by_value(fn: Callable[..., Any] | None) -> Iterator[None]:
    """Pickle ``fn``'s own module by value inside the block. cloudpickle's registry is
    global, so the block holds a lock: two threads (the service's concurrent calls) must
    not unregister the module while the other pickles."""
    local = _local_module(fn) if fn is not None else None
    if local is None:
        yield
        return
    with _REGISTRY_LOCK:
        cloudpickle.register_pickle_by_value(local)
        try:
            yield
        finally:
            cloudpickle.unregister_pickle_by_value(local)


def pickle_function(fn: Callable[..., Any]) -> bytes:
    """``fn`` by value (its defining module too when that is the user's own)."""
    with _by_value(fn):
        try:
            return bytes(cloudpickle.dumps(fn))
        except Exception as exc:  # pickling runs user code (__reduce__...): any failure is the user's
            raise SpecError(f"function {getattr(fn, '__qualname__', fn)!r} cannot be pickled: "
                            f"{type(exc).__name__}: {exc}") from None


def pickle_arguments(args: Sequence[Any], kwargs: Mapping[str, Any], fn: Callable[..., Any] | None = None) -> bytes:
    """The arguments pickled; instances of classes of ``fn``'s own module (a dataclass
    parameter, say) by value, as the function itself is."""
    with _by_value(fn):
        try:
            return bytes(cloudpickle.dumps((tuple(args), dict(kwargs))))
        except Exception as exc:  # as above: an argument's own pickling code failed
            raise SpecError(f"an argument cannot be pickled: {type(exc).__name__}: {exc}") from None


def manifest_for(payload: bytes) -> Manifest:
    info = sys.version_info
    return Manifest(
        python=f"{info.major}.{info.minor}",
        python_full=f"{info.major}.{info.minor}.{info.micro}",
        cloudpickle=str(cloudpickle.__version__),
        hybridflow=hybridflow_version(),
        payload=hashlib.sha256(payload).hexdigest(),
        modules=referenced_modules(payload),
    )


def bundle_bytes(fn: Callable[..., Any], args: bytes | None = None) -> bytes:
    """The zip archive of a bundle (deterministic bytes for the same function)."""
    payload = pickle_function(fn)
    entries = [("__main__.py", RUNNER.read_bytes()), ("manifest.json", manifest_for(payload).to_json().encode()),
               ("fn.pkl", payload)]
    if args is not None:
        entries.append(("args.pkl", args))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries:
            info = zipfile.ZipInfo(name, _FIXED)  # fixed times: the same function, the same bytes
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return buffer.getvalue()


def store(folder: Path, prefix: str, suffix: str, data: bytes) -> Path:
    """Write ``data`` as ``folder/PREFIX-SHA256SUFFIX`` unless it exists; its path."""
    path = folder / f"{prefix}-{hashlib.sha256(data).hexdigest()[:32]}{suffix}"
    if path.is_file() and path.stat().st_size == len(data):
        return path
    folder.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)
    return path


def write_bundle(folder: Path, fn: Callable[..., Any], *, args: bytes | None = None) -> Path:
    """The bundle of ``fn`` (with ``args``, pickled, inside) in ``folder``."""
    return store(folder, "fn", ".py", bundle_bytes(fn, args))


def write_args(folder: Path, args: Sequence[Any], kwargs: Mapping[str, Any],
               fn: Callable[..., Any] | None = None) -> Path:
    """A call's arguments (of ``fn``: see :func:`pickle_arguments`) as ``args-SHA.pkl`` in ``folder``."""
    return store(folder, "args", ".pkl", pickle_arguments(args, kwargs, fn))


def job_name(fn: Callable[..., Any]) -> str:
    """A job name for calls of ``fn`` (its name, made a valid one)."""
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", str(getattr(fn, "__name__", "call")))[:60].lstrip(".-")
    return name or "call"


def target_of(fn: Callable[..., Any]) -> str:
    """``module:qualname`` of ``fn``, made valid, for display (the bundle holds ``fn`` itself)."""
    module = re.sub(r"[^\w.]", "_", str(getattr(fn, "__module__", None) or "__main__")).strip(".") or "__main__"
    qualname = re.sub(r"[^\w.]", "_", str(getattr(fn, "__qualname__", "function"))).strip(".") or "function"
    parts = [p if p and not p[0].isdigit() else f"_{p}" for p in re.sub(r"\.{2,}", ".", qualname).split(".")]
    module = ".".join(p if p and not p[0].isdigit() else f"_{p}" for p in re.sub(r"\.{2,}", ".", module).split("."))
    return f"{module}:{'.'.join(parts)}"
