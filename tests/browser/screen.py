"""A browser page on the platform that records what would be a bug in front of a user."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from playwright.async_api import ConsoleMessage, Page, Response, expect

from devstack.stack import ROOT

CHROMIUM = Path(os.environ.get("ESEAL_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-dev-shm-usage"]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
WEB_BUILD = ROOT / "web" / "dist" / "app" / "index.html"
# a phone: 375×667 CSS pixels at 2× (an iPhone 8 / SE), touch, China's locale and time
PHONE = {"viewport": {"width": 375, "height": 667}, "device_scale_factor": 2, "is_mobile": True,
         "has_touch": True, "locale": "zh-CN", "timezone_id": "Asia/Shanghai"}
FAILED_LOAD = re.compile(r"Failed to load resource: the server responded with a status of (\d{3})")


@dataclass
class Screen:
    """One browser page (a phone unless told otherwise) on the platform's gateway."""

    name: str
    page: Page
    base_url: str
    problems: list[str] = field(default_factory=list)
    expected: list[tuple[re.Pattern[str], int]] = field(default_factory=list)

    async def goto(self, path: str) -> None:
        await self.page.goto(self.base_url + path)

    async def shot(self, name: str, *, full_page: bool = False) -> Path:
        """Save a screenshot of what the user sees now, under test-artifacts/screenshots/."""
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        # not "networkidle": the message stream (SSE) stays open while the app runs
        await expect(self.page.locator(".van-toast:visible")).to_have_count(0, timeout=5000)
        await expect(self.page.locator(".van-notify:visible")).to_have_count(0, timeout=5000)
        await self.page.evaluate("document.fonts.ready.then(() => true)")
        if full_page:  # from the top, so fixed bars are drawn where they belong
            await self.page.evaluate("window.scrollTo(0, 0)")
        await self.page.wait_for_timeout(350)  # let toasts and popups finish moving
        await self.page.screenshot(path=str(path), animations="disabled", full_page=full_page)
        return path

    def expect_http(self, url_pattern: str, status: int) -> None:
        """An API answer the app handles by design (it is not a console error of the app)."""
        self.expected.append((re.compile(url_pattern), status))

    def _on_console(self, msg: ConsoleMessage) -> None:
        if msg.type != "error":
            return
        url = msg.location.get("url", "") if msg.location else ""
        failed = FAILED_LOAD.search(msg.text)
        if failed and any(p.search(url) and int(failed.group(1)) == s for p, s in self.expected):
            return
        self.problems.append(f"console error: {msg.text} ({url})")

    def _on_response(self, response: Response) -> None:
        if response.status >= 500 and "/api/" in response.url:
            self.problems.append(f"{response.request.method} {response.url} → {response.status}")

    def watch(self) -> None:
        self.page.on("console", self._on_console)
        self.page.on("pageerror", lambda exc: self.problems.append(f"uncaught: {exc}"))
        self.page.on("response", self._on_response)
