// The interstitial's "go back" button: shown only when there is somewhere to go back to.
(function () {
  "use strict";
  var button = document.querySelector("[data-back]");
  if (!button || window.history.length < 2) return;
  button.hidden = false;
  button.addEventListener("click", function () { window.history.back(); });
})();
