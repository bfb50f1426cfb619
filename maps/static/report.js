/* 反映问题: the residents' report form. Tap the map, type an address or use the phone's
   location; the page shows which grid (and grid worker) will receive the request, then posts
   the form to /api/v1/requests and opens the tracking page. Served as a file: the pages'
   Content-Security-Policy allows no inline script. */
(function () {
  "use strict";
  var form = document.getElementById("r-form");
  var where = document.getElementById("r-where");
  var message = document.getElementById("r-message");
  var lonInput = document.getElementById("r-lon");
  var latInput = document.getElementById("r-lat");
  var datumInput = document.getElementById("r-coordsys");
  var b = form.dataset.bounds.split(",").map(Number);
  var map = L.map("r-map", {zoomControl: true, minZoom: 9, maxZoom: 19});
  map.fitBounds([[b[1], b[0]], [b[3], b[2]]]);
  form.wgMap = map;  // for the browser tests, which tap the map at a known place
  L.control.scale({imperial: false}).addTo(map);
  map.attributionControl.setPrefix("Leaflet");  // no flag
  if (L.vectorGrid) {
    L.vectorGrid.protobuf("/tiles/grids/{z}/{x}/{y}.pbf", {
      vectorTileLayerStyles: {grids: {weight: 1.2, color: "#c0392b", fill: true,
        fillOpacity: 0.05}},
      maxNativeZoom: 18
    }).addTo(map);
  }
  var pin = null, outline = null;

  function say(text) { where.textContent = text; }
  function fail(text) { message.textContent = text; }

  function describe(body) {
    var g = body.grid;
    var worker = (body.staff || []).filter(function (p) {
      return p.role === "full_time_worker";
    })[0];
    return "将由 " + g.community.name + " 第" + g.number + "网格" +
      (worker ? "的网格员 " + worker.name : "") + " 受理";
  }

  function showGrid(url) {
    return fetch(url, {headers: {Accept: "application/json"}}).then(function (resp) {
      return resp.json().then(function (body) {
        if (resp.ok) {
          say(describe(body));
          if (body.boundary) {
            if (outline) { map.removeLayer(outline); }
            outline = L.geoJSON(body.boundary, {style: {color: "#e67e22", weight: 3,
              fillOpacity: 0.1}}).addTo(map);
          }
        } else if (resp.status === 404 && body.nearest_community) {
          say("该位置不在已公布的网格内，将由" + body.nearest_community.name + "派单员受理");
        } else {
          say(typeof body.detail === "string" ? body.detail : "无法确定所在网格");
        }
        document.body.setAttribute("data-routed", "1");
      });
    }).catch(function () { say("网络错误，请稍后再试"); });
  }

  function placePin(lon, lat, datum) {
    if (pin) { map.removeLayer(pin); }
    pin = L.marker([lat, lon]).addTo(map);
    lonInput.value = lon.toFixed(6);
    latInput.value = lat.toFixed(6);
    datumInput.value = datum;
    document.getElementById("r-address").value = "";
    showGrid("/api/v1/lookup?geometry=true&coordsys=" + datum + "&lon=" + lon.toFixed(6) +
      "&lat=" + lat.toFixed(6));
  }

  map.on("click", function (ev) { placePin(ev.latlng.lng, ev.latlng.lat, "wgs84"); });

  document.getElementById("r-locate").addEventListener("click", function () {
    if (!navigator.geolocation) { fail("此浏览器不支持定位，请点击地图或输入地址"); return; }
    navigator.geolocation.getCurrentPosition(function (pos) {
      placePin(pos.coords.longitude, pos.coords.latitude, "wgs84");
      map.setView([pos.coords.latitude, pos.coords.longitude], 17);
    }, function () { fail("无法获取位置，请点击地图或输入地址"); },
    {enableHighAccuracy: true, timeout: 10000});
  });

  document.getElementById("r-find").addEventListener("click", function () {
    var q = document.getElementById("r-address").value.trim();
    if (!q) { fail("请输入地址"); return; }
    lonInput.value = ""; latInput.value = "";
    if (pin) { map.removeLayer(pin); pin = null; }
    showGrid("/api/v1/lookup?geometry=true&q=" + encodeURIComponent(q)).then(function () {
      if (outline) { map.fitBounds(outline.getBounds(), {maxZoom: 17}); }
    });
  });

  function newQuestion() {
    fetch("/api/v1/requests/check").then(function (r) { return r.json(); }).then(function (c) {
      document.getElementById("r-question").textContent = "验证问题：" + c.question;
      document.getElementById("r-token").value = c.token;
      document.getElementById("r-answer").value = "";
    }).catch(function () { fail("网络错误，请刷新页面"); });
  }
  newQuestion();

  if (form.dataset.grid) {
    showGrid("/api/v1/lookup/grids/" + encodeURIComponent(form.dataset.grid)).then(function () {
      if (outline) { map.fitBounds(outline.getBounds(), {maxZoom: 17}); }
    });
  }

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    fail("");
    if (!document.getElementById("r-text").value.trim()) { fail("请填写问题描述"); return; }
    if (!lonInput.value && !document.getElementById("r-address").value.trim()) {
      fail("请在地图上点选问题位置，或输入地址");
      return;
    }
    if (document.getElementById("r-photos").files.length > 3) {
      fail("最多上传 3 张照片");
      return;
    }
    var data = new FormData(form);
    if (!lonInput.value) { data.delete("lon"); data.delete("lat"); }
    var button = document.getElementById("r-submit");
    button.disabled = true;
    fetch("/api/v1/requests", {method: "POST", body: data}).then(function (resp) {
      return resp.json().then(function (body) {
        if (resp.ok) {
          window.location.assign(body.tracking_url);
          return;
        }
        button.disabled = false;
        fail(typeof body.detail === "string" ? body.detail : "填写内容有误，请检查后重试");
        newQuestion();
      });
    }).catch(function () {
      button.disabled = false;
      fail("网络错误，请稍后再试");
    });
  });
})();
