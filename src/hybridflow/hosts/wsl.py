"""The ``wsl`` kind: the wrapper runs detached inside a WSL distribution on this Windows machine.

Every command goes through ``wsl.exe -d DISTRO [-u USER] --exec ARGV...`` (``--exec``
runs the program without a Linux shell parsing a line, so arguments need no quoting);
files move with ``cat``/``tail`` through the same command (no SFTP). Everything else is
the ``ssh`` kind's logic (:class:`~hybridflow.hosts.ssh.ShellHost`).

Not run on Windows here: the argv builder is unit-tested, and the whole kind is run on
Linux with a stand-in ``wsl.exe`` that strips its options and executes the rest.

Host options: ``distro`` (default: the host name, or WSL's default distribution when the
host is local), ``wsl_exe`` (default ``wsl.exe``), ``user`` (the Linux user).
"""

from __future__ import annotations

from collections.abc import Sequence

from .base import HostConfig
from .shell import DEFAULT_TIMEOUT, CommandResult, LocalShell, Shell
from .ssh import ShellHost


def wsl_argv(argv: Sequence[str], *, distro: str | None, user: str | None = None, exe: str = "wsl.exe") -> list[str]:
    """The Windows-side argv that runs ``argv`` inside the distribution."""
    command = [exe]
    if distro:
        command += ["-d", distro]
    if user:
        command += ["-u", user]
    return [*command, "--exec", *argv]


class WslShell(Shell):
    """Commands and files inside one WSL distribution, through ``wsl.exe``."""

    def __init__(self, distro: str | None, *, user: str | None = None, exe: str = "wsl.exe") -> None:
        super().__init__()
        self.distro = distro
        self.user = user
        self.exe = exe
        self.label = f"wsl:{distro or 'default'}"
        self._local = LocalShell()

    def argv(self, argv: Sequence[str]) -> list[str]:
        return wsl_argv(argv, distro=self.distro, user=self.user, exe=self.exe)

    async def run(
        self, argv: Sequence[str], *, input: bytes | None = None, timeout: float = DEFAULT_TIMEOUT
    ) -> CommandResult:
        result = await self._local.run(self.argv(argv), input=input, timeout=timeout)
        return CommandResult(tuple(argv), result.returncode, result.stdout, result.stderr)


class WslHost(ShellHost):
    """Jobs inside a WSL distribution of this machine."""

    kind = "wsl"
    poll_interval = 1.0

    def __init__(self, config: HostConfig, *args: object, **kwargs: object) -> None:
        super().__init__(config, *args, **kwargs)  # type: ignore[arg-type]

    def open_shell(self) -> Shell:
        options = self.config.options
        name = None if self.config.name in ("localhost", "local") else self.config.name
        distro = options.get("distro") or name
        return WslShell(distro, user=self.config.user, exe=str(options.get("wsl_exe", "wsl.exe")))

    async def release_shell(self, shell: Shell) -> None:
        await shell.close()
