// Live updates: the page listens to its workspace's stream (Server-Sent Events, /live/stream/) and, when someone
// else changes what it shows, asks the server for the page again and swaps in the regions marked data-live-region
// (the board, a task's fields and comments). The bell asks for its count again when told it changed. Nothing here
// trusts the stream's words: they only say "ask again", and the answer comes with the viewer's own permissions.
(function () {
  "use strict";
  // Parts of a page loaded after it (the home page's activity): the page renders without paying for them.
  document.querySelectorAll("[data-fragment]").forEach(function (slot) {
    fetch(slot.getAttribute("data-fragment"), { credentials: "same-origin", headers: { "X-Requested-With": "live" } })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) { if (html !== null) slot.innerHTML = html; })
      .catch(function () {});
  });
  var app = document.querySelector("[data-live]");
  if (!app || !window.EventSource) return;
  var bellUrl = app.getAttribute("data-bell-url");
  var pending = null;

  function refreshBell() {
    var slot = document.querySelector("[data-bell]");
    if (!slot || !bellUrl) return;
    fetch(bellUrl, { credentials: "same-origin", headers: { "X-Requested-With": "live" } })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) { if (html !== null) slot.innerHTML = html; })
      .catch(function () {});
  }

  function busy(region) {
    var active = document.activeElement;
    return (active && active !== document.body && region.contains(active) &&
            /^(INPUT|TEXTAREA|SELECT)$/.test(active.tagName)) || region.querySelector(".is-dragging");
  }

  function refreshRegions() {
    var regions = document.querySelectorAll("[data-live-region][id]");
    if (!regions.length) return;
    fetch(window.location.href, { credentials: "same-origin", headers: { "X-Requested-With": "live" } })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (html === null) return;
        var doc = new DOMParser().parseFromString(html, "text/html");
        regions.forEach(function (region) {
          var fresh = doc.getElementById(region.id);
          if (!fresh || busy(region)) return;
          region.replaceWith(fresh);
          if (window.htmx) window.htmx.process(fresh);
        });
        document.dispatchEvent(new CustomEvent("live:updated"));
      })
      .catch(function () {});
  }

  function schedule() {
    if (pending) return;
    pending = setTimeout(function () { pending = null; refreshRegions(); }, 100);
  }

  var source = new EventSource(app.getAttribute("data-live"));
  source.addEventListener("bell", refreshBell);
  source.addEventListener("change", function (event) {
    var data = {};
    try { data = JSON.parse(event.data); } catch (e) { /* not ours */ }
    if (data.mine) return;  // this page's own change is already on it
    schedule();
  });
  source.addEventListener("gone", function () { source.close(); });
  refreshBell();
})();
