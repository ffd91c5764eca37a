// The customer dashboard's <dialog id="modal">. htmx loads a modal's content into #modal-body; this
// file opens the dialog when that happens and closes it on the "closeModal" event (sent by the
// server with HX-Trigger once a save went through), on a [data-close-modal] click or a click on the
// backdrop. Without JavaScript the same links and forms work as full pages.
(function () {
  function dialog() {
    return document.getElementById('modal');
  }

  function swapTarget(event) {
    var ctx = event.detail && event.detail.ctx;
    var target = ctx && ctx.target;
    return typeof target === 'string' ? document.querySelector(target) : target;
  }

  document.addEventListener('htmx:after:swap', function (event) {
    var modal = dialog();
    var target = swapTarget(event);
    if (!modal || !target || !modal.contains(target)) return;
    if (!modal.open) modal.showModal();
    // After a refused save, the first field with a message; otherwise the first field to fill in.
    var field = modal.querySelector('[aria-invalid="true"]') || modal.querySelector('input:not([type=hidden]):not([disabled]), textarea, select');
    if (field) field.focus();
  });

  document.addEventListener('closeModal', function () {
    var modal = dialog();
    if (modal && modal.open) modal.close();
  });

  document.addEventListener('click', function (event) {
    var modal = dialog();
    if (!modal) return;
    var closer = event.target.closest && event.target.closest('[data-close-modal]');
    if ((closer && modal.contains(closer)) || event.target === modal) {
      event.preventDefault();
      modal.close();
    }
  });

  document.addEventListener('DOMContentLoaded', function () {
    var modal = dialog();
    if (!modal) return;
    // A closed modal keeps nothing: the next one starts from what the server sends.
    modal.addEventListener('close', function () {
      document.getElementById('modal-body').replaceChildren();
    });
  });
})();
