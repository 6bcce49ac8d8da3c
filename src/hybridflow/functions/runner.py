"""hybridflow's function runner: one call of a Python function on the host that runs the job.

Needs only the standard library and cloudpickle on that host (hybridflow itself is not
needed: ``hybridflow.progress`` is provided when it is missing). It is run by the job
wrapper like any ``.py`` script, in two forms::

    python fn-SHA.py [call:B64]       a bundle: a zip holding this file as __main__.py,
                                      manifest.json, fn.pkl (the function, by value) and
                                      perhaps args.pkl
    python runner.py call:B64         a workflow's ``call: module:function`` node

``B64`` is the call as URL-safe base64 JSON: ``target`` (``module:function``, imported
when there is no bundle), ``args``/``kwargs`` (plain values), ``args_file`` (a pickled
``(args, kwargs)`` pair staged in beside the job) and ``inputs`` (parameter -> parent job:
that job's result object is passed; a digit string names a position).

Contracts:

- Before anything is unpickled, the bundle's manifest is checked against this interpreter:
  another Python minor version, cloudpickle missing or of another version, a module the
  function refers to missing: the job ends (exit 3) with ONE line naming both sides,
  printed to the log and written as the result.
- The result (the return value, or the exception with its formatted traceback) is written
  atomically (temporary file + rename) to ``$HF_JOB.result`` in the working directory:
  ``HFRESULT1``, one JSON header line, then the pickled payload. The header carries the
  attempt's token (``$HF_TOKEN``), the payload's size and, for a payload over
  ``$HF_RESULT_LIMIT`` bytes, the path on this host where it was left instead
  (``$HF_JOB.result.data``). Exit status: 0 returned, 1 raised, 3 mismatch or bad bundle.
"""

from __future__ import annotations

import base64
import hashlib
import importlib
import importlib.util
import json
import os
import shlex
import sys
import traceback
import types
import zipfile
from typing import Any

MAGIC = b"HFRESULT1\n"
MISMATCH = 3
DEFAULT_LIMIT = 256 * 1024 * 1024


class Mismatch(Exception):
    """The bundle cannot run on this interpreter; the message is the one line to show."""


def _progress(percent: float, message: str | None = None) -> None:
    """Stand-in for ``hybridflow.progress`` on hosts without hybridflow (same marker line)."""
    line = f"# hybridflow progress={max(0, min(100, int(percent)))}"
    if message:
        line += f" message={shlex.quote(message)}"
    print(line, flush=True)


def provide_hybridflow() -> None:
    """Make ``hybridflow.progress`` importable when hybridflow is not installed here."""
    if importlib.util.find_spec("hybridflow") is not None:
        return
    package = types.ModuleType("hybridflow")
    package.__path__ = []
    module = types.ModuleType("hybridflow.progress")
    module.progress = _progress  # type: ignore[attr-defined]
    package.progress = _progress  # type: ignore[attr-defined]
    sys.modules["hybridflow"] = package
    sys.modules["hybridflow.progress"] = module


def here() -> str:
    """This interpreter, as the mismatch line names it."""
    return f"Python {sys.version_info.major}.{sys.version_info.minor}.{sys.version_info.micro} ({sys.executable})"


def check_manifest(manifest: dict[str, Any], payload: bytes) -> None:
    """Raise :class:`Mismatch` unless the bundle can be unpickled here."""
    wanted = str(manifest.get("python", ""))
    have = f"{sys.version_info.major}.{sys.version_info.minor}"
    coordinator = f"the coordinator has Python {manifest.get('python_full', wanted)} with cloudpickle {manifest.get('cloudpickle')}"
    if wanted != have:
        raise Mismatch(f"hybridflow: Python mismatch: {coordinator}; this host has {here()}")
    try:
        import cloudpickle
    except ImportError:
        raise Mismatch(f"hybridflow: cloudpickle missing: {coordinator}; this host has {here()} "
                       "without cloudpickle") from None
    version = getattr(cloudpickle, "__version__", "unknown")
    if version != manifest.get("cloudpickle"):
        raise Mismatch(f"hybridflow: cloudpickle mismatch: {coordinator}; this host has {here()} with "
                       f"cloudpickle {version} ({getattr(cloudpickle, '__file__', '?')})")
    for name, version in sorted(dict(manifest.get("modules") or {}).items()):
        if importlib.util.find_spec(name) is None:
            raise Mismatch(f"hybridflow: module '{name}' missing: the coordinator has {name} {version or ''}".rstrip()
                           + f"; this host has {here()} without it")
    digest = hashlib.sha256(payload).hexdigest()
    if digest != manifest.get("payload"):
        raise Mismatch(f"hybridflow: bundle damaged: fn.pkl has sha256 {digest[:16]}..., "
                       f"the manifest says {str(manifest.get('payload'))[:16]}...")


def decode_call(argv: list[str]) -> dict[str, Any]:
    for word in argv:
        if word.startswith("call:"):
            text = base64.urlsafe_b64decode(word[5:].encode()).decode("utf-8")
            call = json.loads(text)
            if not isinstance(call, dict):
                raise Mismatch("hybridflow: the call description is not a JSON object")
            return call
    return {}


def load_function(bundle: str | None, call: dict[str, Any]) -> tuple[Any, tuple[Any, ...], dict[str, Any]]:
    """The function and the arguments stored in the bundle (none stored: empty)."""
    if bundle is None:
        target = str(call.get("target") or "")
        module_name, _, qualname = target.partition(":")
        if not module_name or not qualname:
            raise Mismatch(f"hybridflow: call target {target!r} is not 'module:function'")
        try:
            obj: Any = importlib.import_module(module_name)
        except ImportError as exc:
            raise Mismatch(f"hybridflow: cannot import '{module_name}' for call '{target}' on {here()}: {exc}") from None
        for part in qualname.split("."):
            obj = getattr(obj, part)
        return obj, (), {}
    with zipfile.ZipFile(bundle) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        payload = archive.read("fn.pkl")
        stored = archive.read("args.pkl") if "args.pkl" in archive.namelist() else None
    check_manifest(manifest, payload)
    import cloudpickle

    fn = cloudpickle.loads(payload)
    args, kwargs = cloudpickle.loads(stored) if stored is not None else ((), {})
    return fn, tuple(args), dict(kwargs)


def read_result(path: str) -> Any:
    """The object in a result file a parent job wrote (its error when it has none)."""
    with open(path, "rb") as handle:
        data = handle.read()
    if not data.startswith(MAGIC):
        raise Mismatch(f"hybridflow: {path} is not a result file")
    header_line, _, payload = data[len(MAGIC):].partition(b"\n")
    header = json.loads(header_line)
    if not header.get("ok"):
        raise Mismatch(f"hybridflow: input {path} holds an error: {header.get('error')}")
    if header.get("stored"):
        if not os.path.isfile(header["stored"]):
            raise Mismatch(f"hybridflow: input {path} was left on its host at {header['stored']} "
                           f"({header.get('size')} bytes, over its result_limit): not on this host")
        with open(header["stored"], "rb") as handle:
            payload = handle.read()
    import cloudpickle

    return cloudpickle.loads(payload)


def arguments(call: dict[str, Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[list[Any], dict[str, Any]]:
    """Positional and keyword arguments: stored ones, then the file's, then the call's, then inputs."""
    positional = [*args, *call.get("args", [])]
    keywords = {**kwargs, **call.get("kwargs", {})}
    if call.get("args_file"):
        import cloudpickle

        with open(call["args_file"], "rb") as handle:
            file_args, file_kwargs = cloudpickle.loads(handle.read())
        positional = [*positional, *file_args]
        keywords.update(file_kwargs)
    for key, parent in sorted(dict(call.get("inputs") or {}).items()):
        value = read_result(f"{parent}.result")
        if key.isdigit():
            index = int(key)
            positional.extend([None] * (index + 1 - len(positional)))
            positional[index] = value
        else:
            keywords[key] = value
    return positional, keywords


def write_result(job: str, header: dict[str, Any], payload: bytes) -> None:
    """Write ``JOB.result`` atomically; a payload over the limit stays in ``JOB.result.data``."""
    limit = int(os.environ.get("HF_RESULT_LIMIT") or DEFAULT_LIMIT)
    header = {**header, "token": os.environ.get("HF_TOKEN", ""), "size": len(payload), "stored": None,
              "host_python": here()}
    if len(payload) > limit:
        data_path = os.path.abspath(f"{job}.result.data")
        _atomic(data_path, payload)
        header["stored"] = data_path
        payload = b""
    _atomic(f"{job}.result", MAGIC + json.dumps(header).encode() + b"\n" + payload)


def _atomic(path: str, data: bytes) -> None:
    temporary = f"{path}.tmp-{os.getpid()}"
    with open(temporary, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def main(argv: list[str]) -> int:
    """Run the call ``argv`` (``sys.argv``: the script first) describes; the exit status."""
    job = os.environ.get("HF_JOB", "call")
    bundle = argv[0] if argv and zipfile.is_zipfile(argv[0]) else None
    if bundle is None and sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
        sys.path[0] = os.getcwd()  # not this file's folder (hybridflow/functions: its modules would shadow the user's)
    else:
        sys.path.insert(1, os.getcwd())  # modules beside the workflow, after the bundle itself
    provide_hybridflow()
    try:
        call = decode_call(argv[1:])
        fn, args, kwargs = load_function(bundle, call)
        positional, keywords = arguments(call, args, kwargs)
    except Mismatch as exc:
        print(str(exc), file=sys.stderr, flush=True)
        write_result(job, {"ok": False, "kind": "mismatch", "error": str(exc)}, b"")
        return MISMATCH
    try:
        value = fn(*positional, **keywords)
    except Exception as exc:  # the function's failure is its result: pickled with its traceback
        text = traceback.format_exc()
        sys.stderr.write(text)
        sys.stderr.flush()
        error = f"{type(exc).__name__}: {exc}".splitlines()[0] if str(exc) else type(exc).__name__
        try:
            import cloudpickle

            payload = cloudpickle.dumps(exc)
        except Exception as problem:  # an exception that cannot be pickled comes back as text
            print(f"hybridflow: the exception cannot be pickled ({problem}); sending its text", file=sys.stderr)
            payload = b""
        write_result(job, {"ok": False, "kind": "exception", "error": error, "traceback": text}, payload)
        return 1
    import cloudpickle

    write_result(job, {"ok": True, "kind": "value"}, cloudpickle.dumps(value))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
