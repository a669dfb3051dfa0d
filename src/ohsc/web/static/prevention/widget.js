/* OHSC help widget: put
 *   <script src="https://ohsc.example/help/widget.js" data-locale="de" data-country="DE" async></script>
 * where the box should appear (or give data-target="element-id"). It inserts an iframe showing
 * /help/widget of the same server. No cookies, no tracking, no third-party code. */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || !script.src) return;
  var origin = new URL(script.src, document.baseURI).origin;
  var params = new URLSearchParams();
  ["locale", "country", "context"].forEach(function (name) {
    var value = script.getAttribute("data-" + name);
    if (value) params.set(name, value);
  });
  var frame = document.createElement("iframe");
  frame.src = origin + "/help/widget?" + params.toString();
  frame.title = script.getAttribute("data-title") || "Confidential help";
  frame.setAttribute("referrerpolicy", "no-referrer");
  frame.setAttribute("sandbox", "allow-popups allow-popups-to-escape-sandbox allow-same-origin");
  frame.className = "ohsc-help-widget";
  frame.style.border = "0";
  frame.style.width = "100%";
  frame.style.maxWidth = (parseInt(script.getAttribute("data-width"), 10) || 480) + "px";
  frame.style.height = (parseInt(script.getAttribute("data-height"), 10) || 380) + "px";
  var targetId = script.getAttribute("data-target");
  var target = targetId ? document.getElementById(targetId) : null;
  if (target) {
    target.appendChild(frame);
  } else if (script.parentNode) {
    script.parentNode.insertBefore(frame, script.nextSibling);
  }
})();
