/* The staff's work pages: every form with data-api is sent to the JSON API with the
   session's CSRF token (JSON with data-json, multipart otherwise, data-method for PUT and
   DELETE), the answer's message shown beside it, the page reloaded on success; a map of
   the requests or grid on the page (#w-map) draws every element carrying data-lon/data-lat.
   Served as a file: the Content-Security-Policy allows no inline script. */
(function () {
  "use strict";
  var csrf = document.querySelector('meta[name="csrf-token"]').content;

  function value(el) {
    if (el.type === "number" || el.dataset.int !== undefined) {
      return el.value === "" ? null : parseInt(el.value, 10);
    }
    return el.value === "" ? null : el.value;
  }

  function asJson(form) {
    var out = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || el.disabled) { return; }
      if (el.type === "checkbox" && el.dataset.list !== undefined) {
        out[el.name] = out[el.name] || [];
        if (el.checked) { out[el.name].push(el.value); }
      } else if (el.type === "checkbox") {
        out[el.name] = el.checked;
      } else if (el.dataset.pair !== undefined) {
        var parts = el.value.split(":");  // "building:unit" choices of the move-in form
        out.building_id = parseInt(parts[0], 10);
        out.unit_id = parts[1] ? parseInt(parts[1], 10) : null;
      } else {
        var v = value(el);
        if (v !== null) { out[el.name] = v; }
      }
    });
    return out;
  }

  function asForm(form) {
    var data = new FormData(form);
    Array.prototype.forEach.call(form.querySelectorAll("input[type=checkbox]"), function (el) {
      data.set(el.name, el.checked ? "true" : "false");
    });
    return data;
  }

  function message(form, text, ok) {
    var el = form.querySelector(".w-msg");
    if (!el) {
      el = document.createElement("p");
      el.className = "w-msg";
      form.appendChild(el);
    }
    el.textContent = text;
    el.className = ok ? "w-msg w-ok" : "w-msg";
  }

  function explain(body) {
    if (typeof body.detail === "string") { return body.detail; }
    return "填写内容有误，请检查后重试";
  }

  Array.prototype.forEach.call(document.querySelectorAll("form[data-api]"), function (form) {
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var method = form.dataset.method || "POST";
      var headers = {"X-CSRF-Token": csrf, Accept: "application/json"};
      var body;
      if (form.dataset.json !== undefined) {
        body = JSON.stringify(asJson(form));
        headers["Content-Type"] = "application/json";
      } else if (method !== "DELETE") {
        body = asForm(form);
      }
      var url = form.dataset.api;
      var target = form.querySelector("[data-path]");
      if (target) { url = url.replace("{id}", encodeURIComponent(target.value)); }
      Array.prototype.forEach.call(form.querySelectorAll("button"), function (b) {
        b.disabled = true;
      });
      fetch(url, {method: method, headers: headers, body: body, credentials: "same-origin"})
        .then(function (resp) {
          return resp.json().catch(function () { return {}; }).then(function (data) {
            if (resp.ok) {
              message(form, "已完成", true);
              window.location.reload();
              return;
            }
            message(form, explain(data), false);
            Array.prototype.forEach.call(form.querySelectorAll("button"), function (b) {
              b.disabled = false;
            });
          });
        })
        .catch(function () { message(form, "网络错误，请稍后再试", false); });
    });
  });

  var mapEl = document.getElementById("w-map");
  if (mapEl && window.L) {
    var map = L.map(mapEl, {zoomControl: true, maxZoom: 19});
    L.control.scale({imperial: false}).addTo(map);
    map.attributionControl.setPrefix("Leaflet");  // no flag
    if (L.vectorGrid) {
      L.vectorGrid.protobuf("/tiles/grids/{z}/{x}/{y}.pbf", {
        vectorTileLayerStyles: {grids: {weight: 1.2, color: "#c0392b", fill: true,
          fillOpacity: 0.04}},
        maxNativeZoom: 18
      }).addTo(map);
    }
    var points = [];
    Array.prototype.forEach.call(document.querySelectorAll("[data-lon][data-lat]"),
      function (el) {
        var ll = [parseFloat(el.dataset.lat), parseFloat(el.dataset.lon)];
        points.push(ll);
        var overdue = el.classList.contains("overdue");
        var label = document.createElement("span");
        label.textContent = el.dataset.label || "";  // text, never HTML
        L.circleMarker(ll, {radius: 8, color: overdue ? "#c0392b" : "#2980b9",
          fillOpacity: 0.8}).bindTooltip(label).addTo(map);
      });
    if (points.length) {
      map.fitBounds(points, {maxZoom: 17, padding: [20, 20]});
    } else {
      map.setView([27.72, 109.19], 13);
    }
  }
})();
