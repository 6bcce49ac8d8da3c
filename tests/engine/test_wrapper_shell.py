"""A shell line runs in the wrapper's own shell, and still always leaves its exit status.

The wrapper runs an ``exec:`` line without a subshell (one fork less per attempt); a line
that could end or take over the wrapper's shell runs in a subshell as before. Real local
runs.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hybridflow import JobState, Workflow, WorkflowState
from hybridflow.hosts.wrapper import isolated


def _run(write_workflow, nodes: str) -> Workflow:
    wf = Workflow.load(write_workflow(f"workflow:\n  nodes:\n{nodes}"))
    wf.run()
    return wf


def test_a_plain_line_runs_in_the_wrapper_process(home: Path, write_workflow) -> None:
    wf = _run(write_workflow, "    plain: {exec: 'echo $BASHPID'}\n    wrapped: {exec: 'eval echo \\$BASHPID'}\n")
    run_dir = Path(wf.status().run_dir)
    for job, same in (("plain", True), ("wrapped", False)):
        wrapper_pid = (run_dir / f"{job}.pid").read_text().split()[0]
        payload_pid = (run_dir / f"{job}.log").read_text().strip()
        assert (payload_pid == wrapper_pid) is same, job


@pytest.mark.parametrize(
    ("line", "code", "logged", "not_logged"),
    [
        ("echo before; exit 6; echo after", 6, "before", "after"),
        ("set -e; false; echo never", 1, None, "never"),
        ("f() { exit 7; }; f", 7, None, None),
        ("echo ${HF_NOT_SET:?required}; echo never", 1, "required", "never"),
        ("exec bash -c 'echo replaced; exit 4'", 4, "replaced", None),
        ("trap 'echo bye' EXIT; exit 5", 5, "bye", None),
        ("trap - EXIT; exit 8", 8, None, None),
        ("printf 'exit 9\\n' > end.sh; . ./end.sh", 9, None, None),
        ("cd /; umask 077; exit 2", 2, None, None),
    ],
)
def test_every_way_out_of_a_line_leaves_its_status(home: Path, write_workflow, line: str, code: int,
                                                   logged: str | None, not_logged: str | None) -> None:
    quoted = line.replace('"', '\\"')
    wf = _run(write_workflow, f'    a: {{exec: "{quoted}"}}\n    b: {{exec: "true"}}\n')
    jobs = wf.status().jobs
    assert (jobs["a"].state, jobs["a"].exit_code) == (JobState.FAILED, code)
    assert jobs["b"].state is JobState.DONE
    log = (Path(wf.status().run_dir) / "a.log").read_text()
    assert "Bad file descriptor" not in log  # the wrapper's own lines say nothing in the job's log
    assert logged is None or logged in log
    assert not_logged is None or not_logged not in log


def test_a_line_that_ends_well_after_changing_the_shell_is_done(home: Path, write_workflow) -> None:
    wf = _run(write_workflow, "    a: {exec: 'shopt -s nullglob; cd /; IFS=:; printf() { return 1; }; echo ok'}\n")
    assert wf.status().state is WorkflowState.DONE
    assert (Path(wf.status().run_dir) / "a.log").read_text() == "ok\n"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("true", False),
        ("python train.py --lr 0.1", False),
        ("ls ./data && cd .. && make -j2", False),
        ("echo executor my-exec x.exec settings.py exit_code", False),
        ("test -f data.csv || exit 1", True),
        ("set -euo pipefail; make", True),
        ("python train.py --data ${DATA:?set DATA}", True),
        ("echo ${HOME:-/tmp} ${#PATH}", False),
        ("exec python train.py", True),
        ("echo hi; trap 'rm -f x' EXIT", True),
        ("eval \"$CMD\"", True),
        ("source env.sh", True),
        (". ./env.sh", True),
        ("cd x && . env", True),
        ("echo 'no exec here'", True),  # inside quotes: a false alarm costs one fork
    ],
)
def test_lines_that_could_take_over_the_wrapper_run_in_a_subshell(line: str, expected: bool) -> None:
    assert isolated(line) is expected
