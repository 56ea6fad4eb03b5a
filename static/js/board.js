// The board's drag and drop: a card dragged over a column follows the pointer into place; on drop the column and
// the place are posted (the same endpoint the arrow buttons use) and the server's board replaces this one, so the
// order shown is the order stored. Without JavaScript the arrow buttons are plain forms.
(function () {
  "use strict";
  var dragged = null;

  function board() { return document.getElementById("board"); }

  function cardsOf(list) {
    return Array.prototype.slice.call(list.querySelectorAll("[data-task-id]"));
  }

  function clearOver() {
    document.querySelectorAll(".board__column.is-over").forEach(function (el) { el.classList.remove("is-over"); });
  }

  document.addEventListener("dragstart", function (event) {
    var card = event.target.closest && event.target.closest("[data-task-id][draggable]");
    if (!card) return;
    dragged = card;
    card.classList.add("is-dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.dataset.taskId);
  });

  document.addEventListener("dragend", function () {
    if (dragged) dragged.classList.remove("is-dragging");
    dragged = null;
    clearOver();
  });

  document.addEventListener("dragover", function (event) {
    if (!dragged) return;
    var column = event.target.closest && event.target.closest("[data-status]");
    if (!column) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    if (!column.classList.contains("is-over")) { clearOver(); column.classList.add("is-over"); }
    var list = column.querySelector("[data-cards]");
    var others = cardsOf(list).filter(function (card) { return card !== dragged; });
    var before = null;
    for (var i = 0; i < others.length; i++) {
      var box = others[i].getBoundingClientRect();
      if (event.clientY < box.top + box.height / 2) { before = others[i]; break; }
    }
    if (dragged.nextElementSibling !== before || dragged.parentElement !== list) list.insertBefore(dragged, before);
  });

  document.addEventListener("drop", function (event) {
    if (!dragged) return;
    var column = event.target.closest && event.target.closest("[data-status]");
    if (!column) return;
    event.preventDefault();
    var root = board();
    var position = cardsOf(column.querySelector("[data-cards]")).indexOf(dragged);
    window.htmx.ajax("POST", dragged.dataset.moveUrl, {
      source: root,
      target: "#board",
      swap: "outerHTML",
      values: { status: column.dataset.status, position: String(position) },
      headers: { "X-CSRFToken": root.dataset.csrf },
    });
  });

  // After an HTMX add or move, keep the keyboard where it was: on the new-task field or the moved card.
  document.addEventListener("htmx:afterSettle", function () {
    var root = board();
    var target = root && root.querySelector("[data-focus]");
    if (target) target.focus();
  });

  // A refused move (a stale page, a project archived meanwhile) says why, and the board is reloaded from the server
  // so no card stays where it was dropped but not stored.
  document.addEventListener("htmx:responseError", function (event) {
    var root = board();
    if (!root) return;
    var text = event.detail.xhr && event.detail.xhr.responseText;
    var message = text && text.length < 300 && text.indexOf("<") === -1 ? text : gettext("That didn't work. The board was reloaded.");
    window.htmx.ajax("GET", window.location.pathname, { target: "#board", select: "#board", swap: "outerHTML" }).then(function () {
      var alert = document.createElement("p");
      alert.className = "alert alert--error board-error";
      alert.setAttribute("role", "alert");
      alert.textContent = message;
      var fresh = board();
      if (fresh) fresh.insertBefore(alert, fresh.firstChild);
    });
  });
})();
