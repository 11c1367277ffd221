"""Headless Chromium for the page tests, driven by selenium.

Selenium is blocking: the test's trio loop runs the gateway while every browser
call goes through `Browser.run`, which hands it to a worker thread. Waiting
polls the page under an absolute deadline (`Browser.wait_for`). One browser
serves a whole module; every cookie is cleared before each test (cookies are
per host, not per port, so gateways of earlier tests would otherwise leak in).

Screenshots go to `test-output/screenshots/` at the project root (git-ignored);
the folder is printed at the end of the run.

A test that cannot run fails, it never skips: without Chromium and its driver every
page test fails and says how to install them.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
import trio
from selenium import webdriver
from selenium.common.exceptions import (
    StaleElementReferenceException,
    TimeoutException,
    WebDriverException,
)
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.wait import WebDriverWait

T = TypeVar("T")

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
INSTALL = "apt-get install chromium chromium-driver (.ci/run does it)"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"
DESKTOP = (1366, 900)
PHONE = (390, 844)
_saved: list[Path] = []


class Browser:
    """One headless Chromium; every call runs in a worker thread."""

    def __init__(self, driver: WebDriver) -> None:
        self.driver = driver
        self.last_page: bytes | None = None

    async def run(self, action: Callable[[WebDriver], T]) -> T:
        return await trio.to_thread.run_sync(action, self.driver)

    async def wait_for(self, probe: Callable[[WebDriver], T], *, within_s: float = 10.0,
                       message: str = "") -> T:
        """Poll `probe` until it answers something truthy; fail after `within_s`."""

        def poll(driver: WebDriver) -> T:
            wait = WebDriverWait(driver, within_s, poll_frequency=0.05,
                                 ignored_exceptions=(StaleElementReferenceException,))
            try:
                return wait.until(probe, message)
            except TimeoutException:
                self.last_page = driver.get_screenshot_as_png()
                raise

        with trio.fail_after(within_s + 5):
            return await self.run(poll)

    async def screenshot(self, name: str, size: tuple[int, int]) -> Path:
        """A full-page PNG of the current page at `size` (width, viewport height)."""

        def shoot(driver: WebDriver) -> Path:
            driver.set_window_size(*size)
            driver.execute_script("window.scrollTo(0, 0)")
            height, chrome = driver.execute_script(
                "return [document.documentElement.scrollHeight, window.outerHeight - window.innerHeight]"
            )
            driver.set_window_size(size[0], max(size[1], min(int(height) + int(chrome), 4000)))
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            path = SCREENSHOTS / f"{name}-{size[0]}x{size[1]}.png"
            driver.save_screenshot(str(path))
            driver.set_window_size(*DESKTOP)
            return path

        path = await self.run(shoot)
        _saved.append(path)
        return path


@pytest.fixture(scope="module")
def chromium() -> Iterator[WebDriver]:
    missing = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not path.exists()]
    if missing:
        pytest.fail(f"the page tests need Chromium and its driver; missing {', '.join(missing)}: "
                    f"{INSTALL}", pytrace=False)
    profile = tempfile.mkdtemp(prefix="smsgw-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--no-first-run", "--disable-extensions", "--lang=fr-FR",
        f"--window-size={DESKTOP[0]},{DESKTOP[1]}", f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.when == "call":
        item.stash[_FAILED] = report.failed
    return report


_FAILED = pytest.StashKey[bool]()


@pytest.fixture
def browser(chromium: WebDriver, request: pytest.FixtureRequest) -> Iterator[Browser]:
    """The module's browser with no cookies; on failure the page is saved as
    `failed-<test>.png` beside the screenshots."""
    chromium.set_window_size(*DESKTOP)
    try:
        chromium.get("about:blank")
        chromium.execute_cdp_cmd("Network.clearBrowserCookies", {})
    except WebDriverException as exc:
        pytest.fail(f"the browser stopped answering: {exc}")
    browser = Browser(chromium)
    yield browser
    if request.node.stash.get(_FAILED, False) and browser.last_page is not None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"failed-{request.node.name}.png"
        path.write_bytes(browser.last_page)
        _saved.append(path)
    chromium.get("about:blank")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _saved:
        terminalreporter.write_line(f"browser screenshots ({len(_saved)}): {SCREENSHOTS}")
