// Sign-up: the subdomain follows the organisation's name ("Acme Rockets, Inc." → "acme-rockets-inc") until the person
// edits the subdomain themselves; each change runs the live availability check (HTMX listens for "input").
(function () {
  "use strict";
  var MAX = 40;
  function slugify(value) {
    return value
      .normalize("NFKD")
      .replace(/[\u0300-\u036f]/g, "")
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, "-")
      .replace(/^-+/, "")
      .slice(0, MAX)
      .replace(/-+$/, "");
  }
  document.querySelectorAll("input[data-slug-from]").forEach(function (subdomain) {
    var name = document.getElementById(subdomain.getAttribute("data-slug-from"));
    if (!name) return;
    subdomain.addEventListener("input", function (event) {
      if (event.isTrusted) subdomain.dataset.edited = "true";
    });
    name.addEventListener("input", function () {
      if (subdomain.dataset.edited === "true") return;
      subdomain.value = slugify(name.value);
      subdomain.dispatchEvent(new Event("input", { bubbles: true }));
    });
  });
})();
