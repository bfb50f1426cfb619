"""Signboard PDF time: WeasyPrint in-process (what the app uses) against Chromium printing the
same HTML (what it used before, issue 14), in one run.

Both print the signboard page of the first published grid of the sample district, as the app
renders it. Chromium is timed as the app used to run it: a browser started per PDF.

Run: ``.venv/bin/python bench/signboard.py [--repeat 5]`` (loads the sample district first if
the database is empty).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Callable

from fastapi.testclient import TestClient
from served import CHROMIUM, CHROMIUM_ARGS  # bench/served.py
from sqlalchemy import text

from api.app import create_app
from data.db import make_engine, resolve_url
from data.settings import Settings
from data.store.setup import prepare
from maps.pdf import render_pdf


async def _chromium_pdf(html: str) -> bytes:
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page()
            await page.set_content(html, wait_until="load")
            return await page.pdf(format="A4", print_background=True, prefer_css_page_size=True)
        finally:
            await browser.close()


def _timed(make: Callable[[], bytes], repeat: int) -> tuple[float, int]:
    times, size = [], 0
    for _ in range(repeat):
        start = time.perf_counter()
        size = len(make())
        times.append(time.perf_counter() - start)
    return statistics.median(times), size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    settings = Settings()
    url = resolve_url(settings)
    engine = make_engine(url)
    prepare(engine, settings.sample_seed)
    with engine.connect() as conn:
        code = conn.execute(
            text(
                "SELECT g.code FROM grid g JOIN grid_plan p ON p.id = g.plan_id "
                "WHERE p.status = 'published' ORDER BY g.code LIMIT 1"
            )
        ).scalar_one()
    engine.dispose()
    with TestClient(create_app(settings, database_url=url)) as client:
        html = client.get(f"/g/{code}/signboard").text
    weasy, weasy_bytes = _timed(lambda: render_pdf(html), args.repeat)
    chrome, chrome_bytes = _timed(lambda: asyncio.run(_chromium_pdf(html)), args.repeat)
    print(f"signboard PDF of grid {code}, median of {args.repeat}:")
    print(f"  WeasyPrint (the app)       {weasy * 1000:7.0f} ms  {weasy_bytes / 1024:6.0f} KiB")
    print(f"  Chromium per PDF (before)  {chrome * 1000:7.0f} ms  {chrome_bytes / 1024:6.0f} KiB")
    print(f"  ratio WeasyPrint/Chromium  {weasy / chrome:7.2f}")


if __name__ == "__main__":
    main()
