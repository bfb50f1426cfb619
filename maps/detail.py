"""Tooltips and popups that show a feature's properties as text, never as HTML.

Folium's ``GeoJsonTooltip`` joins the properties into an HTML string and assigns it to
``innerHTML``, so a building imported as ``<img src=x onerror=alert(1)>栋`` runs script when a
planner hovers it (issue 13, item 2); ``folium.Tooltip`` and ``folium.Popup`` put their text into
a JavaScript template literal. These build the same tables and links from DOM nodes with
``textContent``, reading the properties from the GeoJSON folium already embeds as escaped JSON.
"""

from __future__ import annotations

import folium
from branca.element import MacroElement
from folium.template import Template


class TextTooltip(folium.GeoJsonTooltip):
    """``folium.GeoJsonTooltip`` (same arguments) whose labels and values are plain text."""

    _template = Template(
        """
    {% macro script(this, kwargs) %}
    {{ this._parent.get_name() }}.bindTooltip(function (layer) {
        var fields = {{ this.fields | tojson }};
        var aliases = {{ this.aliases | tojson }};
        var props = layer.feature.properties;
        var div = L.DomUtil.create("div");
        var table = L.DomUtil.create("table", "", div);
        fields.forEach(function (field, i) {
            var value = props[field];
            var row = L.DomUtil.create("tr", "", table);
            {% if this.labels %}L.DomUtil.create("th", "", row).textContent = aliases[i];{% endif %}
            L.DomUtil.create("td", "", row).textContent = value == null ? "" :
                (typeof value === "object" ? JSON.stringify(value) : String(value));
        });
        return div;
    }, {{ this.tooltip_options | tojavascript }});
    {% endmacro %}
    """
    )


class LinkPopup(MacroElement):
    """A popup on a GeoJSON layer holding one link: ``prefix + properties[code]``, labelled
    ``properties[label] + suffix``."""

    _template = Template(
        """
    {% macro script(this, kwargs) %}
    {{ this._parent.get_name() }}.bindPopup(function (layer) {
        var props = layer.feature.properties;
        var a = L.DomUtil.create("a");
        a.href = {{ this.prefix | tojson }} + encodeURIComponent(props[{{ this.code | tojson }}]);
        a.textContent = props[{{ this.label | tojson }}] + {{ this.suffix | tojson }};
        return a;
    }, {maxWidth: 240});
    {% endmacro %}
    """
    )

    def __init__(self, prefix: str, code: str, label: str, suffix: str = "") -> None:
        super().__init__()
        self._name = "LinkPopup"
        self.prefix, self.code, self.label, self.suffix = prefix, code, label, suffix


class MetricScale(MacroElement):
    """A metric scale bar (metres and kilometres only) and an attribution without a flag, as
    ``basemap.js`` and ``planner.js`` give the other maps: folium's ``control_scale`` also
    shows feet and miles."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        {% set map = this._parent.get_name() %}
        L.control.scale({imperial: false, position: "bottomleft"}).addTo({{ map }});
        {{ map }}.attributionControl.setPrefix("Leaflet");
        {% endmacro %}
        """
    )

    def __init__(self) -> None:
        super().__init__()
        self._name = "MetricScale"
