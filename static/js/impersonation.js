// The impersonation banner tells the stylesheet its height, and counts the minutes down to the session's end, then
// reloads the page: the server, seeing the session over, sends the operator back to the admin. (A <meta
// http-equiv="refresh"> did this before: a timed change the reader can neither stop nor see coming, which axe reports
// as critical.)
(function () {
  "use strict";
  var bar = document.querySelector("[data-impersonation-seconds]");
  if (!bar) return;
  // The banner's height, for the stylesheet: the sidebar starts below it and ends at the window's bottom. Set through
  // the CSS object model (a custom property), which the Content Security Policy allows, unlike a style attribute.
  function measure() {
    document.documentElement.style.setProperty("--impersonation-bar-height", bar.offsetHeight + "px");
  }
  measure();
  if (window.ResizeObserver) new window.ResizeObserver(measure).observe(bar);
  else window.addEventListener("resize", measure);
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
