// Gatehouse: small progressive enhancements. Pages work without this file.
document.addEventListener("htmx:responseError", function (event) {
  var target = event.detail.target;
  if (target) {
    target.innerHTML = '<p class="error" role="alert">Gatehouse could not load this part of the page. Reload the page to try again.</p>';
  }
});

// "Load a file" fills a textarea with a text file's contents (read in the browser; nothing
// is uploaded until the form is sent). Shown only when this script runs.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("input[type=file][data-fills]").forEach(function (input) {
    var row = input.closest("[hidden]");
    if (row) { row.hidden = false; }
    input.addEventListener("change", function () {
      var file = input.files && input.files[0];
      var target = document.getElementById(input.getAttribute("data-fills"));
      if (!file || !target) { return; }
      // UTF-8 when the file is valid UTF-8, otherwise Windows-1252 (what Word often saves).
      file.arrayBuffer().then(function (buf) {
        var text;
        try { text = new TextDecoder("utf-8", { fatal: true }).decode(buf); }
        catch (e) { text = new TextDecoder("windows-1252").decode(buf); }
        target.value = text.replace(/^\uFEFF/, "");
      });
    });
  });
});
