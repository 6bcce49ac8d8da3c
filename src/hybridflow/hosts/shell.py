"""Transports: run argv lists and move files on a host, locally or over one SSH connection.

A :class:`Shell` is the only thing host kinds use to touch a host. ``LocalShell`` runs
subprocesses here; ``SshShell`` keeps **one** asyncssh connection per host for commands
and SFTP alike, reconnecting with exponential backoff when it drops. Commands are argv
lists; the single place where an argv becomes a line for a remote shell is
:meth:`SshShell.run` (``shlex.join``).

Errors: a host that cannot be reached raises :class:`~hybridflow.errors.UnreachableError`
(transient); a command that runs past its timeout raises a transient
:class:`~hybridflow.errors.HostError`. A command that exits non-zero is *not* an error
here: callers read :attr:`CommandResult.returncode`.
"""

from __future__ import annotations

import asyncio
import glob as globmod
import logging
import os
import random
import shlex
import shutil
import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from ..errors import HostError, UnreachableError
from .base import HostConfig

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 60.0


@dataclass(frozen=True, slots=True)
class CommandResult:
    """What a finished command left behind (bytes as received)."""

    argv: tuple[str, ...]
    returncode: int
    stdout: bytes
    stderr: bytes

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def out(self) -> str:
        return self.stdout.decode("utf-8", "replace")

    @property
    def err(self) -> str:
        return self.stderr.decode("utf-8", "replace").strip()


class Shell(ABC):
    """Runs commands and moves files on one host.

    File methods take POSIX paths on that host; relative paths and ``~`` are resolved
    against the host's home by :meth:`resolve`. The defaults implement file transfer with
    commands (``cat``, ``tail``), so a transport only has to implement :meth:`run`.
    """

    #: where the shell runs, for messages ("localhost", "hfuser@127.0.0.1:2222")
    label: str = "shell"
    #: True when files live on another machine than the coordinator's
    remote: bool = True

    def __init__(self) -> None:
        self._home: str | None = None

    @abstractmethod
    async def run(
        self, argv: Sequence[str], *, input: bytes | None = None, timeout: float = DEFAULT_TIMEOUT
    ) -> CommandResult:
        """Run ``argv`` to completion; raise HostError on timeout, UnreachableError if down."""

    async def home(self) -> str:
        """The absolute home directory on the host (asked once, then cached)."""
        if self._home is None:
            result = await self.run(["sh", "-c", 'printf %s "$HOME"'])
            if not result.ok or not result.out.startswith("/"):
                raise HostError(f"{self.label}: cannot find the home directory: {result.err}")
            self._home = result.out
        return self._home

    async def resolve(self, path: str) -> str:
        """``path`` made absolute: ``~`` and relative paths start at the home directory."""
        if path.startswith("/"):
            return path
        home = await self.home()
        if path == "~":
            return home
        path = path.removeprefix("~/")
        return str(PurePosixPath(home) / path)

    async def makedirs(self, path: str) -> None:
        await self._checked(["mkdir", "-p", "--", path])

    async def write_bytes(self, path: str, data: bytes, mode: int = 0o644) -> None:
        """Write ``data`` to ``path`` (replacing it) with permissions ``mode``."""
        script = 'cat > "$1.hftmp" && chmod "$2" "$1.hftmp" && mv -f "$1.hftmp" "$1"'
        await self._checked(["sh", "-c", script, "hflow", path, f"{mode:o}"], input=data)

    async def read_bytes(self, path: str, offset: int = 0, limit: int | None = None) -> bytes | None:
        """Bytes of ``path`` from ``offset`` (at most ``limit``); None when it does not exist."""
        script = '[ -f "$1" ] || exit 3; tail -c +"$2" "$1" | head -c "$3"'
        result = await self.run(["sh", "-c", script, "hflow", path, str(offset + 1), str(limit or 1 << 40)])
        if result.returncode == 3:
            return None
        if not result.ok:
            raise HostError(f"{self.label}: cannot read {path}: {result.err}")
        return result.stdout

    async def remove(self, paths: Sequence[str]) -> None:
        """Delete files (missing ones are fine), in one round trip."""
        if paths:
            await self._checked(["rm", "-f", "--", *paths])

    async def put(self, local: Path, remote: str) -> None:
        """Copy a local file (or directory, recursively) to ``remote``."""
        if local.is_dir():
            await self.makedirs(remote)
            for child in sorted(local.iterdir()):
                await self.put(child, f"{remote}/{child.name}")
            return
        await self.write_bytes(remote, local.read_bytes(), local.stat().st_mode & 0o777)

    async def get(self, remote: str, local: Path) -> None:
        """Copy a remote file to ``local``; raise HostError when it is missing."""
        data = await self.read_bytes(remote)
        if data is None:
            raise HostError(f"{self.label}: no such file: {remote}")
        local.parent.mkdir(parents=True, exist_ok=True)
        local.write_bytes(data)

    async def glob(self, directory: str, pattern: str) -> list[str]:
        """Paths (relative to ``directory``) of files matching ``pattern`` there."""
        script = 'cd "$1" || exit 0; for f in $2; do [ -e "$f" ] && printf "%s\\0" "$f"; done'
        result = await self.run(["bash", "-O", "nullglob", "-c", script, "hflow", directory, pattern])
        return sorted(p for p in result.out.split("\0") if p)

    async def close(self) -> None:
        """Release the transport (running jobs are not affected)."""

    async def _checked(self, argv: Sequence[str], *, input: bytes | None = None) -> CommandResult:
        result = await self.run(argv, input=input)
        if not result.ok:
            raise HostError(f"{self.label}: {argv[0]} failed ({result.returncode}): {result.err}")
        return result


class LocalShell(Shell):
    """Subprocesses and files on the coordinator's own machine."""

    label = "localhost"
    remote = False

    async def run(
        self, argv: Sequence[str], *, input: bytes | None = None, timeout: float = DEFAULT_TIMEOUT
    ) -> CommandResult:
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.PIPE if input is not None else asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                start_new_session=True,
            )
        except FileNotFoundError:
            return CommandResult(tuple(argv), 127, b"", f"{argv[0]}: command not found".encode())
        except OSError as exc:
            raise HostError(f"cannot run {argv[0]}: {exc}") from exc
        try:
            out, err = await asyncio.wait_for(proc.communicate(input), timeout)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise HostError(f"{argv[0]} timed out after {timeout:.0f}s", transient=True) from None
        return CommandResult(tuple(argv), proc.returncode or 0, out, err)

    async def home(self) -> str:
        return str(Path.home())

    async def makedirs(self, path: str) -> None:
        Path(path).mkdir(parents=True, exist_ok=True)

    async def write_bytes(self, path: str, data: bytes, mode: int = 0o644) -> None:
        target = Path(path)
        tmp = target.with_name(target.name + ".hftmp")
        tmp.write_bytes(data)
        tmp.chmod(mode)
        os.replace(tmp, target)

    async def remove(self, paths: Sequence[str]) -> None:
        for path in paths:
            Path(path).unlink(missing_ok=True)

    async def read_bytes(self, path: str, offset: int = 0, limit: int | None = None) -> bytes | None:
        try:
            with open(path, "rb") as handle:
                handle.seek(offset)
                return handle.read(-1 if limit is None else limit)
        except FileNotFoundError:
            return None

    async def put(self, local: Path, remote: str) -> None:
        if Path(remote).resolve() == local.resolve():
            return
        Path(remote).parent.mkdir(parents=True, exist_ok=True)
        if local.is_dir():
            shutil.copytree(local, remote, dirs_exist_ok=True)
        else:
            shutil.copy2(local, remote)

    async def get(self, remote: str, local: Path) -> None:
        if not Path(remote).exists():
            raise HostError(f"no such file: {remote}")
        await self.put(Path(remote), str(local))

    async def glob(self, directory: str, pattern: str) -> list[str]:
        return sorted(globmod.glob(pattern, root_dir=directory))


def wsl_argv(argv: Sequence[str], *, distro: str | None, user: str | None = None, exe: str = "wsl.exe") -> list[str]:
    """The Windows-side argv that runs ``argv`` inside a WSL distribution (``--exec``: no
    Linux shell parses a line, so arguments need no quoting)."""
    command = [exe]
    if distro:
        command += ["-d", distro]
    if user:
        command += ["-u", user]
    return [*command, "--exec", *argv]


class WslShell(Shell):
    """Commands and files inside one WSL distribution, through ``wsl.exe`` (files move with
    ``cat``/``tail`` through the same command: no SFTP)."""

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


class SshShell(Shell):
    """One asyncssh connection to one host, shared by commands and SFTP, for a whole run.

    The connection opens on first use. When it drops, the next call reconnects; failed
    connects back off exponentially (1 s doubling to :attr:`max_backoff`), and calls made
    while backing off raise :class:`UnreachableError` at once instead of hammering sshd.
    Host keys are checked against ``known_hosts`` (the config's file, else
    ``~/.ssh/known_hosts``) unless the config sets ``insecure_host_key``.
    """

    #: connections opened / commands run by all SshShells of this process (benchmarks, tests)
    connections_opened: int = 0
    commands_run: int = 0
    max_backoff: float = 8.0
    #: concurrent exec channels per connection (OpenSSH's MaxSessions default is 10)
    max_channels: int = 8

    def __init__(self, config: HostConfig, *, connect_timeout: float = 10.0) -> None:
        super().__init__()
        if not config.address:
            raise HostError(f"host '{config.name}' has no address")
        self.config = config
        self.connect_timeout = connect_timeout
        user = f"{config.user}@" if config.user else ""
        self.label = f"{user}{config.address}:{config.port or 22}"
        self._conn: Any = None
        self._sftp: Any = None
        self._lock = asyncio.Lock()
        self._channels = asyncio.Semaphore(self.max_channels)
        self._backoff = 0.0
        self._next_try = 0.0
        self.opened = 0  # connections opened by this shell
        self.commands = 0  # exec channels run over them
        quiet = logging.getLogger("asyncssh")
        if quiet.level == logging.NOTSET:  # asyncssh logs every channel at INFO
            quiet.setLevel(logging.WARNING)

    def _connect_options(self) -> dict[str, Any]:
        cfg = self.config
        options: dict[str, Any] = {
            "port": cfg.port or 22,
            "connect_timeout": self.connect_timeout,
            "keepalive_interval": 15,
            "keepalive_count_max": 3,
        }
        if cfg.user:
            options["username"] = cfg.user
        if cfg.identity:
            options["client_keys"] = [str(Path(cfg.identity).expanduser())]
        if cfg.insecure_host_key:
            options["known_hosts"] = None
        elif cfg.known_hosts:
            options["known_hosts"] = str(Path(cfg.known_hosts).expanduser())
        return options

    async def connection(self) -> Any:
        """The live connection, opening it if needed; UnreachableError while it cannot."""
        import asyncssh

        async with self._lock:
            if self._conn is not None and not self._conn.is_closed():
                return self._conn
            self._conn = self._sftp = None
            now = time.monotonic()
            if now < self._next_try:
                raise UnreachableError(
                    f"{self.label}: unreachable, next try in {self._next_try - now:.1f}s"
                )
            try:
                conn = await asyncssh.connect(self.config.address, **self._connect_options())
            except (TimeoutError, OSError, asyncssh.Error) as exc:
                self._backoff = min(self.max_backoff, max(1.0, self._backoff * 2))
                self._next_try = time.monotonic() + self._backoff * random.uniform(0.8, 1.0)
                log.warning("ssh %s: connect failed (%s); retry in %.1fs", self.label, exc, self._backoff)
                if isinstance(exc, asyncssh.HostKeyNotVerifiable):
                    raise HostError(f"{self.label}: host key not verifiable: {exc}") from exc
                if isinstance(exc, asyncssh.PermissionDenied):
                    raise HostError(f"{self.label}: permission denied: {exc}") from exc
                raise UnreachableError(f"{self.label}: cannot connect: {exc}") from exc
            self._backoff = 0.0
            self._next_try = 0.0
            self._conn = conn
            self.opened += 1
            SshShell.connections_opened += 1
            log.info("ssh %s: connected", self.label)
            return conn

    def _lost(self, exc: BaseException) -> UnreachableError:
        log.warning("ssh %s: connection lost: %s", self.label, exc)
        conn, self._conn, self._sftp = self._conn, None, None
        if conn is not None:
            conn.abort()
        return UnreachableError(f"{self.label}: connection lost: {exc}")

    async def run(
        self, argv: Sequence[str], *, input: bytes | None = None, timeout: float = DEFAULT_TIMEOUT
    ) -> CommandResult:
        import asyncssh

        line = shlex.join(argv)  # the one place an argv becomes a remote shell line
        conn = await self.connection()
        self.commands += 1
        SshShell.commands_run += 1
        async with self._channels:
            try:
                done = await conn.run(line, input=input, encoding=None, timeout=timeout)
            except asyncssh.TimeoutError:
                raise HostError(f"{self.label}: {argv[0]} timed out after {timeout:.0f}s", transient=True) from None
            except (OSError, asyncssh.Error) as exc:
                raise self._lost(exc) from exc
        status = done.exit_status if done.exit_status is not None else 255
        return CommandResult(tuple(argv), status, done.stdout or b"", done.stderr or b"")

    async def sftp(self) -> Any:
        """The SFTP session on the shared connection (opened once per connection)."""
        import asyncssh

        conn = await self.connection()
        if self._sftp is None:
            try:
                self._sftp = await conn.start_sftp_client()
            except (OSError, asyncssh.Error) as exc:
                raise self._lost(exc) from exc
        return self._sftp

    async def _sftp_call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        import asyncssh

        sftp = await self.sftp()
        try:
            return await getattr(sftp, name)(*args, **kwargs)
        except asyncssh.SFTPError:
            raise
        except (OSError, asyncssh.Error) as exc:
            raise self._lost(exc) from exc

    async def home(self) -> str:
        if self._home is None:
            self._home = str(await self._sftp_call("realpath", "."))
        return self._home

    async def makedirs(self, path: str) -> None:
        await self._sftp_call("makedirs", path, exist_ok=True)

    async def write_bytes(self, path: str, data: bytes, mode: int = 0o644) -> None:
        import asyncssh

        sftp = await self.sftp()
        tmp = path + ".hftmp"
        try:
            async with sftp.open(tmp, "wb") as handle:
                await handle.write(data)
            await sftp.chmod(tmp, mode)
            await sftp.posix_rename(tmp, path)
        except asyncssh.SFTPError as exc:
            raise HostError(f"{self.label}: cannot write {path}: {exc.reason}") from exc
        except (OSError, asyncssh.Error) as exc:
            raise self._lost(exc) from exc

    async def read_bytes(self, path: str, offset: int = 0, limit: int | None = None) -> bytes | None:
        import asyncssh

        sftp = await self.sftp()
        try:
            async with sftp.open(path, "rb") as handle:
                return bytes(await handle.read(-1 if limit is None else limit, offset))
        except asyncssh.SFTPNoSuchFile:
            return None
        except asyncssh.SFTPError as exc:
            raise HostError(f"{self.label}: cannot read {path}: {exc.reason}") from exc
        except (OSError, asyncssh.Error) as exc:
            raise self._lost(exc) from exc

    async def put(self, local: Path, remote: str) -> None:
        import asyncssh

        try:
            await self._sftp_call("put", str(local), remote, recurse=local.is_dir(), preserve=True)
        except asyncssh.SFTPError as exc:
            raise HostError(f"{self.label}: cannot copy {local} to {remote}: {exc.reason}") from exc

    async def get(self, remote: str, local: Path) -> None:
        import asyncssh

        local.parent.mkdir(parents=True, exist_ok=True)
        try:
            await self._sftp_call("get", remote, str(local), recurse=True, preserve=True)
        except asyncssh.SFTPError as exc:
            raise HostError(f"{self.label}: cannot copy {remote}: {exc.reason}") from exc

    async def glob(self, directory: str, pattern: str) -> list[str]:
        import asyncssh

        try:
            found = await self._sftp_call("glob", f"{directory.rstrip('/')}/{pattern}")
        except asyncssh.SFTPNoSuchFile:
            return []
        prefix = directory.rstrip("/") + "/"
        return sorted(str(p).removeprefix(prefix) for p in found)

    async def close(self) -> None:
        conn, self._conn, self._sftp = self._conn, None, None
        if conn is not None:
            conn.close()
            try:
                await asyncio.wait_for(conn.wait_closed(), 5)
            except (TimeoutError, OSError) as exc:
                log.debug("ssh %s: close: %s", self.label, exc)


class _Pool:
    """SshShells shared by all hosts of one event loop that name the same endpoint.

    An ``ssh`` host and a ``slurm`` host on the same login node share one connection.
    """

    def __init__(self) -> None:
        self._shells: dict[tuple[Any, ...], tuple[SshShell, int]] = {}

    @staticmethod
    def _key(config: HostConfig) -> tuple[Any, ...]:
        loop = id(asyncio.get_running_loop())
        return (loop, config.address, config.port or 22, config.user, config.identity)

    def acquire(self, config: HostConfig) -> SshShell:
        key = self._key(config)
        shell, count = self._shells.get(key, (None, 0))
        if shell is None:
            shell = SshShell(config)
        self._shells[key] = (shell, count + 1)
        return shell

    async def release(self, shell: SshShell) -> None:
        for key, (known, count) in list(self._shells.items()):
            if known is shell:
                if count > 1:
                    self._shells[key] = (known, count - 1)
                    return
                del self._shells[key]
                break
        await shell.close()


ssh_pool = _Pool()


def shell_for(config: HostConfig, kind: str) -> Shell:
    """The transport to the host ``config`` describes: inside WSL for the ``wsl`` kind, the
    shared SSH connection when it has an address, else this machine. Call from the event
    loop that will use it; give it back with :func:`release_shell`."""
    if kind == "wsl":
        name = None if config.name in ("localhost", "local") else config.name
        distro = config.options.get("distro") or name
        return WslShell(distro, user=config.user, exe=str(config.options.get("wsl_exe", "wsl.exe")))
    if config.address:
        return ssh_pool.acquire(config)
    return LocalShell()


async def release_shell(shell: Shell) -> None:
    """Give back a shell from :func:`shell_for` (an SSH connection closes with its last user)."""
    if isinstance(shell, SshShell):
        await ssh_pool.release(shell)
    else:
        await shell.close()
