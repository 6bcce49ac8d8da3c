"""Run ``hflow`` command lines, each in its own forked process (the CLI imported once).

Usage: ``python hostile_cli.py JOBS.json RESULTS.json``. JOBS is a list of
``{"id", "argv", "home", "cwd"}``; each runs as ``hflow ARGV`` with ``HYBRIDFLOW_HOME=home``
in ``cwd``, its stdout/stderr captured, killed after ``timeout`` seconds. RESULTS maps each
id to ``{"rc", "stdout", "stderr", "seconds"}`` (``rc`` is null after a timeout). Forking
after the import keeps a 100-case CLI corpus to seconds instead of a minute of start-ups.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
import traceback
from pathlib import Path

import hybridflow.cli
import hybridflow.cli.workflow  # noqa: F401  (imported once, before forking)

TIMEOUT = 30.0


def child(job: dict, out: Path, err: Path) -> None:
    code = 1
    try:
        os.chdir(job["cwd"])
        os.environ["HYBRIDFLOW_HOME"] = job["home"]
        for fd, path in ((1, out), (2, err)):
            os.dup2(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644), fd)
        sys.argv = ["hflow", *job["argv"]]
        try:
            hybridflow.cli.main()
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except BaseException:  # what the interpreter would print for an uncaught error
            traceback.print_exc()
            code = 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def run(job: dict, scratch: Path) -> dict:
    out, err = scratch / f"{job['id']}.out", scratch / f"{job['id']}.err"
    start = time.monotonic()
    pid = os.fork()
    if pid == 0:
        child(job, out, err)
    rc: int | None = None
    while time.monotonic() - start < TIMEOUT:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            rc = os.waitstatus_to_exitcode(status)
            break
        time.sleep(0.005)
    else:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    read = lambda path: path.read_text(errors="replace") if path.exists() else ""  # noqa: E731
    return {"rc": rc, "stdout": read(out), "stderr": read(err), "seconds": time.monotonic() - start}


def main() -> None:
    jobs = json.loads(Path(sys.argv[1]).read_text())
    scratch = Path(sys.argv[2]).parent / "cli-output"
    scratch.mkdir(exist_ok=True)
    results = {job["id"]: run(job, scratch) for job in jobs}
    Path(sys.argv[2]).write_text(json.dumps(results))


if __name__ == "__main__":
    main()
