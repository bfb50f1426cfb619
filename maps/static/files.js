/* Photo inputs: the browser's own file button speaks its UI language, so the pages hide it
   behind a Chinese label (label.w-file) and name the chosen photos beside it (.w-files). */
(function () {
  "use strict";
  Array.prototype.forEach.call(document.querySelectorAll("label.w-file input[type=file]"),
    function (input) {
      input.addEventListener("change", function () {
        var shown = input.parentNode.nextElementSibling;
        if (shown) {
          shown.textContent = input.files.length ? "已选择 " + input.files.length + " 张照片" :
            "未选择照片";
        }
      });
    });
})();
