"""The dashboard in a real browser: Playwright driving Debian's Chromium (browsers cannot be
downloaded here, so never ``playwright install``), against the real server on the real PostgreSQL
fixture of tests/server.

Without Chromium the tests are skipped with one loud line; with CI=true they fail instead
(.ci/run installs it).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from tests.server.conftest import (  # noqa: F401 - the PostgreSQL fixtures, shared
    db_url,
    emulator,
    pg,
    server,
    server_factory,
)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
INSTALL_HINT = "apt-get install -y chromium fonts-noto-cjk"


def chromium_path() -> str | None:
    if os.path.exists(CHROMIUM):
        return CHROMIUM
    return shutil.which("chromium")


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    path = chromium_path()
    if path is None:
        message = (
            f"Chromium is not installed: the dashboard's browser tests need it ({INSTALL_HINT})"
        )
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        print(f"\n*** SKIPPED: {message} ***", flush=True)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def browser_page(chromium: Any) -> Iterator[Any]:
    """A fresh browser profile (no cookies) in English, in Shanghai's time zone."""
    context = chromium.new_context(
        locale="en-US", timezone_id="Asia/Shanghai", accept_downloads=True
    )
    page = context.new_page()
    page.set_default_timeout(15000)
    yield page
    context.close()
