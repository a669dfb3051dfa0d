// OHSC review UI: keyboard shortcuts and blurred-first media. No third-party code but htmx.
(function () {
  "use strict";
  const csrf = document.body.dataset.csrf || "";

  function typing(target) {
    if (!target) return false;
    const tag = target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || target.isContentEditable;
  }

  // --- media: blurred until revealed; every reveal is recorded on the server first ---------------
  const media = document.getElementById("media");
  const statusLine = document.getElementById("reveal-status");
  const reblurButton = document.getElementById("reblur");
  let holding = false;
  let revealedUrl = null;

  function say(text) {
    if (statusLine) statusLine.textContent = text;
  }

  async function recordReveal(url, body) {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "X-CSRF-Token": csrf,
        "Accept": "application/json",
        "Content-Type": "application/x-www-form-urlencoded",
      },
      body: new URLSearchParams(body).toString(),
    });
    if (response.status === 401) {
      window.location.href = "/login?expired=1&next=" + encodeURIComponent(window.location.pathname);
      return null;
    }
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      say(data.detail || "The media could not be revealed.");
      return null;
    }
    return data.url;
  }

  function loaded(el, url) {
    return new Promise((resolve) => {
      if (el.tagName === "VIDEO") {
        el.src = url; // never autoplays: controls only, preload none
        resolve(true);
        return;
      }
      if (el.getAttribute("src") === url && el.complete) {
        resolve(true);
        return;
      }
      el.onload = () => resolve(true);
      el.onerror = () => resolve(false);
      el.src = url;
    });
  }

  async function reveal(mode) {
    if (!media) return;
    const url = await recordReveal(media.dataset.revealUrl, { mode: mode, target: "media" });
    if (!url) return;
    revealedUrl = url;
    document.body.dispatchEvent(new Event("ohsc-exposure")); // the counters on the page catch up
    const ok = await loaded(media, url);
    if (!ok) {
      say("The media could not be loaded.");
      return;
    }
    if (mode === "hold" && !holding) return; // released before it arrived
    media.classList.remove("blurred");
    media.dataset.revealed = "1";
    if (mode === "click" && reblurButton) reblurButton.hidden = false;
    say(mode === "hold" ? "Shown while you hold." : "Revealed (recorded).");
  }

  function reblur() {
    if (!media) return;
    media.classList.add("blurred");
    media.dataset.revealed = "0";
    if (reblurButton) reblurButton.hidden = true;
    say("Blurred again.");
  }

  function holdStart() {
    if (!media || holding) return;
    holding = true;
    reveal("hold");
  }

  function holdEnd() {
    if (!holding) return;
    holding = false;
    reblur();
  }

  const revealButton = document.getElementById("reveal");
  if (revealButton) revealButton.addEventListener("click", () => reveal("click"));
  if (reblurButton) reblurButton.addEventListener("click", reblur);
  const holdButton = document.getElementById("hold");
  if (holdButton) {
    holdButton.addEventListener("pointerdown", (ev) => { ev.preventDefault(); holdStart(); });
    holdButton.addEventListener("pointerup", holdEnd);
    holdButton.addEventListener("pointerleave", holdEnd);
    holdButton.addEventListener("pointercancel", holdEnd);
  }

  document.querySelectorAll("button.reveal-ref").forEach((button) => {
    button.addEventListener("click", async () => {
      const item = document.getElementById("item");
      const entry = button.dataset.entry;
      const url = await recordReveal("/review/items/" + item.dataset.item + "/reveal", {
        mode: "click", target: "reference", entry_id: entry,
      });
      if (!url) return;
      const img = document.querySelector('img.ref[data-entry="' + entry + '"]');
      if (img && (await loaded(img, url))) img.classList.remove("blurred");
    });
  });

  // --- keyboard: every element with data-key="x" is pressed by the key x; hold H to view ---------
  document.addEventListener("keydown", (ev) => {
    if (ev.ctrlKey || ev.metaKey || ev.altKey || typing(ev.target)) return;
    const key = ev.key.toLowerCase();
    if (key === "h") {
      ev.preventDefault();
      if (!ev.repeat) holdStart();
      return;
    }
    const el = document.querySelector('[data-key="' + key + '"]');
    if (el && !el.hidden && !el.disabled) {
      ev.preventDefault();
      el.click();
    }
  });
  document.addEventListener("keyup", (ev) => {
    if (ev.key.toLowerCase() === "h") holdEnd();
  });
  window.addEventListener("blur", holdEnd);
  window.ohscRevealedUrl = () => revealedUrl;
})();
