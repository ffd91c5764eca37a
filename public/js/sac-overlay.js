// F-SAC-2: pins the Shop As Customer overlay to one of the four corners and remembers the choice
// in localStorage (per shop host). No inline script: the CSP forbids it.
(function () {
  var KEY = 'sac-overlay-corner';
  var CORNERS = ['top-left', 'top-right', 'bottom-left', 'bottom-right'];

  function stored() {
    try {
      var value = window.localStorage.getItem(KEY);
      return CORNERS.indexOf(value) >= 0 ? value : null;
    } catch {
      return null;
    }
  }

  function pin(overlay, corner) {
    CORNERS.forEach(function (c) {
      overlay.classList.toggle('sac-corner-' + c, c === corner);
    });
    overlay.setAttribute('data-corner', corner);
    overlay.querySelectorAll('[data-sac-corner]').forEach(function (button) {
      button.setAttribute('aria-pressed', button.getAttribute('data-sac-corner') === corner ? 'true' : 'false');
    });
  }

  function init() {
    var overlay = document.getElementById('sac-overlay');
    if (!overlay) return;
    pin(overlay, stored() || 'bottom-right');
    overlay.addEventListener('click', function (event) {
      var button = event.target.closest && event.target.closest('[data-sac-corner]');
      if (!button) return;
      var corner = button.getAttribute('data-sac-corner');
      if (CORNERS.indexOf(corner) < 0) return;
      pin(overlay, corner);
      try {
        window.localStorage.setItem(KEY, corner);
      } catch {
        // Storage off: the corner holds until the next page.
      }
    });
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
