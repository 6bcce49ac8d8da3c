"""``hflow workflow logs NAME JOB [--attempt N] [-f]`` and ``hflow workflow runs NAME``.

A log is read where it was written (:mod:`hybridflow.logsource`): from this machine's file
system for local jobs, through the job's own host (SFTP or a shell over SSH) otherwise.
The log goes to stdout unchanged; what is read from where goes to stderr, so ``hflow workflow logs wf job > job.log`` saves exactly the log.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from ..errors import NotFoundError
from ..logsource import LogSource
from ..snapshot import AttemptView
from ..store.sqlite import Store

FOLLOW_INTERVAL = 0.5


def _choose(store: Store, name: str, job: str, number: int | None) -> AttemptView | None:
    attempts = [a for a in store.attempts(name, job) if number is None or a.number == number]
    if number is not None and not attempts:
        raise NotFoundError(f"job '{job}' of workflow '{name}' has no attempt {number}")
    return attempts[-1] if attempts else None


def _where(attempt: AttemptView) -> str:
    return f"==> {attempt.job} attempt {attempt.number} on {attempt.host} ({attempt.kind}): " \
           f"{Path(attempt.workdir) / attempt.log_name} [{attempt.state.value}]"


async def _print(store: Store, name: str, job: str, number: int | None, follow: bool) -> None:
    attempt = _choose(store, name, job, number)
    while attempt is None:  # not started yet: with -f, wait for its first attempt while a run goes on
        if not follow:
            raise NotFoundError(f"job '{job}' of workflow '{name}' has not started yet (no log)")
        if store.running_pid(name) is None:
            raise NotFoundError(f"job '{job}' of workflow '{name}' has not started, and no run is going on")
        await asyncio.sleep(FOLLOW_INTERVAL)
        attempt = _choose(store, name, job, number)
    out = sys.stdout.buffer
    while True:
        sys.stderr.write(_where(attempt) + "\n")
        reader = LogSource(store.spec(name), attempt)
        offset = 0
        try:
            while True:
                data, offset = await reader.read(offset)
                if data:
                    out.write(data)
                    out.flush()
                    continue
                if not follow:
                    return
                current = _choose(store, name, job, attempt.number)
                newer = None if number is not None else _choose(store, name, job, None)
                if newer is not None and newer.number != attempt.number:
                    break  # a retry began: go on with its log
                stalled = store.running_pid(name) is None  # no coordinator: nothing more will come
                if current is not None and (current.state.is_terminal or stalled):
                    data, offset = await reader.read(offset)  # what it wrote last
                    out.write(data)
                    out.flush()
                    if not data:
                        if stalled and not current.state.is_terminal:
                            sys.stderr.write(f"(no coordinator runs workflow '{name}': stopped following)\n")
                        return
                    continue
                await asyncio.sleep(FOLLOW_INTERVAL)
        finally:
            await reader.close()
        assert newer is not None
        attempt = newer


def print_log(store: Store, name: str, job: str, attempt: int | None, follow: bool) -> None:
    """Print (``follow``: and follow until the job ends) a job's log; see the module."""
    if job not in store.spec(name).jobs:
        raise NotFoundError(f"workflow '{name}' has no job '{job}'")
    try:
        asyncio.run(_print(store, name, job, attempt, follow))
    except KeyboardInterrupt:
        pass
    except BrokenPipeError:  # `hflow workflow logs ... | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def runs_table(store: Store, name: str, console: Console) -> None:
    """``hflow workflow runs NAME``: every recorded run, newest first."""
    from ..labels import format_duration

    table = Table("run", "state", "started", "duration", "started by", "options", "counts", title=f"{name}: runs")
    now = time.time()
    for run in store.runs(name):
        options = ", ".join(f"{k}={v}" for k, v in run.options.items() if v and v != "default")
        state = run.state.value + (f" (pid {run.pid} died)" if run.state.value == "interrupted" else "")
        end = run.ended if run.ended is not None else now
        table.add_row(str(run.number), state, time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(run.started)),
                      format_duration(end - run.started), run.started_by, options,
                      ", ".join(f"{s} {n}" for s, n in sorted(run.counts.items())))
    console.print(table)
