"""Headless Chromium for the browser tests: Debian's chromium and chromedriver, never a downloaded
browser. Without them a test skips, saying what to install, except under ``CI=true``, where
``.ci/run`` installs both and a missing one is a failure."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import pytest

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
DRIVER_NAMES = ("chromedriver",)


def missing_tool(what: str) -> NoReturn:
    """Skip for a missing tool, except in CI, where the tests must run."""
    if os.environ.get("CI") == "true":
        pytest.fail(what)
    pytest.skip(what)


def _which(names: tuple[str, ...]) -> str | None:
    return next((found for name in names if (found := shutil.which(name))), None)


@contextmanager
def headless_chromium(
    profile: Path, *, purpose: str, height: int = 2000, downloads: Path | None = None
) -> Iterator[Any]:
    """A Selenium driver for headless Chromium with its profile in ``profile``; files it
    downloads land in ``downloads``. ``purpose`` ends the message when the browser is missing."""
    chromium = _which(CHROMIUM_NAMES)
    driver_path = _which(DRIVER_NAMES)
    if chromium is None or driver_path is None:
        missing = [
            what
            for what, found in (("chromium", chromium), ("chromedriver", driver_path))
            if found is None
        ]
        missing_tool(
            f"{' and '.join(missing)} not found on PATH (apt-get install chromium "
            f"chromium-driver) to {purpose}"
        )
    from selenium import webdriver

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--window-size=1280,{height}",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(argument)
    if downloads is not None:
        downloads.mkdir(parents=True, exist_ok=True)
        options.add_experimental_option(
            "prefs",
            {"download.default_directory": str(downloads), "download.prompt_for_download": False},
        )
    driver = webdriver.Chrome(
        options=options, service=webdriver.ChromeService(executable_path=driver_path)
    )
    try:
        yield driver
    finally:
        driver.quit()
