/* Direct uploads with a progress bar. A form marked data-direct-upload asks the app to sign an upload (the quota is
   checked and the bytes reserved there), POSTs the file straight to storage with the signed fields, then asks the app
   to confirm what arrived. Without JavaScript the same form posts the file through the app. */
(function () {
  "use strict";

  function csrfToken(form) {
    var input = form.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function postForm(form, url, data) {
    return fetch(url, {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(form), Accept: "application/json" },
    }).then(function (response) {
      if (response.status === 204) return {};
      return response.json().catch(function () { return {}; }).then(function (body) {
        if (!response.ok) throw new Error(body.error || interpolate(gettext("Something went wrong (%s). Try again."), [response.status]));
        return body;
      });
    });
  }

  function sendToStorage(signed, file, onProgress) {
    return new Promise(function (resolve, reject) {
      var data = new FormData();
      Object.keys(signed.fields).forEach(function (name) { data.append(name, signed.fields[name]); });
      data.append("file", file);
      var xhr = new XMLHttpRequest();
      xhr.open("POST", signed.url);
      xhr.upload.addEventListener("progress", function (event) {
        if (event.lengthComputable) onProgress(event.loaded, event.total);
      });
      xhr.addEventListener("load", function () {
        if (xhr.status >= 200 && xhr.status < 300) resolve();
        else reject(new Error(interpolate(gettext("Storage refused the file (%s). Try again."), [xhr.status])));
      });
      xhr.addEventListener("error", function () {
        reject(new Error(gettext("The upload was interrupted. Check your connection and try again.")));
      });
      xhr.send(data);
    });
  }

  function formatBytes(bytes) {
    if (bytes < 1024) return interpolate(gettext("%s bytes"), [bytes]);
    if (bytes < 1024 * 1024) return (bytes / 1024).toFixed(1) + " KB";
    return (bytes / 1024 / 1024).toFixed(1) + " MB";
  }

  function enhance(form) {
    var input = form.querySelector("input[type=file]");
    var progress = form.querySelector("[data-upload-progress]");
    var bar = progress.querySelector("progress");
    var status = progress.querySelector(".upload__status");
    var error = form.querySelector("[data-upload-error]");
    var button = form.querySelector("button[type=submit]");
    var task = form.querySelector("input[name=task]");

    function showError(message) {
      error.hidden = !message;
      error.querySelector("span").textContent = message || "";
      if (message) input.setAttribute("aria-invalid", "true"); else input.removeAttribute("aria-invalid");
    }

    form.addEventListener("submit", function (event) {
      if (!input.files || !input.files.length || !window.fetch || !window.FormData) return;
      event.preventDefault();
      var file = input.files[0];
      var signed = null;
      showError("");
      button.disabled = true;
      progress.hidden = false;
      bar.value = 0;
      status.textContent = interpolate(gettext("Starting the upload of %s…"), [file.name]);
      var start = new FormData();
      start.append("name", file.name);
      start.append("size", String(file.size));
      if (task) start.append("task", task.value);
      postForm(form, form.dataset.directUpload, start)
        .then(function (body) {
          signed = body;
          return sendToStorage(signed, file, function (loaded, total) {
            bar.value = Math.round((loaded * 100) / total);
            status.textContent = interpolate(gettext("Uploading %(name)s: %(loaded)s of %(total)s"), { name: file.name, loaded: formatBytes(loaded), total: formatBytes(total) }, true);
          });
        })
        .then(function () {
          bar.value = 100;
          status.textContent = interpolate(gettext("Checking %s…"), [file.name]);
          var pending = signed;
          signed = null; // from here the app cleans up itself if it refuses the file
          return postForm(form, pending.confirm, new FormData());
        })
        .then(function (body) {
          status.textContent = interpolate(gettext("Uploaded %s."), [body.name]);
          window.location.assign(body.location);
        })
        .catch(function (failure) {
          if (signed && signed.cancel) postForm(form, signed.cancel, new FormData()).catch(function () {});
          progress.hidden = true;
          button.disabled = false;
          showError(failure.message);
        });
    });
  }

  document.querySelectorAll("form[data-direct-upload]").forEach(enhance);
})();
