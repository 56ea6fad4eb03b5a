// Suggestion buttons: <button data-fill="<input id>" data-value="…"> puts the value into the input, tells listeners
// (the availability check) with an "input" event, and moves the focus there. Works for buttons added later (HTMX).
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var button = event.target instanceof Element ? event.target.closest("[data-fill]") : null;
    if (!button) return;
    var input = document.getElementById(button.getAttribute("data-fill"));
    if (!input) return;
    event.preventDefault();
    input.value = button.getAttribute("data-value") || "";
    input.dataset.edited = "true";
    input.dispatchEvent(new Event("input", { bubbles: true }));
    input.focus();
  });
})();
