#!/usr/bin/env python3
"""A stand-in batch system for the conformance suite without the testbed.

Installed (by :func:`install`) as ``sbatch squeue scancel sacct`` and ``bsub bjobs bkill``
in a folder put first on ``PATH``; it runs each submitted wrapper at once as a detached
process group and keeps its jobs in ``$FAKEBATCH_DIR`` (one folder per job id). It speaks
just enough of each command's output format for hybridflow's parsers: that is the point,
the argv builders and parsers are the real ones. No accounting (``sacct`` fails as on a
Slurm without slurmdbd).
"""

from __future__ import annotations

import fcntl
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

COMMANDS = ("sbatch", "squeue", "scancel", "sacct", "bsub", "bjobs", "bkill")
RUNNER = 'cd "$1" || exit 97; bash "$2" > "$3" 2>&1 < /dev/null; echo $? > "$4.tmp"; mv "$4.tmp" "$4"'


def install(bin_dir: Path, state_dir: Path) -> dict[str, str]:
    """Link the commands into ``bin_dir``; the environment variables that select them."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    state_dir.mkdir(parents=True, exist_ok=True)
    me = Path(__file__).resolve()
    for name in COMMANDS:
        link = bin_dir / name
        if not link.exists():
            link.symlink_to(me)
    me.chmod(me.stat().st_mode | 0o111)
    return {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "FAKEBATCH_DIR": str(state_dir)}


def _root() -> Path:
    return Path(os.environ["FAKEBATCH_DIR"])


def _new_id() -> str:
    with open(_root() / "counter", "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        handle.seek(0)
        number = int(handle.read() or "1000") + 1
        handle.seek(0)
        handle.truncate()
        handle.write(str(number))
    return str(number)


def _submit(text: str, name: str, output: str, chdir: str) -> str:
    job_id = _new_id()
    folder = _root() / job_id
    folder.mkdir()
    wrapper = folder / "script.sh"
    wrapper.write_text(text)
    (folder / "name").write_text(name)
    proc = subprocess.Popen(["bash", "-c", RUNNER, "fakebatch", chdir, str(wrapper), output, str(folder / "rc")],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    (folder / "pid").write_text(str(proc.pid))
    return job_id


def _state(job_id: str) -> tuple[str, int | None]:
    """('RUNNING' | 'COMPLETED' | 'FAILED' | 'CANCELLED', exit status)."""
    folder = _root() / job_id
    if (folder / "cancel").exists():
        return "CANCELLED", None
    rc = folder / "rc"
    if rc.exists():
        code = int(rc.read_text().strip() or "1")
        return ("COMPLETED" if code == 0 else "FAILED"), code
    return "RUNNING", None


def _jobs(ids: list[str]) -> list[str]:
    known = sorted((p.name for p in _root().iterdir() if p.name.isdigit()), key=int)
    return [i for i in known if not ids or i in ids]


def _cancel(ids: list[str]) -> None:
    for job_id in ids:
        folder = _root() / job_id
        if not folder.is_dir() or _state(job_id)[0] != "RUNNING":
            continue
        (folder / "cancel").touch()
        try:
            os.killpg(int((folder / "pid").read_text()), signal.SIGTERM)
        except ProcessLookupError:
            pass


def _option(text: str, prefix: str, pattern: str) -> str:
    for line in text.splitlines():
        if line.startswith(prefix):
            found = re.match(pattern, line[len(prefix):].strip())
            if found:
                return found.group(1)
    return ""


def _ids(args: list[str]) -> list[str]:
    if "-j" in args:
        return [i for i in args[args.index("-j") + 1].split(",") if i]
    return []


def main(command: str, args: list[str]) -> int:
    if command == "sbatch":
        text = Path(args[-1]).read_text()
        name = _option(text, "#SBATCH", r"--job-name=(.*)")
        output = _option(text, "#SBATCH", r"--output=(.*)") or os.devnull
        chdir = _option(text, "#SBATCH", r"--chdir=(.*)") or os.getcwd()
        print(_submit(text, name, output, chdir))
    elif command == "squeue":
        for job_id in _jobs(_ids(args)):
            state, code = _state(job_id)
            name = (_root() / job_id / "name").read_text()
            if "-o" in args:  # "%T" or "%j": one field
                print(state if args[args.index("-o") + 1] == "%T" else name)
            else:
                status = "" if code is None else str(code << 8)
                print(f"{job_id}|{name}|{state}|None|{status}|")
    elif command == "scancel":
        _cancel(args)
    elif command == "sacct":
        print("Slurm accounting storage is disabled", file=sys.stderr)
        return 1
    elif command == "bsub":
        text = sys.stdin.read()
        name = _option(text, "#BSUB -J", r"(\S+)")
        output = _option(text, "#BSUB -o", r"(\S+)") or os.devnull
        chdir = _option(text, "#BSUB -cwd", r"(\S+)") or os.getcwd()
        print(f"Job <{_submit(text, name, output, chdir)}> is submitted to queue <normal>.")
    elif command == "bjobs":
        asked = [a for a in args if a.isdigit()]
        for job_id in _jobs(asked):
            state, code = _state(job_id)
            stat = {"RUNNING": "RUN", "COMPLETED": "DONE"}.get(state, "EXIT")
            exit_text = "-" if code is None else str(code)
            if state == "CANCELLED":
                exit_text = "130"
            print(f"{job_id}|{stat}|{exit_text}|{(_root() / job_id / 'name').read_text()}|-")
    elif command == "bkill":
        _cancel(args)
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[0]).name, sys.argv[1:]))
