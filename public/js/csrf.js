// Adds the page's CSRF token to every htmx request. htmx 4 does not inherit hx-headers, and the
// CSP forbids inline script, so this one file does it for the whole page.
document.addEventListener('htmx:config:request', function (event) {
  var meta = document.querySelector('meta[name="csrf-token"]');
  if (meta) event.detail.ctx.request.headers['X-CSRF-Token'] = meta.getAttribute('content');
});
