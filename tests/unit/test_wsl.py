"""WSL kind (no Windows here): the wsl.exe argv builder, and the whole kind run on Linux
through a stand-in ``wsl.exe`` that drops its options and executes the rest."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

from hybridflow.hosts.base import HostConfig, StagedJob
from hybridflow.hosts.shell import shell_for
from hybridflow.hosts.wsl import WslHost, WslShell, wsl_argv
from hybridflow.spec import JobSpec
from hybridflow.states import JobState

FAKE_WSL = """#!/bin/bash
# stand-in for wsl.exe: wsl.exe [-d DISTRO] [-u USER] --exec PROGRAM ARGS...
echo "$1 $2 $3" >> "$(dirname "$0")/calls.txt"
while [ "$1" != "--exec" ]; do shift; done
shift
exec "$@"
"""


def test_argv_builder() -> None:
    assert wsl_argv(["bash", "-c", "echo $HOME"], distro="Ubuntu-22.04", user="me") == [
        "wsl.exe", "-d", "Ubuntu-22.04", "-u", "me", "--exec", "bash", "-c", "echo $HOME"]
    assert wsl_argv(["true"], distro=None) == ["wsl.exe", "--exec", "true"]
    assert WslShell("Debian", exe="C:/Windows/wsl.exe").argv(["ls"]) == [
        "C:/Windows/wsl.exe", "-d", "Debian", "--exec", "ls"]


def test_host_picks_distro_from_options_or_name() -> None:
    shell = WslHost(HostConfig(name="Ubuntu", kind="wsl")).shell
    assert isinstance(shell, WslShell) and shell.distro == "Ubuntu"
    shell = shell_for(HostConfig(name="localhost", kind="wsl", options={"distro": "Alma"}), "wsl")
    assert isinstance(shell, WslShell) and shell.distro == "Alma"
    shell = shell_for(HostConfig(name="localhost", kind="wsl"), "wsl")
    assert isinstance(shell, WslShell) and shell.distro is None


def test_wsl_kind_end_to_end_with_stand_in(tmp_path: Path) -> None:
    exe = tmp_path / "wsl.exe"
    exe.write_text(FAKE_WSL)
    exe.chmod(0o755)
    (tmp_path / "job.sh").write_text("echo in wsl $1; echo made > made.txt\n")
    remote = tmp_path / "distro-home"
    config = HostConfig(name="Ubuntu", kind="wsl", workdir=str(remote), options={"wsl_exe": str(exe)})
    host = WslHost(config)
    run = tmp_path / "run"
    run.mkdir()
    spec = JobSpec(name="j", kind="wsl", script="job.sh 7", stage_out=("made.txt",))
    job = StagedJob("wf", "j", 1, "hf-wsl-1", spec, host.run_dir("wf", run), "j", tmp_path)

    async def scenario() -> JobState:
        [sub] = await host.submit([job])
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            obs = (await host.poll([sub]))[sub.token]
            if obs.state.is_terminal:
                obs = await host.finish(sub, obs)
                data, _ = await host.read_log(sub, 0)
                assert data == b"in wsl 7\n"
                await host.close()
                return obs.state
            await asyncio.sleep(0.2)
        raise AssertionError("job did not finish")

    assert asyncio.run(scenario()) is JobState.DONE
    assert (tmp_path / "made.txt").read_text() == "made\n"  # back into the workflow folder
    calls = (tmp_path / "calls.txt").read_text().splitlines()
    assert calls and set(calls) == {"-d Ubuntu --exec"}
    assert os.path.exists(remote / "wf" / "j.exit")
