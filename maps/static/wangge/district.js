/* 网格地图 (/map): every published grid of the district on Wangge's basemap; clicking a grid
 * names it and links to its public page. */
(function () {
  "use strict";
  var W = window.Wangge;
  var opts = W.options("wg-opts");
  var map = W.mapNamed(opts.map);
  // Streets, communities and grids in one tile layer; only the grids take clicks (the outlines
  // are wg-outline, which public.css lets clicks through).
  var overlay = W.mapNamed(opts.overlay);
  W.furnish(map, opts.basemap);
  overlay.on("click", function (ev) {
    var p = ev.layer.properties;
    var box = document.createElement("div");
    var name = document.createElement("strong");
    name.textContent = p.name === "第" + p.number + "网格" ? p.name :
      "第" + p.number + "网格 · " + p.name;
    var link = document.createElement("a");
    link.href = "/g/" + encodeURIComponent(p.code);
    link.textContent = "公示页";
    box.appendChild(name);
    box.appendChild(document.createElement("br"));
    box.appendChild(link);
    L.popup().setLatLng(ev.latlng).setContent(box).openOn(map);
  });
  // For the benchmark and the browser tests: set once the first view's tiles are drawn.
  overlay.on("load", function () { window.wanggeTilesLoaded = true; });
})();
