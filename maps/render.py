"""Turning a folium map into the HTML of a page, without letting its data become code.

Two hazards of folium/branca are closed here (issue 13, item 2):

* branca's ``MacroElement.render`` wraps the output of each element's template in a new
  ``Element``, which parses that output *as a Jinja template* a second time. Every string a map
  shows (a building's name in the GeoJSON, a community's name in the side panel) is in that
  output, so a name like ``{{ 7*7 }}`` would be evaluated on the server. :func:`install` makes
  the output plain text: rendered once, never parsed again.
* The pages' inline ``<script>`` blocks are allowed by the Content-Security-Policy only with the
  request's nonce (:func:`page_html`), so the policy needs no ``'unsafe-inline'`` for scripts.
"""

from __future__ import annotations

from branca.element import Element, Figure, MacroElement

_PARTS = ("header", "html", "script")


class Text(Element):
    """Markup that is already final: inserted as it is, never parsed as a template."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self._name = "Text"
        self.text = text

    def render(self, **kwargs) -> str:
        return self.text


def _render_once(self: MacroElement, **kwargs) -> None:
    """branca's ``MacroElement.render`` with each macro's output kept as :class:`Text`."""
    figure = self.get_root()
    assert isinstance(figure, Figure), "You cannot render this Element if it is not in a Figure."
    module = self._template.module
    for part in _PARTS:
        macro = module.__dict__.get(part)
        if macro is not None:
            getattr(figure, part).add_child(Text(macro(self, kwargs)), name=self.get_name())
    for element in self._children.values():
        element.render(**kwargs)


def figure_of(m: Element) -> Figure:
    """The page (``Figure``) that map ``m`` is drawn on, whose header, html and script parts
    the page modules add to."""
    root = m.get_root()
    assert isinstance(root, Figure), "a folium map always sits in a Figure"
    return root


def install() -> None:
    """Render every folium element once (idempotent; called by ``maps.assets.local_map``)."""
    MacroElement.render = _render_once  # type: ignore[method-assign]


def page_html(m: Element, nonce: str) -> str:
    """The zh-CN page of map ``m``, each inline script carrying the CSP ``nonce``.

    Only the exact tag ``<script>`` is marked: folium writes its inline scripts that way, and no
    user string can produce it, since the data reach the page JSON-encoded (``<`` as ``\\u003c``)
    or HTML-escaped.
    """
    html = m.get_root().render().replace("<html>", '<html lang="zh-CN">', 1)
    return html.replace("<script>", f'<script nonce="{nonce}">')
