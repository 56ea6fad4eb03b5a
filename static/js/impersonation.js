// The impersonation banner counts the minutes down to the session's end, then reloads the page: the server, seeing
// the session over, sends the operator back to the admin. (A <meta http-equiv="refresh"> did this before: a timed
// change the reader can neither stop nor see coming, which axe reports as critical.)
(function () {
  "use strict";
  var bar = document.querySelector("[data-impersonation-seconds]");
  if (!bar) return;
  var left = parseInt(bar.getAttribute("data-impersonation-seconds") || "0", 10);
  if (!(left > 0)) return;
  var until = Date.now() + left * 1000;
  var minutes = bar.querySelector("[data-impersonation-minutes]");
  function tick() {
    var remaining = until - Date.now();
    if (remaining <= 0) {
      window.location.reload();
      return;
    }
    if (minutes) minutes.textContent = String(Math.ceil(remaining / 60000));
    window.setTimeout(tick, Math.min(remaining, 15000));
  }
  tick();
})();
