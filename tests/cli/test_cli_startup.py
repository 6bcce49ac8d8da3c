"""Start-up of ``hflow`` (issue 11): a local run imports none of the service, SSH, notebook
or HTTP client stacks, and ``-q`` prints one summary line instead of the status table."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from support import hflow

#: what a local run must not import (the service, SSH, notebooks, the HTTP client)
HEAVY = ("fastapi", "uvicorn", "starlette", "asyncssh", "nbclient", "nbformat", "jupyter_client", "httpx")

PROBE = """
import json, sys
{body}
print(json.dumps(sorted({{m.split(".")[0] for m in sys.modules}} & set({heavy!r}))))
"""


def _imported(body: str, heavy: tuple[str, ...] = HEAVY) -> list[str]:
    result = subprocess.run([sys.executable, "-c", PROBE.format(body=body, heavy=heavy)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def _cli(*argv: str) -> str:
    """Probe code that runs ``hflow ARGV...`` in the probe's process, which must succeed."""
    return f"""
from hybridflow.cli import main
sys.argv = {["hflow", *argv]!r}
try:
    main()
except SystemExit as exc:
    assert exc.code in (0, None), exc.code
"""


def test_importing_the_cli_imports_no_heavy_stack() -> None:
    assert _imported("import hybridflow.cli") == []


def test_a_local_run_imports_no_heavy_stack(home: Path, write_workflow) -> None:
    path = write_workflow("workflow:\n  nodes:\n    a: {exec: 'true'}\n    b: {exec: 'echo b'}\n"
                          "  dependencies: ['a,b']\n")
    assert _imported(_cli("workflow", "run", str(path), "-q")) == []


def test_a_quiet_run_prints_its_line_without_importing_rich(home: Path, write_workflow) -> None:
    """rich costs about 20-30 ms to import: a ``-q`` run (one plain line) does not pay it; an
    error (a red line on a terminal) and the status table do."""
    path = write_workflow("workflow:\n  nodes:\n    a: {exec: 'true'}\n")
    assert _imported(_cli("workflow", "run", str(path), "-q"), ("rich",)) == []
    assert _imported(_cli("workflow", "status", "wf"), ("rich",)) == ["rich"]


def test_a_local_run_imports_no_psutil_and_freezes_what_it_imported(home: Path, write_workflow) -> None:
    """psutil (about 8 ms) is imported only when a process must be looked at: on Linux a
    pidfd tells that a job it started runs (polled after 1 s here); the CLI moves what it
    imported out of the collector's way."""
    path = write_workflow("workflow:\n  nodes:\n    a: {exec: 'true'}\n    b: {exec: 'sleep 1.5'}\n")
    assert _imported(_cli("workflow", "run", str(path), "-q"), ("psutil",)) == []
    frozen = _cli("workflow", "run", str(path), "-q") + "\nimport gc\nassert gc.get_freeze_count() > 10000\n"
    assert _imported(frozen, ("psutil",)) == []


def test_quiet_prints_one_summary_line_and_the_table_only_when_asked(home: Path, write_workflow) -> None:
    message = "x" * 150
    path = write_workflow(f"workflow:\n  nodes:\n    a: {{exec: 'true'}}\n"
                          f"    b: {{exec: 'echo {message} >&2; exit 3'}}\n"
                          "    c: {exec: 'true'}\n  dependencies: ['a,b,c']\n")
    quiet = hflow("workflow", "run", str(path), "-q")
    assert quiet.returncode == 1, quiet.stderr
    assert quiet.stdout.splitlines() == ["wf: failed - 3 jobs: done 1, failed 1, skipped 1; failed: b"]
    again = hflow("workflow", "run", "wf", "-q", "--rerun-failed", "--table")
    lines = again.stdout.splitlines()
    assert lines[-1] == "wf: failed - 3 jobs: done 1, failed 1, skipped 1; failed: b"
    assert any(line.split()[:2] == ["c", "skipped"] for line in lines)
    done = write_workflow("workflow:\n  nodes:\n    only: {exec: 'true'}\n", name="one.yaml")
    assert hflow("workflow", "run", str(done), "-q").stdout == "one: done - 1 job: done 1\n"


def test_output_to_a_pipe_is_not_wrapped_at_80_columns(home: Path, write_workflow) -> None:
    names = ",".join(f"job{i:02d}-with-a-longish-name" for i in range(12))
    path = write_workflow("workflow:\n  nodes:\n" + "".join(
        f"    job{i:02d}-with-a-longish-name: {{exec: 'exit 1'}}\n" for i in range(12)))
    result = subprocess.run([sys.executable, "-c", "from hybridflow.cli import main; main()",
                             "workflow", "run", str(path), "-q"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert result.stdout.count("\n") == 1 and names.replace(",", ", ") in result.stdout


def test_a_sub_app_converts_only_the_command_it_runs() -> None:
    """Typer's conversion of a command (signature, hints, options) is left for the one the
    command line names; help still lists every command, in their order."""
    from typer import _click as click

    from hybridflow.cli import SUBAPPS

    [workflow] = [sub for sub in SUBAPPS if sub.name == "workflow"]
    group = workflow.load()
    assert group is not None and not group.commands
    ctx = click.Context(group)
    names = group.list_commands(ctx)
    assert names[:5] == ["add", "dependencies", "delete", "list", "run"] and "service" in names
    run = group.get_command(ctx, "run")
    assert run is not None and run.name == "run" and "--quiet" in {o for p in run.params for o in p.opts}
    assert list(group.commands) == ["run"]
    assert group.list_commands(ctx) == names
