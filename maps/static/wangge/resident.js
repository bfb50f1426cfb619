/* 找网格员 (/find, /g/{code}): search an address, tap the map or use the phone's location; the
 * card shows the grid and whom to call, and the map frames the grid beside the card.
 *
 * Options come from #wg-opts (map: folium's map variable, datum, grid_code, basemap URLs).
 */
(function () {
  "use strict";
  var W = window.Wangge;
  var opts = W.options("wg-opts");
  var map = W.mapNamed(opts.map);
  W.furnish(map, opts.basemap);
  document.body.classList.add("wg-find");

  var ROLES = {grid_chief: "网格长", full_time_worker: "专职网格员",
    part_time_worker: "兼职网格员", party_group_leader: "网格党小组长",
    liaison_leader: "联户长"};
  var card = document.getElementById("wg-card");
  var title = document.getElementById("wg-card-title");
  var body = document.getElementById("wg-card-body");
  var toggle = document.getElementById("wg-card-toggle");
  var search = document.getElementById("wg-search");
  var input = document.getElementById("wg-q");
  var outline = null, pin = null;

  function esc(s) {
    return String(s == null ? "" : s).replace(/[&<>"']/g, function (c) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c];
    });
  }

  /* "第3网格 · 锦江花园片区", or just the name when the name is the number. */
  W.gridTitle = function (g) {
    var numbered = "第" + g.number + "网格";
    return g.name === numbered ? numbered : numbered + " · " + g.name;
  };

  function setOpen(open) {
    card.setAttribute("data-open", open ? "true" : "false");
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
    toggle.textContent = open ? "收起" : "展开";
    document.body.classList.toggle("wg-card-closed", !open);
  }
  toggle.addEventListener("click", function () {
    setOpen(card.getAttribute("data-open") !== "true");
    frame();
  });

  /* Fit the found grid into the part of the map the search bar and the card leave free. */
  function frame() {
    if (!outline) { return; }
    var size = map.getSize(), top = search.getBoundingClientRect().bottom + 12;
    var rect = card.getBoundingClientRect(), wide = rect.width < size.x * 0.6;
    var pad = wide
      ? {paddingTopLeft: [rect.right + 12, top], paddingBottomRight: [16, 16]}
      : {paddingTopLeft: [16, top], paddingBottomRight: [16, size.y - rect.top + 12]};
    map.fitBounds(outline.getBounds(), L.extend(pad, {maxZoom: 17, animate: false}));
  }

  function person(role, p) {
    var org = p.organisation ? "（" + esc(p.organisation) + "）" : "";
    var party = p.party_member ? " · 党员" : "";
    var tel = p.phone ? '<a class="wg-tel" href="tel:' + esc(p.phone) + '">' + esc(p.phone) +
      "</a>" : "";
    return '<li><span><span class="wg-role">' + esc(role) + party + "</span>" + esc(p.name) +
      org + "</span>" + tel + "</li>";
  }

  function clearHighlight() {
    if (outline) { map.removeLayer(outline); outline = null; }
    W.found = null;
    document.body.setAttribute("data-grid", "");
  }

  function show(r) {
    var g = r.grid, c = g.community, html = [];
    title.innerHTML = '<h2 id="wg-grid-title">' + esc(W.gridTitle(g)) + "</h2>";
    html.push('<div class="wg-sub">' + esc(g.street.name) + " " + esc(c.name) +
      " · 网格编码 " + esc(g.code) + "</div>");
    if (r.match && !r.match.exact) {
      html.push('<div class="wg-sub">按“' + esc(r.match.name) +
        "”匹配，未给出门牌或楼栋号，请核对</div>");
    }
    if (r.building) {
      html.push('<div class="wg-sub">楼栋：' + esc(r.building.compound || r.building.road) + " " +
        esc(r.building.name) + "（" + esc(r.building.road) + esc(r.building.door_number) +
        "）</div>");
    }
    html.push('<ul id="wg-staff">');
    r.staff.forEach(function (p) { html.push(person(ROLES[p.role] || p.role, p)); });
    if (!r.staff.length) { html.push('<li class="wg-hint">本网格暂未配备网格员，请联系社区</li>'); }
    r.liaison_leaders.forEach(function (p) { html.push(person("本楼联户长", p)); });
    if (c.office_phone || c.office_address) {
      html.push(person("社区办公室", {name: c.office_address || c.name, phone: c.office_phone}));
    }
    html.push("</ul>");
    html.push('<p><a href="/g/' + esc(g.code) + '">网格公示页</a> · <a href="/g/' + esc(g.code) +
      '/signboard">公示牌</a> · <a href="/report?grid=' + esc(g.code) + '">反映问题</a></p>');
    body.innerHTML = html.join("");
    clearHighlight();
    if (r.boundary) {
      outline = L.geoJSON(r.boundary, {interactive: false,
        style: {color: "#e67e22", weight: 4, fillColor: "#f39c12", fillOpacity: 0.18}});
      outline.addTo(map);
      W.found = outline;  // for the browser tests
    }
    setOpen(true);
    frame();
    document.body.setAttribute("data-grid", g.code);
  }

  function fail(msg, suggestions) {
    clearHighlight();
    title.innerHTML = "<h2>未找到</h2>";
    body.innerHTML = '<p class="wg-error" id="wg-error"></p>';
    body.querySelector("#wg-error").textContent = msg;
    if (suggestions && suggestions.length) {
      var list = document.createElement("div");
      list.id = "wg-suggestions";
      list.className = "wg-suggestions";
      suggestions.forEach(function (s) {
        var b = document.createElement("button");
        b.type = "button";
        b.textContent = s;
        b.addEventListener("click", function () { input.value = s; lookupAddress(s); });
        list.appendChild(b);
      });
      body.appendChild(list);
    }
    setOpen(true);
  }

  function ask(url) {
    body.innerHTML = '<p class="wg-hint">查询中…</p>';
    return fetch(url, {headers: {Accept: "application/json"}}).then(function (resp) {
      return resp.json().then(function (data) {
        if (resp.ok) { show(data); } else {
          fail(typeof data.detail === "string" ? data.detail : "查询失败", data.suggestions);
        }
      });
    }).catch(function () { fail("网络错误，请稍后再试"); });
  }

  function lookupAddress(q) {
    return ask("/api/v1/lookup?geometry=true&coordsys=" + opts.datum + "&q=" +
      encodeURIComponent(q));
  }

  function atPoint(lon, lat, datum) {
    if (pin) { map.removeLayer(pin); }
    pin = L.circleMarker([lat, lon], {radius: 7, color: "#2980b9", fillOpacity: 0.8}).addTo(map);
    ask("/api/v1/lookup?geometry=true&coordsys=" + datum + "&lon=" + lon.toFixed(6) +
        "&lat=" + lat.toFixed(6));
  }

  search.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var q = input.value.trim();
    if (!q) { fail("请输入地址"); return; }
    lookupAddress(q);
  });
  map.on("click", function (ev) { atPoint(ev.latlng.lng, ev.latlng.lat, opts.datum); });
  document.getElementById("wg-locate").addEventListener("click", function () {
    if (!navigator.geolocation) { fail("此浏览器不支持定位"); return; }
    navigator.geolocation.getCurrentPosition(function (pos) {
      // Browsers report WGS84; the server converts for a GCJ-02 basemap.
      atPoint(pos.coords.longitude, pos.coords.latitude, "wgs84");
    }, function () { fail("无法获取位置，请输入地址或点击地图"); },
    {enableHighAccuracy: true, timeout: 10000});
  });
  setOpen(true);
  if (opts.grid_code) {
    ask("/api/v1/lookup/grids/" + encodeURIComponent(opts.grid_code) + "?coordsys=" + opts.datum);
  }
})();
