/* Wangge's own basemap and the map furniture every public map shares.
 *
 * The basemap is drawn from Wangge's data: vector tiles of rivers, compounds, buildings and
 * roads (/tiles/basemap/…, PostGIS ST_AsMVT) under the grids, and the names of roads, the river,
 * compounds and communities (/tiles/labels.json) written on top, each shown from the zoom where
 * it is readable and hidden where it would overlap a more important one. Everything comes from
 * the app itself, so the map works with no internet. Also: zoom buttons, a metric scale bar and
 * an attribution without Leaflet's flag.
 */
(function () {
  "use strict";
  var W = window.Wangge = window.Wangge || {};

  /* Read the options a page's template put on an element as JSON (never inline script). */
  W.options = function (id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.getAttribute("data-opts")) : {};
  };

  /* The Leaflet map whose variable folium named (a global). */
  W.mapNamed = function (name) { return window[name]; };

  var ROAD = {
    trunk: {color: "#f2b25c", base: 5},
    primary: {color: "#f7d68f", base: 4},
    secondary: {color: "#ffffff", base: 3.5},
    local: {color: "#ffffff", base: 2.2}
  };

  function roadStyle(props, z) {
    var r = ROAD[props.level] || ROAD.local;
    var scale = Math.max(0.6, Math.pow(1.35, z - 15));
    return {color: r.color, weight: Math.min(r.base * scale, 22), opacity: 1, lineCap: "round"};
  }

  var STYLES = {
    water: {fill: true, fillColor: "#a7cdf0", fillOpacity: 1, stroke: false},
    compounds: {fill: true, fillColor: "#e9e2d0", fillOpacity: 1, color: "#cdbf9f", weight: 1},
    buildings: {fill: true, fillColor: "#d8d2ca", fillOpacity: 1, color: "#b9afa4", weight: 0.6},
    roads: roadStyle
  };

  /* Which labels a zoom shows, most important first, and how they look. */
  var KINDS = [
    {kind: "community", min: 12, max: 14, size: 14, cls: "wg-lbl-community"},
    {kind: "road", level: "trunk", min: 13, size: 13, cls: "wg-lbl-road wg-lbl-major"},
    {kind: "road", level: "primary", min: 13, size: 13, cls: "wg-lbl-road wg-lbl-major"},
    {kind: "water", min: 12, size: 13, cls: "wg-lbl-water"},
    {kind: "road", level: "secondary", min: 14, size: 12, cls: "wg-lbl-road"},
    {kind: "road", level: "local", min: 15, size: 12, cls: "wg-lbl-road"},
    {kind: "compound", min: 16, size: 12, cls: "wg-lbl-compound"}
  ];

  function rankOf(label) {
    for (var i = 0; i < KINDS.length; i++) {
      var k = KINDS[i];
      if (k.kind === label.kind && (!k.level || k.level === (label.level || "local"))) {
        return i;
      }
    }
    return KINDS.length - 1;
  }

  function Labels(map, pane) {
    this.map = map;
    this.pane = pane;
    this.items = [];
    this.layer = L.layerGroup().addTo(map);
  }

  Labels.prototype.load = function (labels) {
    var self = this;
    this.items = labels.map(function (l) {
      var rank = rankOf(l), k = KINDS[rank];
      var w = l.name.length * k.size + 8, h = k.size + 6;
      var rad = l.angle * Math.PI / 180;
      var icon = L.divIcon({
        className: "wg-lbl " + k.cls,
        html: "<span></span>",
        iconSize: [0, 0]
      });
      var marker = L.marker([l.lat, l.lon], {icon: icon, pane: self.pane, interactive: false,
        keyboard: false});
      marker.on("add", function () {
        var span = marker.getElement().querySelector("span");
        span.textContent = l.name;
        span.style.transform = "translate(-50%, -50%) rotate(" + l.angle + "deg)";
      });
      return {label: l, rank: rank, marker: marker,
        // The rotated text's box on screen, half-sizes.
        hw: (Math.abs(Math.cos(rad)) * w + Math.abs(Math.sin(rad)) * h) / 2,
        hh: (Math.abs(Math.sin(rad)) * w + Math.abs(Math.cos(rad)) * h) / 2};
    });
    this.items.sort(function (a, b) { return a.rank - b.rank; });
    this.layout();
    this.map.on("zoomend moveend", this.layout, this);
  };

  /* Show, in order of importance, each label of this zoom that overlaps none shown before. */
  Labels.prototype.layout = function () {
    var map = this.map, z = map.getZoom(), size = map.getSize(), taken = [], shown = 0;
    var layer = this.layer;
    this.items.forEach(function (it) {
      var k = KINDS[it.rank], keep = false;
      if (z >= k.min && (k.max === undefined || z <= k.max)) {
        var p = map.latLngToContainerPoint([it.label.lat, it.label.lon]);
        var box = [p.x - it.hw, p.y - it.hh, p.x + it.hw, p.y + it.hh];
        var inView = box[2] > 0 && box[3] > 0 && box[0] < size.x && box[1] < size.y;
        keep = inView && !taken.some(function (t) {
          return box[0] < t[2] && t[0] < box[2] && box[1] < t[3] && t[1] < box[3];
        });
        if (keep) { taken.push(box); }
      }
      if (keep && !layer.hasLayer(it.marker)) { layer.addLayer(it.marker); }
      if (!keep && layer.hasLayer(it.marker)) { layer.removeLayer(it.marker); }
      if (keep) { shown += 1; }
    });
    map.getContainer().setAttribute("data-labels", String(shown));
  };

  /* Zoom buttons, a metric scale bar, a plain attribution; and, unless the deployment uses a
   * raster basemap, Wangge's own. ``opts``: own (bool), tiles, labels (URLs). */
  W.furnish = function (map, opts) {
    L.control.zoom({position: opts.zoomPosition || "topright", zoomInTitle: "放大",
      zoomOutTitle: "缩小"}).addTo(map);
    L.control.scale({imperial: false, metric: true, position: "bottomleft"}).addTo(map);
    map.attributionControl.setPrefix("Leaflet");
    if (!opts.own) { return null; }
    map.getContainer().classList.add("wg-own-basemap");
    var base = L.vectorGrid.protobuf(opts.tiles, {
      vectorTileLayerStyles: STYLES,
      interactive: false,
      maxNativeZoom: 18,
      maxZoom: 20,
      zIndex: 0,
      attribution: "底图 © 网格 Wangge"
    }).addTo(map);
    base.on("load", function () { map.getContainer().setAttribute("data-basemap", "loaded"); });
    map.createPane("wg-labels");
    var pane = map.getPane("wg-labels");
    pane.style.zIndex = 450;
    pane.style.pointerEvents = "none";
    var labels = new Labels(map, "wg-labels");
    fetch(opts.labels, {headers: {Accept: "application/json"}}).then(function (r) {
      return r.ok ? r.json() : [];
    }).then(function (list) { labels.load(list); }, function () { /* names are optional */ });
    return base;
  };
})();
