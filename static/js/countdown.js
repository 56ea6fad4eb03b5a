// "Resend code" waits for the server's cooldown: <button data-countdown="<seconds>" data-countdown-label="Resend code">
// stays disabled and reads "Resend code in 2:31" until then. The server refuses an early resend anyway; this only
// says how long to wait instead of letting the click fail.
(function () {
  "use strict";
  function format(seconds) {
    var m = Math.floor(seconds / 60), s = seconds % 60;
    return m + ":" + (s < 10 ? "0" : "") + s;
  }
  function start(button) {
    var left = parseInt(button.getAttribute("data-countdown") || "0", 10);
    var label = button.getAttribute("data-countdown-label") || button.textContent;
    if (!(left > 0)) return;
    var until = Date.now() + left * 1000;
    button.disabled = true;
    function tick() {
      var remaining = Math.ceil((until - Date.now()) / 1000);
      if (remaining <= 0) {
        button.disabled = false;
        button.textContent = label;
        return;
      }
      button.textContent = interpolate(gettext("%(label)s in %(time)s"), { label: label, time: format(remaining) }, true);
      window.setTimeout(tick, 1000);
    }
    tick();
  }
  document.querySelectorAll("[data-countdown]").forEach(start);
})();
