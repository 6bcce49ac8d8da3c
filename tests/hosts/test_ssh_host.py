"""The ssh kind and its transport against the real sshd: one connection for everything,
host-key checking, unreachable hosts, reconnects, recovery by token."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from hybridflow.errors import HostError, UnreachableError
from hybridflow.hosts.base import HostConfig, StagedJob
from hybridflow.hosts.shell import SshShell
from hybridflow.hosts.ssh import SshHost
from hybridflow.spec import JobSpec
from hybridflow.states import JobState

from hostsupport import Testbed

pytestmark = pytest.mark.testbed


def _config(testbed: Testbed, tmp_path: Path, **changes: object) -> HostConfig:
    values: dict[str, object] = {
        "name": "testbed", "kind": "ssh", "address": testbed.ssh_host, "port": testbed.ssh_port,
        "user": testbed.ssh_user, "identity": testbed.ssh_key, "known_hosts": testbed.known_hosts,
        "workdir": f"~/.hybridflow-tests/{tmp_path.name}-{time.time_ns()}",
    }
    values.update(changes)
    return HostConfig(**values)  # type: ignore[arg-type]


def _job(host: SshHost, tmp_path: Path, name: str, command: str, token: str | None = None) -> StagedJob:
    run = tmp_path / "run"
    run.mkdir(exist_ok=True)
    spec = JobSpec(name=name, kind="ssh", exec=command)
    return StagedJob("wf", name, 1, token or f"hf-{name}-{time.time_ns()}", spec, host.run_dir("wf", run), name,
                     tmp_path)


async def _wait(host: SshHost, subs, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        seen = await host.poll(subs)
        if all(o.state.is_terminal for o in seen.values()):
            return seen
        await asyncio.sleep(0.2)
    raise AssertionError("jobs did not finish")


def test_one_connection_for_staging_start_poll_logs_cancel(testbed: Testbed, tmp_path: Path) -> None:
    host = SshHost(_config(testbed, tmp_path))
    before = SshShell.connections_opened

    async def scenario() -> None:
        jobs = [_job(host, tmp_path, f"j{i}", f"echo out {i}") for i in range(20)]
        subs = await host.submit(jobs)
        seen = await _wait(host, subs)
        assert {o.state for o in seen.values()} == {JobState.DONE}
        for i, sub in enumerate(subs):
            assert (await host.read_log(sub, 0))[0] == f"out {i}\n".encode()
        [sleeper] = await host.submit([_job(host, tmp_path, "sleeper", "sleep 60")])
        await host.cancel([sleeper])
        assert (await host.poll([sleeper]))[sleeper.token].state is JobState.CANCELED
        await host.close()

    asyncio.run(scenario())
    assert SshShell.connections_opened - before == 1
    assert host.stats["launch"] == 2  # one start command per batch


def test_host_key_is_checked_unless_relaxed(testbed: Testbed, tmp_path: Path) -> None:
    wrong = tmp_path / "known_hosts"
    key = "AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
    wrong.write_text(f"[{testbed.ssh_host}]:{testbed.ssh_port} ssh-ed25519 {key}\n")

    async def run(config: HostConfig) -> str:
        shell = SshShell(config)
        try:
            return (await shell.run(["echo", "ok"])).out
        finally:
            await shell.close()

    with pytest.raises(HostError) as info:
        asyncio.run(run(_config(testbed, tmp_path, known_hosts=str(wrong))))
    assert not info.value.transient, "a bad host key must not be retried forever"
    assert "host key" in str(info.value).lower()
    assert asyncio.run(run(_config(testbed, tmp_path, known_hosts=str(wrong), insecure_host_key=True))) == "ok\n"
    assert asyncio.run(run(_config(testbed, tmp_path))) == "ok\n"


def test_unreachable_host_is_transient_and_backs_off(testbed: Testbed, tmp_path: Path) -> None:
    shell = SshShell(_config(testbed, tmp_path, port=1))

    async def scenario() -> float:
        with pytest.raises(UnreachableError):
            await shell.run(["true"])
        started = time.perf_counter()
        with pytest.raises(UnreachableError) as info:
            await shell.run(["true"])  # inside the back-off window: no new connect attempt
        assert "next try" in str(info.value)
        return time.perf_counter() - started

    assert asyncio.run(scenario()) < 0.05


def test_dropped_connection_reconnects(testbed: Testbed, tmp_path: Path) -> None:
    shell = SshShell(_config(testbed, tmp_path))

    async def scenario() -> None:
        assert (await shell.run(["echo", "1"])).out == "1\n"
        (await shell.connection()).abort()
        await asyncio.sleep(0.1)
        assert (await shell.run(["echo", "2"])).out == "2\n"
        await shell.close()

    asyncio.run(scenario())
    assert shell.opened == 2


def test_recover_by_token(testbed: Testbed, tmp_path: Path) -> None:
    host = SshHost(_config(testbed, tmp_path))

    async def scenario() -> None:
        job = _job(host, tmp_path, "r", "sleep 2")
        assert await host.recover(job) is None  # nothing staged
        [sub] = await host.submit([job])
        again = SshHost(host.config)  # a restarted coordinator
        found = await again.recover(job)
        assert found is not None and found.native_id == sub.native_id
        assert (await again.poll([found]))[job.token].state is JobState.RUNNING
        other = _job(host, tmp_path, "r", "true", token="hf-another-attempt")
        assert await again.recover(other) is None  # same stem, other token: never started
        assert (await _wait(again, [found]))[job.token].state is JobState.DONE
        await again.close()
        await host.close()

    asyncio.run(scenario())


def test_wrapper_staged_but_never_started_is_not_recovered(testbed: Testbed, tmp_path: Path) -> None:
    host = SshHost(_config(testbed, tmp_path))

    async def scenario() -> None:
        job = _job(host, tmp_path, "staged", "true")
        await host.files.prepare([job], host.header)  # the coordinator died between staging and start
        started = time.monotonic()
        assert await host.recover(job) is None
        assert time.monotonic() - started >= 1.0  # it gave a just-started wrapper its grace
        await host.close()

    asyncio.run(scenario())


def test_process_gone_without_exit_file_is_lost(testbed: Testbed, tmp_path: Path) -> None:
    host = SshHost(_config(testbed, tmp_path))

    async def scenario() -> None:
        [sub] = await host.submit([_job(host, tmp_path, "victim", "sleep 60")])
        await host.shell.run(["kill", "-KILL", "--", f"-{sub.native_id}"])
        await asyncio.sleep(0.3)
        obs = (await host.poll([sub]))[sub.token]
        assert obs.state is JobState.LOST and "vanished" in (obs.message or "")
        await host.close()

    asyncio.run(scenario())
