"""Printing an HTML page (the signboard: static HTML and inline SVG) to PDF with WeasyPrint.

WeasyPrint lays out the page in-process with Pango, so CJK text uses the system's Noto CJK fonts
(``fonts-noto-cjk``) and no browser is started per PDF. Nothing is fetched: a page that refers
to any URL gets nothing for it (the signboard refers to none).
"""

from __future__ import annotations

import asyncio

from weasyprint import HTML
from weasyprint.urls import URLFetcher


class PdfError(RuntimeError):
    """The page could not be laid out or written as a PDF."""


def render_pdf(html: str) -> bytes:
    """``html`` as an A4 PDF (the page's own ``@page`` rules decide size and margins)."""
    try:
        offline = URLFetcher(allowed_protocols={"data"})  # inline data: URLs only
        pdf = HTML(string=html, url_fetcher=offline).write_pdf()
    except Exception as exc:  # WeasyPrint raises many kinds; callers need one
        raise PdfError(f"PDF 生成失败：{exc}") from exc
    if pdf is None:
        raise PdfError("PDF 生成失败：没有输出")
    return pdf


async def html_to_pdf(html: str) -> bytes:
    """:func:`render_pdf` in a worker thread, so the event loop keeps serving meanwhile."""
    return await asyncio.to_thread(render_pdf, html)
