// Corridor kiosk helpers. Everything works without this file; with it:
// quick exit by button, Esc, or Shift pressed three times; the form is wiped
// after an idle time; pages restored from the back-forward cache reload.
(function () {
  "use strict";
  var body = document.body;
  var exitURL = body.getAttribute("data-exit");
  var home = body.getAttribute("data-home");
  var idle = parseInt(body.getAttribute("data-idle") || "0", 10);

  function wipe() {
    var forms = document.forms;
    for (var i = 0; i < forms.length; i++) { forms[i].reset(); }
    try { sessionStorage.clear(); localStorage.clear(); } catch (e) {}
  }
  function quickExit(ev) {
    if (ev) { ev.preventDefault(); }
    wipe();
    document.body.style.display = "none";
    location.replace(exitURL);
  }
  var exit = document.getElementById("quick-exit");
  if (exit) { exit.addEventListener("click", quickExit); }

  var shifts = [];
  document.addEventListener("keydown", function (ev) {
    if (ev.key === "Escape") { quickExit(ev); return; }
    if (ev.key === "Shift" && !ev.repeat) {
      var now = Date.now();
      shifts.push(now);
      shifts = shifts.filter(function (t) { return now - t < 1500; });
      if (shifts.length >= 3) { quickExit(ev); }
    }
  });

  // Switching language replaces the page, so Back never lists the form twice.
  var langs = document.querySelectorAll("nav.langs a");
  for (var i = 0; i < langs.length; i++) {
    langs[i].addEventListener("click", function (ev) {
      ev.preventDefault();
      location.replace(this.getAttribute("href"));
    });
  }

  window.addEventListener("pageshow", function (ev) {
    if (ev.persisted) { wipe(); location.replace(home); }
  });

  if (idle > 0) {
    var timer;
    var reset = function () {
      clearTimeout(timer);
      timer = setTimeout(function () { wipe(); location.replace(home); }, idle * 1000);
    };
    ["keydown", "pointerdown", "input", "scroll", "touchstart"].forEach(function (t) {
      document.addEventListener(t, reset, { passive: true });
    });
    reset();
  }
})();
