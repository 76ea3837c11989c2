/* The provider's sign-in window of an embedded journey, at its end (connections/popup_finished.html).
   Tells the journey's frame, which opened this window, then closes. The frame also asks
   the server, so a window cut off from its opener still ends the wait. */
(function () {
  "use strict";
  var opener = window.opener;
  if (opener && !opener.closed) {
    // The frame is Onramp's own origin: never "*".
    opener.postMessage({ onramp: 1, type: "provider_done" }, window.location.origin);
  }
  var button = document.querySelector("[data-onramp-close-window]");
  if (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      window.close();
    });
  }
  window.close();
})();
