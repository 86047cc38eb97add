"""A headless Chromium for tests, driven by selenium through Debian's chromedriver (never downloaded).

Install as the README says: ``apt-get install -y chromium chromium-driver`` and the ``dev`` extra
(selenium). Also a screenshot tool for the docs:

    python tests/browser.py screenshot PAGE.html OUT.png [WIDTH HEIGHT]
"""
from __future__ import annotations

import contextlib
import shutil
import sys
import tempfile
from pathlib import Path

CHROMEDRIVER = "/usr/bin/chromedriver"
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]


def missing() -> str | None:
    """Why no browser can be started here, or None."""
    for path in (CHROMIUM, CHROMEDRIVER):
        if not Path(path).exists():
            return f"{path} is missing: apt-get install -y chromium chromium-driver (see the README's test section)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is missing: pip install -e '.[dev]'"
    return None


@contextlib.contextmanager
def headless_chromium(width: int = 1400, height: int = 900):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="mmbench-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS + [f"--user-data-dir={profile}", f"--window-size={width},{height}"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # an explicit driver path: selenium-manager never looks for (or downloads) a driver
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def screenshot(page: Path, out: Path, width: int = 1400, height: int = 0) -> None:
    """A PNG of ``page``: the whole page (``height`` 0) or its top ``height`` pixels."""
    with headless_chromium(width, height or 900) as driver:
        driver.get(Path(page).resolve().as_uri())
        if not height:
            driver.set_window_size(width, driver.execute_script("return document.documentElement.scrollHeight") + 140)
        driver.save_screenshot(str(out))


if __name__ == "__main__":
    if len(sys.argv) < 4 or sys.argv[1] != "screenshot":
        sys.exit(__doc__)
    screenshot(Path(sys.argv[2]), Path(sys.argv[3]), *map(int, sys.argv[4:6]))
