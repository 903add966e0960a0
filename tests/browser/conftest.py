"""Browser fixtures: Debian's Chromium driven by Playwright, one phone-sized page per role.

Chromium is the system's (``apt-get install chromium``; ``make test`` installs it), never a
Playwright download. Every page records what would be a bug in front of a user: console
errors, uncaught exceptions, and 5xx answers of the API. A page's screen fails its test at
teardown if any were seen. The one allowance is for HTTP answers the app expects and handles
(say, ``GET /my/signature`` → 404 "no signature yet"): Chromium logs every 4xx fetch as a
console error, so a test lists such an answer explicitly with ``Screen.expect_http``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
import pytest_asyncio
from playwright.async_api import Browser, async_playwright, expect

from tests.conftest import Platform

from .screen import CHROMIUM, CHROMIUM_ARGS, PHONE, SCREENSHOTS, WEB_BUILD, Screen

OpenScreen = Callable[..., Awaitable[Screen]]

# The platform signs, hashes passwords (argon2) and renders PDFs on a shared test machine:
# allow a loaded one more than Playwright's 5 s before an expectation fails.
expect.set_options(timeout=15_000)


@pytest_asyncio.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium; "
                    "`make test` does it with ESEAL_WITH_BROWSER=1)")
    if not WEB_BUILD.exists():
        pytest.fail("the web pages are not built: run `make web` (cd web && npm ci && npm run build)")
    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                            args=CHROMIUM_ARGS)
        yield chromium
        await chromium.close()


FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> object:
    report = yield
    if report.when == "call":
        item.stash[FAILED] = report.failed
    return report


@pytest_asyncio.fixture
async def open_screen(browser: Browser, platform: Platform,
                      request: pytest.FixtureRequest) -> AsyncIterator[OpenScreen]:
    """``await open_screen("enterprise")``: a phone with a fresh browser profile per screen
    (its own storage: two people on two phones)."""
    screens: list[Screen] = []
    contexts = []

    async def open_(name: str) -> Screen:
        context = await browser.new_context(**PHONE, accept_downloads=True)  # type: ignore[arg-type]
        context.set_default_timeout(20_000)
        contexts.append(context)
        screen = Screen(name, await context.new_page(), platform.gateway_url)
        screen.watch()
        screens.append(screen)
        return screen

    yield open_
    if request.node.stash.get(FAILED, False):  # what each screen showed when the test failed
        for screen in screens:
            shot = SCREENSHOTS / f"FAILED-{request.node.name}-{screen.name}.png"
            await screen.page.screenshot(path=str(shot))
    for context in contexts:
        await context.close()
    problems = [f"[{s.name}] {p}" for s in screens for p in s.problems]
    assert not problems, "the browser saw errors:\n" + "\n".join(problems)
