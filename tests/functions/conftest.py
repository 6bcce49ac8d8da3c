"""Fixtures for the functions tests: the testbed's hosts with a Python that has cloudpickle.

The testbed fixtures themselves come from ``tests/hosts/conftest.py`` (loaded here under
another module name); ``fn_python`` is a world-readable virtual environment with the
coordinator's cloudpickle version and numpy (``/opt/hybridflow-testbed/fn-venv``, built once).
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import cloudpickle
import pytest
import yaml

HOSTS_TESTS = Path(__file__).resolve().parents[1] / "hosts"
sys.path.insert(0, str(HOSTS_TESTS))
_spec = importlib.util.spec_from_file_location("hosts_conftest", HOSTS_TESTS / "conftest.py")
assert _spec is not None and _spec.loader is not None
_hosts = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_hosts)

from hostsupport import Testbed  # noqa: E402

testbed = _hosts.testbed
slurm_names = _hosts.slurm_names

FN_VENV = Path("/opt/hybridflow-testbed/fn-venv")


def _usable(python: Path) -> bool:
    check = [str(python), "-c", f"import cloudpickle, numpy; assert cloudpickle.__version__ == {cloudpickle.__version__!r}"]
    return python.exists() and subprocess.run(check, capture_output=True).returncode == 0


@pytest.fixture(scope="session")
def fn_python(testbed: Testbed) -> str:
    """A Python the SSH user can run, with this cloudpickle's version and numpy."""
    python = FN_VENV / "bin" / "python"
    if _usable(python):
        return str(python)
    base = "/usr/bin/python3" if Path("/usr/bin/python3").exists() else sys.executable
    subprocess.run([base, "-m", "venv", "--clear", str(FN_VENV)], check=True, capture_output=True, timeout=300)
    installed = subprocess.run([str(python), "-m", "pip", "install", "-q", f"cloudpickle=={cloudpickle.__version__}",
                                "numpy"], capture_output=True, text=True, timeout=600)
    if installed.returncode != 0:  # no index: the same cloudpickle, copied (numpy tests then fail loudly)
        site = subprocess.run([str(python), "-c", "import site; print(site.getsitepackages()[0])"],
                              capture_output=True, text=True, check=True).stdout.strip()
        shutil.copytree(Path(cloudpickle.__file__).parent, Path(site) / "cloudpickle", dirs_exist_ok=True)
    subprocess.run(["chmod", "-R", "a+rX", str(FN_VENV)], check=True)
    for parent in FN_VENV.parents:
        if parent == Path("/"):
            break
        parent.chmod(parent.stat().st_mode | 0o005)
    return str(python)


@pytest.fixture
def fn_hosts(home: Path, testbed: Testbed, fn_python: str) -> Path:
    """``hosts.yaml``: ``testbed`` (ssh as hfuser, its own home), ``cluster`` (Slurm over
    SSH), ``localhost`` (Slurm here); fresh remote run directories per test."""
    ssh = {
        "address": testbed.ssh_host,
        "port": testbed.ssh_port,
        "user": testbed.ssh_user,
        "identity": testbed.ssh_key,
        "known_hosts": testbed.known_hosts,
        "python": fn_python,
        "workdir": f"~/.hybridflow-tests/{uuid.uuid4().hex[:12]}",
    }
    hosts = {
        "testbed": {**ssh, "kind": "ssh", "poll_interval": 0.5},
        "cluster": {**ssh, "kind": "slurm", "partition": testbed.partition, "poll_interval": 1, "min_poll_gap": 0.5},
        "localhost": {"partition": testbed.partition, "poll_interval": 1, "min_poll_gap": 0.5, "python": sys.executable},
    }
    home.mkdir(parents=True, exist_ok=True)
    path = home / "hosts.yaml"
    path.write_text(yaml.safe_dump({"hosts": hosts}))
    return path
