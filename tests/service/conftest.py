"""Fixtures of the service tests: one live service per module on its own home."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from servicesupport import LiveService, env_home, live_service


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveService]:
    home = tmp_path_factory.mktemp("svc") / "home"
    with env_home(home), live_service(home, max_upload_bytes=256 * 1024) as live:
        yield live


@pytest.fixture
def client(service: LiveService) -> Iterator[httpx.Client]:
    with service.client() as http:
        yield http


@pytest.fixture
def home_dir(service: LiveService) -> Path:
    return service.home
