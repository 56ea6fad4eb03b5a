// Page-wide behaviour: the workspace sidebar as a drawer on narrow screens, and toasts that go away by themselves.
// Loaded in <head> without `defer`: it marks <html class="js"> before the first paint (the CSS keeps the no-JavaScript
// layout otherwise) and does the rest once the document is parsed.
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  // The scripts' strings come from the JavaScript catalogue (/i18n/js/, loaded just before); should it be missing,
  // they stay in English rather than break.
  if (typeof window.gettext !== "function") {
    window.gettext = function (text) { return text; };
    window.ngettext = function (singular, plural, count) { return count === 1 ? singular : plural; };
    window.interpolate = function (format, values, named) {
      return named
        ? format.replace(/%\(\w+\)s/g, function (match) { return String(values[match.slice(2, -2)]); })
        : format.replace(/%s/g, function () { return String(values.shift()); });
    };
  }

  var TOAST_MS = 6000;

  // --- Drawer --------------------------------------------------------------------------------------------------
  function drawer() {
    var app = document.querySelector("[data-drawer]");
    var toggle = document.querySelector("[data-drawer-toggle]");
    if (!app || !toggle) return;
    var panel = document.getElementById(toggle.getAttribute("aria-controls"));
    var backdrop = app.querySelector(".drawer-backdrop");
    var behind = app.querySelectorAll(".app-bar, .app__main");
    var narrow = window.matchMedia("(max-width: 48rem)");

    function isOpen() { return toggle.getAttribute("aria-expanded") === "true"; }

    function setOpen(open, returnFocus) {
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
      app.classList.toggle("is-drawer-open", open);
      if (backdrop) backdrop.hidden = !open;
      // While it is open, the page behind it can be neither clicked nor tabbed to.
      behind.forEach(function (el) { el.inert = open; });
      if (open) {
        var first = panel.querySelector("a[href], button:not([disabled])");
        if (first) first.focus();
      } else if (returnFocus) {
        toggle.focus();
      }
    }

    toggle.addEventListener("click", function () { setOpen(!isOpen(), true); });
    app.querySelectorAll("[data-drawer-close]").forEach(function (el) {
      el.addEventListener("click", function () { setOpen(false, true); });
    });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && isOpen()) {
        event.preventDefault();
        setOpen(false, true);
      }
    });
    narrow.addEventListener("change", function () { if (!narrow.matches && isOpen()) setOpen(false, false); });
  }

  // --- Toasts --------------------------------------------------------------------------------------------------
  // Toasts float over a corner of the window (bottom right; the bottom on a phone), so they never move the page. A
  // toast about something on the page (data-about: the ids of the rows it reports on, e.g. the invitation just sent)
  // never covers it: while it would, the toasts move to the top of the window. The page gets room at its end as tall
  // as the toasts, so its last lines can still be scrolled out from under them.
  function toastPlace() {
    var region = document.querySelector(".flash-region");
    if (!region) return;
    var toasts = region.querySelectorAll(".flash");
    document.body.style.setProperty("--toast-room", toasts.length ? region.offsetHeight + "px" : "0px");
    var about = [];
    toasts.forEach(function (toast) {
      (toast.getAttribute("data-about") || "").split(" ").forEach(function (id) {
        var el = id && document.getElementById(id);
        if (el) about.push(el);
      });
    });
    function covered() {
      var box = region.getBoundingClientRect(), hidden = 0;
      about.forEach(function (el) {
        var r = el.getBoundingClientRect();
        var w = Math.min(box.right, r.right) - Math.max(box.left, r.left);
        var h = Math.min(box.bottom, r.bottom) - Math.max(box.top, r.top);
        if (w > 0 && h > 0) hidden += w * h;
      });
      return hidden;
    }
    region.classList.remove("flash-region--top");
    if (!about.length) return;
    var below = covered();
    if (below === 0) return;
    region.classList.add("flash-region--top");
    if (covered() > below) region.classList.remove("flash-region--top");
  }

  // Information and success dismiss themselves after a few seconds; the timer waits while the pointer or the keyboard
  // focus is on the toast. Errors and toasts with an action (e.g. "Undo") stay until closed.
  function toasts() {
    var pending = false;
    function placeSoon() {
      if (pending) return;
      pending = true;
      window.requestAnimationFrame(function () { pending = false; toastPlace(); });
    }
    if (document.querySelector(".flash")) {
      toastPlace();
      window.addEventListener("scroll", placeSoon, { passive: true });
      window.addEventListener("resize", placeSoon);
    }
    document.querySelectorAll(".flash").forEach(function (toast) {
      var close = toast.querySelector(".flash__close");
      function dismiss() {
        var hadFocus = toast.contains(document.activeElement);
        toast.remove();
        toastPlace();
        if (hadFocus) {
          var main = document.getElementById("main");
          if (main) main.focus({ preventScroll: true });  // the page stays where the reader had it
        }
      }
      if (close) {
        close.addEventListener("click", function (event) {
          event.preventDefault();
          dismiss();
        });
      }
      if (toast.hasAttribute("data-sticky")) return;
      var timer = null;
      var hovered = false, focused = false;
      function start() {
        if (timer === null && !hovered && !focused) timer = window.setTimeout(dismiss, TOAST_MS);
      }
      function stop() {
        if (timer !== null) window.clearTimeout(timer);
        timer = null;
      }
      toast.addEventListener("mouseenter", function () { hovered = true; stop(); });
      toast.addEventListener("mouseleave", function () { hovered = false; start(); });
      toast.addEventListener("focusin", function () { focused = true; stop(); });
      toast.addEventListener("focusout", function () { focused = false; start(); });
      start();
    });
  }

  // A tab strip wider than the window (settings on a phone) scrolls sideways: it opens scrolled to the current tab,
  // which would otherwise sit out of sight at the far end.
  function currentTabs() {
    document.querySelectorAll(".tabs").forEach(function (strip) {
      var current = strip.querySelector("[aria-current=page]");
      if (!current || strip.scrollWidth <= strip.clientWidth) return;
      strip.scrollLeft = current.offsetLeft - strip.offsetLeft - (strip.clientWidth - current.offsetWidth) / 2;
    });
  }

  function ready() {
    drawer();
    toasts();
    currentTabs();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", ready);
  else ready();
})();
