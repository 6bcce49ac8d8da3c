"""Telling a live process from a reused PID: a start stamp recorded beside the PID.

Locks (the coordinator's, the service's record) store ``(pid, start_stamp(pid))``; later,
:func:`same_process` says whether that process still runs. The stamp must not move while
the process lives. psutil's ``create_time()`` does on Linux: it is the start in clock
ticks since boot *plus the boot time as the wall clock has it now*, so stepping the clock
(NTP after a laptop wakes, a manual ``date -s``) shifts it by the step, and a live
coordinator would look dead, its lock free to take. On Linux the stamp is therefore the
start in seconds since boot, read from ``/proc/PID/stat``; elsewhere (macOS, Windows) it
is ``create_time()``, which those systems record once at the start (psutil is imported
only then).

A stamp written before this rule (a wall-clock ``create_time()``, in the billions) is
compared the old way, so a coordinator of an older version still holds its lock.
"""

from __future__ import annotations

import os
import sys

from .files import read_small

#: how far two stamps of one process may differ (both are read with the same rule)
TOLERANCE_S = 1.0
#: a stamp above this is a wall-clock time (seconds since 1970), not seconds since boot
WALL_CLOCK_STAMP = 1e9


def _since_boot(pid: int) -> float | None:
    """Linux: process start in seconds since boot (field 22 of ``/proc/PID/stat``)."""
    try:
        text = read_small(f"/proc/{pid}/stat", 4096)  # a local host asks per attempt
    except (ProcessLookupError, PermissionError):
        return None
    if text is None:
        return None
    fields = text.rpartition(")")[2].split()  # the command name may hold spaces and ')'
    return int(fields[19]) / os.sysconf("SC_CLK_TCK")


def _create_time(pid: int) -> float | None:
    import psutil  # not on Linux's usual path (nor a local run's): about 8 ms of start-up

    try:
        return psutil.Process(pid).create_time()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None


def start_stamp(pid: int) -> float | None:
    """The stamp of process ``pid`` (see the module docstring); None when there is none."""
    if sys.platform.startswith("linux"):
        return _since_boot(pid)
    return _create_time(pid)


def same_process(pid: int, stamp: float | None) -> bool:
    """Whether process ``pid`` runs and is the one whose stamp was recorded (None: any)."""
    if stamp is not None and stamp > WALL_CLOCK_STAMP:
        now = _create_time(pid)
    else:
        now = start_stamp(pid)
    return now is not None and (stamp is None or abs(now - stamp) < TOLERANCE_S)
