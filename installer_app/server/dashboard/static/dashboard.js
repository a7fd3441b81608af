// The fleet dashboard's one script (no build step, no library): times in the viewer's own time
// zone, and the lists refreshed in place. Every page works without it, in UTC and by reloading.
"use strict";
(function () {
  var REFRESH_MS = 5000;
  var lang = document.documentElement.lang || "en";
  var zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  var format = new Intl.DateTimeFormat(lang, {
    year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit",
    hour12: false, timeZoneName: "shortOffset"
  });

  // The server groups "per day" and reads date filters in this zone (UTC until it has it).
  if (document.cookie.indexOf("dash_tz=" + encodeURIComponent(zone)) < 0) {
    document.cookie = "dash_tz=" + encodeURIComponent(zone) +
      "; path=/; max-age=31536000; samesite=strict";
  }

  function localize(root) {
    var times = root.querySelectorAll("time[datetime]");
    for (var i = 0; i < times.length; i++) {
      var t = times[i];
      var when = new Date(t.getAttribute("datetime"));
      if (!isNaN(when.getTime())) {
        t.textContent = format.format(when);
        t.title = t.getAttribute("datetime");
      }
    }
  }

  function noteZone() {
    var note = document.querySelector(".tz-note");
    if (!note) { return; }
    var offset = format.formatToParts(new Date()).filter(function (p) {
      return p.type === "timeZoneName";
    }).map(function (p) { return p.value; }).join("");
    note.textContent = note.getAttribute("data-tz-label") + " " + zone + " (" + offset + ")";
  }

  function follow(box) {
    var url = box.getAttribute("data-live");
    var last = null;
    var busy = false;
    var timer = setInterval(function () {
      if (busy || document.visibilityState !== "visible") { return; }
      busy = true;
      fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (answer) {
          if (answer.status === 401 || answer.status === 403) {
            clearInterval(timer);  // signed out or revoked: the next click shows why
            return null;
          }
          return answer.ok ? answer.text() : null;
        })
        .then(function (html) {
          // The server escaped every value: the fragment is the same HTML a reload would show.
          if (html !== null && html !== last) {
            last = html;
            box.innerHTML = html;
            localize(box);
            box.setAttribute("data-refreshed", new Date().toISOString());
          }
        })
        .catch(function () { /* the server is restarting: try again at the next tick */ })
        .then(function () { busy = false; });
    }, REFRESH_MS);
  }

  localize(document);
  noteZone();
  var boxes = document.querySelectorAll("[data-live]");
  for (var i = 0; i < boxes.length; i++) { follow(boxes[i]); }
})();
