"""Fixtures of the browser tests: a live service and Debian's Chromium driven by Playwright.

Nothing is downloaded: Playwright is pointed at ``/usr/bin/chromium`` (``apt-get install
chromium``); without it the tests are skipped. Screenshots go to ``$HYBRIDFLOW_ARTIFACTS``
(default: ``ui-screenshots/`` at the top of the checkout, ignored by git).
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "service"))
from servicesupport import LiveService, env_home, live_service

#: where the tests leave screenshots for a person to look at (not committed: .gitignore)
SCREENSHOTS = Path(__file__).resolve().parents[2] / "ui-screenshots"
CHROMIUM = os.environ.get("HYBRIDFLOW_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="session")
def artifacts() -> Path:
    path = Path(os.environ.get("HYBRIDFLOW_ARTIFACTS") or SCREENSHOTS)
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveService]:
    home = tmp_path_factory.mktemp("ui") / "home"
    with env_home(home), live_service(home) as live:
        yield live


@pytest.fixture
def page(browser: Any, service: LiveService) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    yield page
    context.close()
    assert not errors, errors
