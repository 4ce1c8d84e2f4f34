// Corridor console helper: selecting text in the testimony fills the
// redaction field. Everything works without it (type the text to hide).
(function () {
  "use strict";
  var t = document.getElementById("testimony");
  var find = document.getElementById("redact-find");
  var field = document.getElementById("redact-field");
  if (!t || !find) { return; }
  t.addEventListener("mouseup", function () {
    var s = window.getSelection ? String(window.getSelection()) : "";
    if (s) { find.value = s; if (field) { field.value = "testimony"; } }
  });
})();
