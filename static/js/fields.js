/* Small field behaviours, declared in the markup instead of inline handlers (the Content Security Policy allows no
   onfocus=…): <input data-select-on-focus> selects its whole value when focused (a secret shown once, to copy).
   <button data-copy="#id"> copies that field's value to the clipboard and says so.
   Suggestion buttons that fill a field are fill.js's. */
(function () {
  "use strict";

  document.addEventListener("focusin", function (event) {
    var input = event.target.closest && event.target.closest("[data-select-on-focus]");
    if (input) input.select();
  });
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-copy]");
    if (!button) return;
    var field = document.querySelector(button.getAttribute("data-copy"));
    if (!field) return;
    field.select();
    var done = function () { button.textContent = gettext("Copied"); };
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(field.value).then(done, function () { document.execCommand("copy"); done(); });
    } else {
      document.execCommand("copy");
      done();
    }
  });
  // Focused before this deferred file ran (autofocus, a quick click): select it now.
  var focused = document.activeElement;
  if (focused && focused.matches && focused.matches("[data-select-on-focus]")) focused.select();
})();
