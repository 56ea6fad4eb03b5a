// The API docs page (templates/api/swagger_ui.html), two things Swagger UI leaves out as it draws: its dialogs' close
// buttons are a bare "×" icon with no name for screen readers (each gets a label, in the page's language: the script
// tag's data-close-label), and its code blocks (examples, responses, curl) scroll sideways without being reachable by
// keyboard (each gets a place in the tab order, so the arrow keys can scroll it).
(function () {
  "use strict";
  var label = document.currentScript.getAttribute("data-close-label") || "Close";
  function name(root) {
    root.querySelectorAll("button.close-modal:not([aria-label])").forEach(function (button) {
      button.setAttribute("aria-label", label);
    });
    root.querySelectorAll("pre.microlight:not([tabindex]), .highlight-code pre:not([tabindex])").forEach(function (code) {
      code.setAttribute("tabindex", "0");
    });
  }
  new MutationObserver(function () { name(document); }).observe(document.body, { childList: true, subtree: true });
  name(document);
})();
