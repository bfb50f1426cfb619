"""Printing an HTML page to PDF with Debian's headless Chromium (through Playwright).

Chromium is the browser the tests already drive; its print engine lays out CJK text with the
system's Noto CJK fonts (``fonts-noto-cjk``). Nothing is fetched: the page is set as content.
"""

from __future__ import annotations

from playwright.async_api import async_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


class PdfError(RuntimeError):
    """Chromium could not be started or could not print."""


async def html_to_pdf(html: str, *, timeout_ms: int = 30_000) -> bytes:
    """Print ``html`` to an A4 PDF (the page's own ``@page`` rules decide the margins)."""
    try:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(
                executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=timeout_ms
            )
            try:
                page = await browser.new_page()
                await page.route("**/*", lambda route: route.abort())  # offline by design
                await page.set_content(html, wait_until="load", timeout=timeout_ms)
                await page.evaluate("document.fonts.ready")
                return await page.pdf(format="A4", print_background=True, prefer_css_page_size=True)
            finally:
                await browser.close()
    except Exception as exc:  # Playwright raises its own error types; callers need one
        raise PdfError(f"PDF 生成失败：{exc}") from exc
