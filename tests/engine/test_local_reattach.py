"""A restarted coordinator re-attaches to a local attempt that still runs, also after the
wall clock was stepped (NTP after a laptop wakes), and never to a process that took its PID."""

from __future__ import annotations

import asyncio
import dataclasses
import sys
import time
from pathlib import Path

import pytest

from hybridflow.hosts.base import HostConfig, StagedJob
from hybridflow.hosts.local import LocalHost
from hybridflow.spec import JobSpec
from hybridflow.states import JobState

from support import step_the_clock


def _job(tmp_path: Path, command: str) -> StagedJob:
    run = tmp_path / "run"
    run.mkdir(exist_ok=True)
    token = f"hf-t-{time.time_ns()}"
    return StagedJob("wf", "long", 1, token, JobSpec("long", exec=command), str(run), "long", tmp_path)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the Linux stamp")
def test_a_running_attempt_is_found_again_after_the_clock_was_stepped(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    async def scenario() -> None:
        first = LocalHost(HostConfig())
        [sub] = await first.submit([_job(tmp_path, "sleep 30")])
        pid, _, stamp = (sub.native_id or "").partition(":")
        assert pid.isdigit() and float(stamp) > 0
        await first.close()  # the coordinator goes; the attempt runs on
        second = LocalHost(HostConfig())  # the next coordinator did not start it
        step_the_clock(monkeypatch, 3600.0)
        try:
            assert (await second.poll([sub]))[sub.token].state is JobState.RUNNING
            impostor = dataclasses.replace(sub, native_id=f"{pid}:{float(stamp) + 60:.2f}")  # another process's start
            assert (await second.poll([impostor]))[sub.token].state is JobState.LOST
        finally:
            await second.cancel([sub])
            await second.close()

    asyncio.run(scenario())
