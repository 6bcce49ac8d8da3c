"""Named crash points for fault-injection tests: ``HYBRIDFLOW_CRASH_AT=NAME`` kills the
process (SIGKILL, as ``kill -9`` would) the first time the code passes ``point(NAME)``.

The points sit where a crash is hardest to recover from (an attempt recorded but not yet
started, say); tests use them to crash there for real instead of hoping to hit the window.
Without the variable a point costs one dictionary lookup.
"""

from __future__ import annotations

import os
import signal

#: after-record: the round's attempts are committed, none started yet;
#: after-handoff-record: the same, in a round that hands jobs off (hybridflow.handoff);
#: after-submit: the round's attempts were started, their native ids not yet written
POINTS = ("after-record", "after-handoff-record", "after-submit")


def point(name: str) -> None:
    """Die here with SIGKILL when ``$HYBRIDFLOW_CRASH_AT`` names this point."""
    if os.environ.get("HYBRIDFLOW_CRASH_AT") == name:
        os.kill(os.getpid(), getattr(signal, "SIGKILL", signal.SIGTERM))
