// OHSC reveals, shared by the review item page (app.js) and the review grid (grid.js): a reveal
// is recorded on the server before the media are fetched, and each reveal's end goes to the
// server too (for the time the media were on screen). No third-party code.
window.ohscReveal = (function () {
  "use strict";
  function csrf() {
    return document.body.dataset.csrf || "";
  }

  // Reveals on screen now: their end goes to the server, sent as a beacon so it arrives even
  // when the page is being left. Key: the unlocking URL (it carries the grant); value: the item,
  // the target ("media", "grey", "reference") and, for a reference, the bank entry.
  function onScreen() {
    const shown = new Map();
    function ended(url) {
      const open = shown.get(url);
      if (!open) return;
      shown.delete(url);
      const body = new URLSearchParams({
        csrf_token: csrf(),
        grant: new URL(url, window.location.href).searchParams.get("grant") || "",
        target: open.target,
      });
      if (open.entry) body.append("entry_id", open.entry);
      const address = "/review/items/" + open.item + "/hidden";
      if (!(navigator.sendBeacon && navigator.sendBeacon(address, body))) {
        fetch(address, { method: "POST", credentials: "same-origin", keepalive: true, body: body });
      }
    }
    return {
      shown: (url, what) => shown.set(url, what),
      ended: ended,
      endAll: () => Array.from(shown.keys()).forEach(ended),
      count: () => shown.size,
    };
  }

  // POST ``params`` (URLSearchParams) to ``url`` as the logged-in user: the answer's JSON, or
  // null after saying why (``say(text)``; ``failure`` when the server gives no reason). An
  // expired session goes to the login page, back here after it.
  async function record(url, params, say, failure) {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "X-CSRF-Token": csrf(),
        "Accept": "application/json",
        "Content-Type": "application/x-www-form-urlencoded",
      },
      body: params.toString(),
    });
    if (response.status === 401) {
      window.location.href = "/login?expired=1&next=" + encodeURIComponent(window.location.pathname);
      return null;
    }
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      say(data.detail || failure);
      return null;
    }
    return data;
  }

  return { onScreen: onScreen, record: record };
})();
