// "Switch workspace": a <details data-switcher="/switch/"> menu. On first opening it fetches the list of the person's
// workspaces (same origin, server-rendered HTML) into the menu; without JavaScript the menu links the full list.
(function () {
  "use strict";
  document.querySelectorAll("details[data-switcher]").forEach(function (details) {
    var menu = details.querySelector(".ws-switch__menu");
    var loaded = false;
    details.addEventListener("toggle", function () {
      if (!details.open || loaded || !menu) return;
      loaded = true;
      fetch(details.getAttribute("data-switcher"), { credentials: "same-origin", headers: { Accept: "text/html" } })
        .then(function (response) { return response.ok ? response.text() : Promise.reject(response.status); })
        .then(function (html) { menu.innerHTML = html; })
        .catch(function () { loaded = false; });
    });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && details.open) {
        details.open = false;
        details.querySelector("summary").focus();
      }
    });
  });
})();
