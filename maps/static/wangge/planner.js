/* The planner map's panel (/plan/{community}): re-balance, re-divide, undo and discard a draft,
 * move buildings (with a preview of both grids' tallies), staff the grids, publish (warned of
 * grids left without a chief or a full-time worker), browse versions and roll back.
 *
 * Options come from #wg-opts; every call goes to the plan API with the session's CSRF token.
 */
(function () {
  "use strict";
  var W = window.Wangge = window.Wangge || {};
  var el = document.getElementById("wg-opts");
  var opts = JSON.parse(el.getAttribute("data-opts"));
  var map = window[opts.map];
  var buildings = window[opts.buildings_layer];
  var base = "/api/v1/communities/" + opts.community.code;
  var planPath = "/plans/" + opts.plan.id;
  var msg = document.getElementById("wg-msg");
  var panel = document.getElementById("wg-panel");
  var ROLES = {grid_chief: "网格长", full_time_worker: "专职网格员",
    part_time_worker: "兼职网格员", party_group_leader: "网格党小组长"};
  var tally = {};
  opts.grids.forEach(function (g) { tally[g.number] = g.households; });

  function $(id) { return document.getElementById(id); }
  function say(text, ok) {
    msg.innerHTML = "";
    var div = document.createElement("div");
    div.className = "wg-msg " + (ok ? "wg-ok" : "wg-error");
    div.textContent = text;
    msg.appendChild(div);
    return div;
  }
  function call(method, path, body) {
    return fetch(base + path, {
      method: method, credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRF-Token": opts.csrf_token},
      body: body ? JSON.stringify(body) : undefined
    }).then(function (r) {
      if (r.status === 204) { return {}; }
      return r.json().then(function (data) {
        if (!r.ok) {
          throw new Error(typeof data.detail === "string" ? data.detail : "操作失败，请检查输入");
        }
        return data;
      });
    });
  }
  function go(planId, extra) {
    var q = [];
    if (planId) { q.push("plan=" + planId); }
    if (extra) { q.push(extra); }
    window.location.href = "/plan/" + opts.community.code + (q.length ? "?" + q.join("&") : "");
  }
  function bind(id, fn) {
    var b = $(id);
    if (b) { b.addEventListener("click", fn); }
  }

  /* While a long edit runs: every button disabled, a spinner with what is happening. */
  function busy(text) {
    panel.querySelectorAll("button").forEach(function (b) {
      if (b.id !== "wg-drawer") { b.disabled = true; }
    });
    var spin = $("wg-spinner");
    spin.hidden = false;
    spin.querySelector("em").textContent = text;
    panel.setAttribute("aria-busy", "true");
  }
  function idle() {
    panel.querySelectorAll("button").forEach(function (b) { b.disabled = false; });
    $("wg-spinner").hidden = true;
    panel.removeAttribute("aria-busy");
  }
  function failed(e) { idle(); say(e.message); }
  function run(button, method, path, body) {
    busy(button.getAttribute("data-busy") || "处理中…");
    return call(method, path, body).then(function () { go(opts.plan.id); }, failed);
  }

  var rev = {revision: opts.plan.revision};
  bind("wg-start", function () {
    busy("正在新建草稿…");
    call("POST", "/drafts").then(function (d) { go(d.plan.id); }, failed);
  });
  bind("wg-start-from", function () {
    busy("正在以第 " + opts.plan.version + " 版为基础新建草稿…");
    call("POST", "/drafts?from_version=" + opts.plan.version).then(function (d) {
      go(d.plan.id);
    }, failed);
  });
  bind("wg-rebalance", function () { run(this, "POST", planPath + "/rebalance", rev); });
  bind("wg-divide", function () {
    if (!confirm("重新划分会改变所有网格，确定吗？")) { return; }
    run(this, "POST", planPath + "/divide", rev);
  });
  bind("wg-undo", function () {
    busy("正在撤销…");
    call("POST", planPath + "/undo", rev).then(function () { go(opts.plan.id); }, failed);
  });
  bind("wg-discard", function () {
    if (!confirm("放弃草稿？")) { return; }
    busy("正在放弃草稿…");
    call("DELETE", planPath + "?revision=" + opts.plan.revision).then(function () { go(); },
      failed);
  });

  /* Publishing: warn first of grids left without a chief or a full-time worker. */
  bind("wg-publish", function () {
    var missing = Object.keys(opts.unstaffed || {});
    var named = missing.map(function (n) { return "第" + n + "网格"; }).join("、");
    if (missing.length && !confirm("以下网格没有网格长或专职网格员，居民将找不到人：" + named +
        "。仍要发布吗？")) { return; }
    var reason = $("wg-reason").value.trim();
    busy("正在发布…");
    call("POST", planPath + "/publish", {revision: opts.plan.revision, reason: reason || null})
      .then(function (r) {
        // Show the published plan, no longer the draft, with the result on top.
        go(null, "published=" + r.version + "&changed=" + r.households_changing_worker);
      }, failed);
  });
  var params = new URLSearchParams(window.location.search);
  if (params.get("published")) {
    say("已发布第 " + params.get("published") + " 版；" + (params.get("changed") || 0) +
      " 户更换网格员。", true);
  }

  /* Rolling back to an archived version: a reason is required. */
  document.querySelectorAll(".wg-rollback").forEach(function (b) {
    b.addEventListener("click", function () {
      var version = Number(b.getAttribute("data-version"));
      var reason = prompt("回滚到第 " + version + " 版的原因（必填）：");
      if (reason === null) { return; }
      if (!reason.trim()) { say("请填写回滚原因"); return; }
      busy("正在回滚…");
      call("POST", "/rollback", {version: version, reason: reason.trim()}).then(function (p) {
        go(null, "published=" + p.version + "&changed=0");
      }, failed);
    });
  });

  /* Moving buildings: pick a neighbouring grid, see both grids' tallies, then confirm. */
  function preview(from, to, households) {
    var box = $("wg-move-preview");
    var before = {from: tally[from], to: tally[to]};
    var after = {from: before.from - households, to: before.to + households};
    function line(n, a, b) {
      var bad = b < opts.band[0] || b > opts.band[1];
      return "<div>第" + n + "网格：" + a + " → <span class='" + (bad ? "wg-bad" : "") + "'>" +
        b + " 户" + (bad ? "（超出 " + opts.band[0] + "–" + opts.band[1] + "）" : "") +
        "</span></div>";
    }
    box.innerHTML = line(from, before.from, after.from) + line(to, before.to, after.to);
    box.hidden = false;
    box.setAttribute("data-from", String(after.from));
    box.setAttribute("data-to", String(after.to));
  }
  if (opts.plan.status === "draft" && opts.can_plan) {
    buildings.on("click", function (e) {
      var p = e.layer.feature.properties;
      $("wg-move").hidden = false;
      $("wg-move-preview").hidden = true;
      $("wg-move-go").hidden = true;
      $("wg-move-what").textContent = (p.compound ? p.compound + " " : "") + p.name + "（" +
        p.households + " 户，第" + p.grid + "网格）";
      var ids = [p.id], total = p.households;
      if (p.compound) {
        buildings.eachLayer(function (l) {
          var q = l.feature.properties;
          if (q.compound === p.compound && q.id !== p.id) { ids.push(q.id); total += q.households; }
        });
      }
      var whole = $("wg-move-compound");
      whole.hidden = !p.compound || ids.length === 1;
      whole.querySelector("span").textContent = p.compound + "（" + ids.length + " 栋）";
      var targets = $("wg-move-targets");
      targets.textContent = "查询相邻网格…";
      var chosen = null;
      function moving() { return whole.querySelector("input").checked && !whole.hidden; }
      function refresh() {
        if (chosen !== null) { preview(p.grid, chosen, moving() ? total : p.households); }
      }
      whole.querySelector("input").onchange = refresh;
      call("GET", planPath + "/buildings/" + p.id + "/neighbours").then(function (numbers) {
        targets.innerHTML = "";
        if (!numbers.length) { targets.textContent = "没有相邻网格"; return; }
        numbers.forEach(function (n) {
          var b = document.createElement("button");
          b.textContent = "移入第" + n + "网格";
          b.dataset.grid = n;
          b.addEventListener("click", function () {
            chosen = n;
            refresh();
            $("wg-move-go").hidden = false;
            $("wg-move-go").dataset.grid = n;
          });
          targets.appendChild(b);
        });
      }, function (e) { targets.textContent = e.message; });
      $("wg-move-go").onclick = function () {
        busy("正在移动楼栋…");
        call("POST", planPath + "/moves", {revision: opts.plan.revision,
          building_ids: moving() ? ids : [p.id], to_grid: chosen})
          .then(function () { go(opts.plan.id); }, failed);
      };
    });
  }

  /* Staffing: each grid's posts; assign or move staff of the community by picking. */
  var staffById = {};
  opts.staff.forEach(function (s) { staffById[s.id] = s; });
  function names(list, role) {
    return list.filter(function (p) { return p.role === role; })
      .map(function (p) { return p.name; });
  }
  var postsBody = document.querySelector("#wg-posts tbody");
  var editable = opts.can_plan && opts.plan.status !== "archived";
  opts.grids.forEach(function (g) {
    var posts = opts.posts[String(g.number)] || [];
    var tr = document.createElement("tr");
    tr.dataset.number = g.number;
    [["grid_chief", "缺"], ["full_time_worker", "缺"], ["part_time_worker", "—"]]
      .forEach(function (pair, i) {
        if (i === 0) {
          var td0 = document.createElement("td");
          td0.textContent = "第" + g.number + "网格";
          tr.appendChild(td0);
        }
        var td = document.createElement("td");
        var found = names(posts, pair[0]);
        td.textContent = found.length ? (pair[0] === "part_time_worker" ?
          found.length + " 人" : found.join("、")) : pair[1];
        if (!found.length && pair[1] === "缺") { td.className = "wg-missing"; }
        tr.appendChild(td);
      });
    var act = document.createElement("td");
    if (editable) {
      var b = document.createElement("button");
      b.textContent = "调整";
      b.className = "wg-edit-posts";
      b.addEventListener("click", function () { editPosts(g.number, posts); });
      act.appendChild(b);
    }
    tr.appendChild(act);
    postsBody.appendChild(tr);
  });

  function option(select, s, selected) {
    var o = document.createElement("option");
    o.value = s.id;
    var where = s.grids && s.grids.length ? "，现第" + s.grids.join("、") + "网格" : "，未分配";
    o.textContent = s.name + "（" + (ROLES[s.role] || s.role) + where + "）";
    o.selected = selected;
    select.appendChild(o);
  }
  function picker(label, role, posts, required) {
    var wrap = document.createElement("label");
    wrap.textContent = label + " ";
    var select = document.createElement("select");
    select.dataset.role = role;
    if (!required) {
      var none = document.createElement("option");
      none.value = "";
      none.textContent = "（无）";
      select.appendChild(none);
    }
    var current = posts.filter(function (p) { return p.role === role; })
      .map(function (p) { return p.staff_id; });
    opts.staff.forEach(function (s) { option(select, s, current.indexOf(s.id) >= 0); });
    if (required && !current.length) { select.value = ""; }
    wrap.appendChild(select);
    return wrap;
  }
  function editPosts(number, posts) {
    var box = $("wg-post-editor");
    box.hidden = false;
    box.className = "wg-editor";
    box.innerHTML = "";
    var h = document.createElement("strong");
    h.textContent = "第" + number + "网格人员";
    box.appendChild(h);
    var chief = picker("网格长", "grid_chief", posts, true);
    var full = picker("专职网格员", "full_time_worker", posts, false);
    var party = picker("网格党小组长", "party_group_leader", posts, false);
    box.appendChild(chief);
    box.appendChild(full);
    box.appendChild(party);
    (opts.follow[String(number)] || []).forEach(function (f) {
      var tip = document.createElement("div");
      tip.className = "wg-follow";
      tip.textContent = "建议：" + f.name + "（原" + ROLES[f.role] + "）的住户有 " + f.households +
        " 户移入本网格 ";
      var use = document.createElement("button");
      use.textContent = "采用为" + ROLES[f.role];
      use.className = "wg-use-follow";
      use.addEventListener("click", function () {
        var target = f.role === "grid_chief" ? chief : full;
        target.querySelector("select").value = String(f.staff_id);
      });
      tip.appendChild(use);
      box.appendChild(tip);
    });
    var parts = document.createElement("div");
    parts.textContent = "兼职网格员：";
    var current = posts.filter(function (p) { return p.role === "part_time_worker"; })
      .map(function (p) { return p.staff_id; });
    opts.staff.filter(function (s) { return s.role === "part_time_worker"; }).forEach(function (s) {
      var l = document.createElement("label");
      var c = document.createElement("input");
      c.type = "checkbox";
      c.value = s.id;
      c.checked = current.indexOf(s.id) >= 0;
      l.appendChild(c);
      l.appendChild(document.createTextNode(" " + s.name));
      parts.appendChild(l);
    });
    box.appendChild(parts);
    var save = document.createElement("button");
    save.className = "wg-primary";
    save.id = "wg-save-posts";
    save.textContent = "保存人员";
    save.addEventListener("click", function () {
      var list = [];
      box.querySelectorAll("select").forEach(function (s) {
        if (s.value) { list.push({staff_id: Number(s.value), role: s.dataset.role}); }
      });
      parts.querySelectorAll("input:checked").forEach(function (c) {
        list.push({staff_id: Number(c.value), role: "part_time_worker"});
      });
      if (!list.some(function (p) { return p.role === "grid_chief"; })) {
        say("请选择网格长");
        return;
      }
      busy("正在保存人员…");
      var body = {posts: list};
      if (opts.plan.status === "draft") { body.revision = opts.plan.revision; }
      call("PUT", planPath + "/grids/" + number + "/staff", body)
        .then(function () { go(opts.plan.id); }, failed);
    });
    var cancel = document.createElement("button");
    cancel.textContent = "取消";
    cancel.addEventListener("click", function () { box.hidden = true; });
    box.appendChild(save);
    box.appendChild(cancel);
    box.scrollIntoView({block: "nearest"});
  }

  L.control.scale({imperial: false, position: "bottomright"}).addTo(map);
  map.attributionControl.setPrefix("Leaflet");

  /* Phones: the panel is a drawer over the map. */
  bind("wg-drawer", function () {
    var open = panel.getAttribute("data-open") !== "true";
    panel.setAttribute("data-open", open ? "true" : "false");
  });
  if (window.matchMedia("(max-width: 700px)").matches) {
    panel.setAttribute("data-open", "false");
  }

  W.planner = {map: map, buildings: buildings, opts: opts};
  window.wanggePlanner = W.planner;
})();
