/* The planners' heat map of requests: counts per ~200 m cell from /api/v1/requests/heat
   (EPSG:4490 lon/lat; planners only, never on a public page), drawn as circles whose size
   and colour grow with the count. */
(function () {
  "use strict";
  var el = document.getElementById("h-map");
  if (!el || !window.L) { return; }
  var map = L.map(el, {maxZoom: 19});
  L.control.scale({imperial: false}).addTo(map);
  map.attributionControl.setPrefix("Leaflet");  // no flag
  if (L.vectorGrid) {
    L.vectorGrid.protobuf("/tiles/communities/{z}/{x}/{y}.pbf", {
      vectorTileLayerStyles: {communities: {weight: 1.5, color: "#2c3e50", fill: false}}
    }).addTo(map);
  }
  map.setView([27.72, 109.19], 12);
  fetch(el.dataset.src, {credentials: "same-origin"}).then(function (r) { return r.json(); })
    .then(function (body) {
      var cells = body.cells || [];
      if (!cells.length) { return; }
      var max = Math.max.apply(null, cells.map(function (c) { return c[2]; }));
      var points = [];
      cells.forEach(function (c) {
        var t = c[2] / max;
        var colour = t > 0.66 ? "#c0392b" : t > 0.33 ? "#e67e22" : "#f1c40f";
        L.circleMarker([c[1], c[0]], {radius: 4 + 14 * Math.sqrt(t), stroke: false,
          fillColor: colour, fillOpacity: 0.55}).bindTooltip(String(c[2]) + " 件").addTo(map);
        points.push([c[1], c[0]]);
      });
      map.fitBounds(points, {maxZoom: 16});
      el.setAttribute("data-drawn", String(cells.length));
    });
})();
