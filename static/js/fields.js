/* Small field behaviours, declared in the markup instead of inline handlers (the Content Security Policy allows no
   onclick=…):
   - <input data-select-on-focus>: selects its whole value when focused (a secret shown once, to copy);
   - <button data-fill="ID" data-fill-value="VALUE">: puts VALUE in the field #ID and tells it (an `input` event, so
     an HTMX check on that field runs again). */
(function () {
  "use strict";

  document.addEventListener("focusin", function (event) {
    var input = event.target.closest && event.target.closest("[data-select-on-focus]");
    if (input) input.select();
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-fill]");
    if (!button) return;
    var field = document.getElementById(button.getAttribute("data-fill"));
    if (!field) return;
    field.value = button.getAttribute("data-fill-value") || "";
    field.dispatchEvent(new Event("input", { bubbles: true }));
    field.focus();
  });
})();
