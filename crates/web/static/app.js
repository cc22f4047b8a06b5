// Gatehouse: small progressive enhancements. Pages work without this file.
document.addEventListener("htmx:responseError", function (event) {
  var target = event.detail.target;
  if (target) {
    target.innerHTML = '<p class="error" role="alert">Gatehouse could not load this part of the page. Reload the page to try again.</p>';
  }
});
