"""Process identity for locks: a stamp that a stepped wall clock does not move."""

from __future__ import annotations

import subprocess
import sys

import psutil
import pytest

from hybridflow import processes
from hybridflow.processes import same_process, start_stamp

from support import step_the_clock


@pytest.fixture
def sleeper():
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    yield proc
    proc.kill()
    proc.wait()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the Linux stamp")
def test_a_live_holder_stays_alive_when_the_clock_is_stepped(sleeper, monkeypatch: pytest.MonkeyPatch) -> None:
    stamp = start_stamp(sleeper.pid)
    old_rule = psutil.Process(sleeper.pid).create_time()
    step_the_clock(monkeypatch, 3600.0)
    assert abs(psutil.Process(sleeper.pid).create_time() - old_rule) > 3000  # psutil's value moved
    assert same_process(sleeper.pid, stamp)
    assert start_stamp(sleeper.pid) == stamp


def test_a_dead_or_different_process_is_not_the_holder(sleeper) -> None:
    stamp = start_stamp(sleeper.pid)
    assert stamp is not None
    assert same_process(sleeper.pid, stamp)
    assert same_process(sleeper.pid, None)  # no stamp recorded: any live process of that PID
    assert not same_process(sleeper.pid, stamp + 10 * processes.TOLERANCE_S)  # the PID reused
    sleeper.kill()
    sleeper.wait()
    assert start_stamp(sleeper.pid) is None
    assert not same_process(sleeper.pid, stamp)


def test_a_stamp_of_an_older_version_is_compared_as_before(sleeper) -> None:
    """A wall-clock create_time (what older versions stored) still identifies the holder."""
    wall = psutil.Process(sleeper.pid).create_time()
    assert wall > processes.WALL_CLOCK_STAMP
    assert same_process(sleeper.pid, wall)
    assert not same_process(sleeper.pid, wall - 60)


def test_a_command_name_with_spaces_and_parentheses_is_parsed(tmp_path) -> None:
    """/proc/PID/stat puts the command name in parentheses; it may hold both."""
    odd = tmp_path / "a b) (c"
    odd.symlink_to(sys.executable)
    proc = subprocess.Popen([str(odd), "-c", "import time; time.sleep(30)"])
    try:
        assert same_process(proc.pid, start_stamp(proc.pid))
        if sys.platform.startswith("linux"):
            assert start_stamp(proc.pid) == pytest.approx(psutil.Process(proc.pid).create_time()
                                                          - psutil.boot_time(), abs=0.05)
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the Linux stamp")
def test_a_coordinator_lock_is_not_taken_after_a_clock_step(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The store's lock, taken by another live process, holds across a stepped clock."""
    from hybridflow.errors import LockedError
    from hybridflow.spec import JobSpec, WorkflowSpec
    from hybridflow.store.sqlite import Store

    store = Store(tmp_path / "db")
    store.save(WorkflowSpec(name="w", jobs={"a": JobSpec("a", exec="true")}))
    holder = subprocess.Popen([sys.executable, "-c",
                               "import sys, time; from hybridflow.store.sqlite import Store;"
                               "Store(sys.argv[1]).acquire('w'); print('held', flush=True); time.sleep(30)",
                               str(tmp_path / "db")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        step_the_clock(monkeypatch, 3600.0)
        with pytest.raises(LockedError, match=f"process {holder.pid}"):
            store.acquire("w")
    finally:
        holder.kill()
        holder.wait()
    store.acquire("w")  # the holder is gone: its lock is taken over
