// @-completion in the comment box: typing "@" and the start of a name lists the members who can see the project
// (asked of the server, which checks the project); arrows choose, Enter or Tab (or a click) puts "@handle " in.
(function () {
  "use strict";
  var form = document.querySelector("form[data-mentions]");
  if (!form) return;
  var box = form.querySelector("textarea");
  if (!box) return;
  var list = document.createElement("ul");
  list.className = "mention-list";
  list.id = "mention-list";
  list.setAttribute("role", "listbox");
  list.setAttribute("aria-label", gettext("People to mention"));
  list.hidden = true;
  box.parentNode.insertBefore(list, box.nextSibling);
  box.setAttribute("aria-controls", "mention-list");
  box.setAttribute("aria-autocomplete", "list");
  var active = -1;
  var items = [];
  var asked = 0;

  function token() {
    var before = box.value.slice(0, box.selectionStart);
    var match = /(^|[\s(])@([\w.\-]{0,64})$/.exec(before);
    return match ? { text: match[2], start: before.length - match[2].length - 1 } : null;
  }

  function close() { list.hidden = true; items = []; active = -1; box.removeAttribute("aria-activedescendant"); }

  function choose(index) {
    var t = token();
    if (!t || !items[index]) return close();
    var insert = "@" + items[index].handle + " ";
    box.value = box.value.slice(0, t.start) + insert + box.value.slice(box.selectionStart);
    var caret = t.start + insert.length;
    box.setSelectionRange(caret, caret);
    close();
    box.focus();
  }

  function show(results) {
    items = results;
    list.innerHTML = "";
    if (!results.length) return close();
    results.forEach(function (r, i) {
      var li = document.createElement("li");
      li.id = "mention-" + i;
      li.setAttribute("role", "option");
      li.textContent = r.name + " (@" + r.handle + ")";
      li.addEventListener("mousedown", function (e) { e.preventDefault(); choose(i); });
      list.appendChild(li);
    });
    active = 0;
    mark();
    list.hidden = false;
  }

  function mark() {
    Array.prototype.forEach.call(list.children, function (li, i) {
      li.setAttribute("aria-selected", i === active ? "true" : "false");
    });
    if (active >= 0) box.setAttribute("aria-activedescendant", "mention-" + active);
  }

  box.addEventListener("input", function () {
    var t = token();
    if (!t) return close();
    var ask = ++asked;
    fetch(form.getAttribute("data-mentions") + "?q=" + encodeURIComponent(t.text), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : { results: [] }; })
      .then(function (data) { if (ask === asked) show(data.results || []); })
      .catch(close);
  });
  box.addEventListener("keydown", function (e) {
    if (list.hidden) return;
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      active = (active + (e.key === "ArrowDown" ? 1 : items.length - 1)) % items.length;
      mark();
    } else if (e.key === "Enter" || e.key === "Tab") {
      e.preventDefault();
      choose(active);
    } else if (e.key === "Escape") {
      close();
    }
  });
  box.addEventListener("blur", function () { setTimeout(close, 150); });
})();
