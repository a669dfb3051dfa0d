// The interstitial's "go back" button: shown only when there is a page to go back to. A tab
// opened on this page (or typed in) has no such page: going back would show a blank tab, so
// the button stays hidden (the link to the help directory is always there).
(function () {
  "use strict";
  var button = document.querySelector("[data-back]");
  if (!button || window.history.length < 2 || !document.referrer) return;
  button.hidden = false;
  button.addEventListener("click", function () { window.history.back(); });
})();
