"""The ``wsl`` kind: the wrapper runs detached inside a WSL distribution on this Windows machine.

Every command goes through ``wsl.exe -d DISTRO [-u USER] --exec ARGV...`` (``--exec``
runs the program without a Linux shell parsing a line, so arguments need no quoting);
files move with ``cat``/``tail`` through the same command (no SFTP). Everything else is
the ``ssh`` kind's logic (:class:`~hybridflow.hosts.ssh.ProcessHost`).

Not run on Windows here: the argv builder is unit-tested, and the whole kind is run on
Linux with a stand-in ``wsl.exe`` that strips its options and executes the rest.

Host options: ``distro`` (default: the host name, or WSL's default distribution when the
host is local), ``wsl_exe`` (default ``wsl.exe``), ``user`` (the Linux user).
"""

from __future__ import annotations

from .shell import WslShell, wsl_argv
from .ssh import ProcessHost

__all__ = ["WslHost", "WslShell", "wsl_argv"]


class WslHost(ProcessHost):
    """Jobs inside a WSL distribution of this machine (the transport is a
    :class:`~hybridflow.hosts.shell.WslShell`: see :func:`~hybridflow.hosts.shell.shell_for`)."""

    kind = "wsl"
    poll_interval = 1.0
