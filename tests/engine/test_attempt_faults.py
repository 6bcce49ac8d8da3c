"""Faults of issue 10 around one attempt: its directory, its environment, its files."""

from __future__ import annotations

from pathlib import Path

import pytest

from hybridflow import Workflow, WorkflowState
from hybridflow.errors import HostError
from hybridflow.hosts.attempt import AttemptFiles, parse_exit
from hybridflow.hosts.base import StagedJob
from hybridflow.hosts.wrapper import render
from hybridflow.spec import JobSpec


def test_each_attempt_makes_its_run_directory_again(home: Path, write_workflow) -> None:
    wf = Workflow.load(write_workflow(
        """
        retries: 2
        retry_delay: 0s
        retry_on: [exit, lost]
        workflow:
          nodes:
            a: {exec: 'if [ "$HF_ATTEMPT" = 1 ]; then rm -rf "$HF_RUN_DIR"; exit 1; fi; echo again > a.txt'}
        """
    ))
    assert wf.run() is WorkflowState.DONE
    job = wf.status().jobs["a"]
    assert job.attempt == 2
    assert (Path(wf.spec.base_dir) / "a.txt").read_text() == "again\n"  # local jobs run in the folder


def test_environment_values_reach_the_job_quoted(home: Path, write_workflow, tmp_path: Path) -> None:
    wf = Workflow.load(write_workflow(
        """
        workflow:
          nodes:
            a: {exec: 'printf "%s|%s" "$X" "$Y" > a.txt', env: {X: '$(touch PWN); `touch PWN2`', Y: "a'b\\"c"}}
        """
    ))
    assert wf.run() is WorkflowState.DONE
    folder = Path(wf.spec.base_dir)
    assert (folder / "a.txt").read_text() == "$(touch PWN); `touch PWN2`|a'b\"c"
    assert not list(folder.glob("PWN*")) and not list(tmp_path.rglob("PWN*"))


@pytest.mark.parametrize("key", ["X=1; touch PWN; Y", "A B", "1X", "X\n", "", "X-Y"])
def test_the_wrapper_refuses_a_variable_name_that_is_not_a_shell_name(tmp_path: Path, key: str) -> None:
    job = StagedJob("wf", "a", 1, "hf-1-a-1-0000", JobSpec(name="a", exec="true"), str(tmp_path), "a",
                    tmp_path, env={key: "v"})
    with pytest.raises(HostError, match="environment variable name"):
        render(job, "true", workdir=str(tmp_path))


def test_exit_and_pid_files_count_only_for_their_own_token() -> None:
    assert parse_exit("0 hf-1-a-1-beef\n", "hf-1-a-1-beef") == 0
    assert parse_exit("3 hf-1-a-1-beef\n", "hf-1-a-1-beef") == 3
    for stale in ("0\n", "0 hf-1-a-1-dead\n", "", "garbage hf-1-a-1-beef", "0 hf-1-a-1-beef extra"):
        assert parse_exit(stale, "hf-1-a-1-beef") is None, stale
    files = AttemptFiles("/run/wf", "a.attempt2")
    assert (files.log, files.exit, files.pid) == ("/run/wf/a.attempt2.log", "/run/wf/a.attempt2.exit",
                                                  "/run/wf/a.attempt2.pid")
    assert files.batch_output("slurm") == "/run/wf/a.attempt2.slurm.out"


def test_progress_is_recorded_promptly_while_polling_backs_off(home: Path, write_workflow) -> None:
    import threading
    import time

    wf = Workflow.load(write_workflow(
        """
        workflow:
          nodes:
            a: {exec: 'sleep 9; echo "# cloudmesh status=running progress=50"; date +%s.%N > mark; sleep 3'}
        """
    ))
    seen: list[float] = []

    def watch() -> None:
        from hybridflow.store.sqlite import Store

        store = Store(home / "hybridflow.db")
        deadline = time.time() + 30
        while time.time() < deadline and not seen:
            view = store.view("wf")
            if view.jobs["a"].progress == 50:
                seen.append(time.time())
            time.sleep(0.05)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    assert wf.run() is WorkflowState.DONE
    thread.join(5)
    printed = float((Path(wf.spec.base_dir) / "mark").read_text())
    assert seen and seen[0] - printed < 2.0, (seen, printed)
