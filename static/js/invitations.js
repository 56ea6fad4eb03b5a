// The invite button says what it will do ("Send 3 invitations") as addresses are typed. Without JavaScript the
// server renders the same label after a submit.
(function () {
  "use strict";
  var form = document.querySelector("[data-invite-form]");
  if (!form) return;
  var field = form.querySelector("textarea");
  var button = form.querySelector("[data-invite-button]");
  function label() {
    var count = field.value.split(/[\s,;]+/).filter(function (part) { return part.indexOf("@") > 0; }).length;
    button.textContent = count > 0 ? interpolate(ngettext("Send %s invitation", "Send %s invitations", count), [count]) : gettext("Send invitations");
  }
  field.addEventListener("input", label);
  label();
})();
