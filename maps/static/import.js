// The import page (/plan/{community}/import): upload a layer or the household table to the
// import API and list the problems it finds, as text.
(function () {
  var form = document.getElementById("wg-import");
  var out = document.getElementById("wg-result");
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var data = new FormData(form);
    var kind = data.get("kind");
    data.delete("kind");
    data.append("community", form.dataset.community);
    if (kind === "households") { data.delete("crs"); }
    out.textContent = "正在校验…";
    fetch("/api/v1/import/" + kind, {method: "POST", body: data, credentials: "same-origin",
      headers: {"X-CSRF-Token": data.get("csrf_token")}})
      .then(function (r) { return r.json().then(function (b) { return [r.status, b]; }); })
      .then(function (res) {
        var status = res[0], body = res[1];
        out.innerHTML = "";
        var p = document.createElement("p");
        p.className = status === 200 ? "ok" : "error";
        p.textContent = status === 200 ? "导入成功：" + body.summary : "未导入：" + (body.detail || status);
        out.appendChild(p);
        if (body.issues) {
          var table = document.createElement("table");
          table.className = "grid-table";
          table.innerHTML = "<tr><th>文件</th><th>行</th><th>列</th><th>问题</th></tr>";
          body.issues.forEach(function (i) {
            var tr = document.createElement("tr");
            [i.file, i.row, i.column, i.problem].forEach(function (v) {
              var td = document.createElement("td"); td.textContent = v == null ? "" : v; tr.appendChild(td);
            });
            table.appendChild(tr);
          });
          out.appendChild(table);
        }
      }, function (err) { out.textContent = "上传失败：" + err; });
  });
})();
