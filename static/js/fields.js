/* Small field behaviours, declared in the markup instead of inline handlers (the Content Security Policy allows no
   onfocus=…): <input data-select-on-focus> selects its whole value when focused (a secret shown once, to copy).
   Suggestion buttons that fill a field are fill.js's. */
(function () {
  "use strict";

  document.addEventListener("focusin", function (event) {
    var input = event.target.closest && event.target.closest("[data-select-on-focus]");
    if (input) input.select();
  });
  // Focused before this deferred file ran (autofocus, a quick click): select it now.
  var focused = document.activeElement;
  if (focused && focused.matches && focused.matches("[data-select-on-focus]")) focused.select();
})();
