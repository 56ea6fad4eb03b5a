// The browser's time zone, sent once while the person has none (first sign-in): <script src="timezone.js"
// data-url="…" data-csrf="…">. The server keeps it only if the account still has no zone; the profile changes it.
(function () {
  "use strict";
  var script = document.currentScript;
  var zone = "";
  try {
    zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
  } catch (error) {
    return;
  }
  if (!script || !zone) return;
  var body = new URLSearchParams({ time_zone: zone });
  fetch(script.getAttribute("data-url"), {
    method: "POST",
    credentials: "same-origin",
    headers: { "X-CSRFToken": script.getAttribute("data-csrf") || "" },
    body: body,
  }).catch(function () {});
})();
