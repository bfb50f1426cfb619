"""Browser-test helpers: a page at a person's screen size that records every console error,
failed request and error answer, and screenshots kept with the test run.

Sizes: a phone (390×844) and a desktop (1366×900). Screenshots go to ``WANGGE_SCREENSHOTS``
(default ``var/screenshots``, git-ignored) so they can be looked at after the run.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

SIZES = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1366, "height": 900}}
SHOTS = Path(os.environ.get("WANGGE_SCREENSHOTS", Path(__file__).parent.parent / "var/screenshots"))


@dataclass
class Watched:
    """A page and what went wrong on it; ``expect`` lists URL patterns of error answers the
    test asks for on purpose (a lookup of an address that does not exist is a 404);
    ``requested``, every URL the page asked for."""

    page: object
    size: str
    problems: list[str] = field(default_factory=list)
    expect: list[str] = field(default_factory=list)
    requested: list[str] = field(default_factory=list)

    def expected(self, url: str) -> bool:
        return any(re.search(p, url) for p in self.expect)

    def shot(self, name: str) -> Path:
        SHOTS.mkdir(parents=True, exist_ok=True)
        path = SHOTS / f"{name}-{self.size}.png"
        self.page.screenshot(path=str(path))
        return path

    def assert_clean(self) -> None:
        assert self.problems == [], self.problems


@contextmanager
def watched(browser, size: str) -> Iterator[Watched]:
    """A new page at ``size`` ("phone" or "desktop"), zh-CN, watched for problems."""
    page = browser.new_page(viewport=SIZES[size], locale="zh-CN")
    w = Watched(page, size)

    def on_console(msg) -> None:
        # Chromium logs each error answer as "Failed to load resource", located at its URL.
        if msg.type == "error" and not w.expected(msg.location.get("url", "")):
            w.problems.append(f"console: {msg.text} {msg.location.get('url', '')}")

    def on_response(resp) -> None:
        if resp.status >= 400 and not w.expected(resp.url):
            w.problems.append(f"{resp.status} {resp.url}")

    def on_failed(req) -> None:
        # net::ERR_ABORTED is the browser cancelling a load because the page went on to
        # another (a favicon still loading when a test navigates): nobody sees it. A request
        # the server failed shows as its status; one refused or blocked keeps its own error.
        if req.failure != "net::ERR_ABORTED":
            w.problems.append(f"failed: {req.url} ({req.failure})")

    page.on("console", on_console)
    page.on("pageerror", lambda exc: w.problems.append(f"page error: {exc}"))
    page.on("requestfailed", on_failed)
    page.on("response", on_response)
    page.on("request", lambda req: w.requested.append(req.url))
    try:
        yield w
    finally:
        page.close()
