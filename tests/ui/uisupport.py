"""Helpers of the browser tests (importable as ``uisupport``)."""

from __future__ import annotations

from typing import Any

from servicesupport import LiveService


def login(page: Any, service: LiveService, next_path: str = "/") -> None:
    """Log in through the form, as a person would."""
    page.goto(f"{service.url}{next_path}")
    assert "/login" in page.url
    page.fill("#token", service.token)
    page.click("button[type=submit]")
    page.wait_for_url(f"{service.url}{next_path}")
