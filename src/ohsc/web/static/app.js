// OHSC review UI: keyboard shortcuts, blurred-first media, decisions armed only once the item is
// on screen. No third-party code but htmx.
// Keys: navigation on the queue (N next, / find, U undo), viewing (R, H, B) and decisions
// (1 confirm, 2 not abuse, 3 escalate, 4 skip) on the item; no key means two things.
(function () {
  "use strict";

  // --- every page: a confirmation before what cannot be undone; filters that apply on change -----
  // (CSP forbids inline handlers: forms say data-confirm="question", selects data-autosubmit)
  document.addEventListener("submit", (ev) => {
    const form = ev.target;
    const question = form && form.dataset ? form.dataset.confirm : "";
    if (question && !window.confirm(question)) {
      ev.preventDefault();
      ev.stopImmediatePropagation();
    }
  }, true);
  document.addEventListener("change", (ev) => {
    const el = ev.target;
    if (el && el.matches && el.matches("[data-autosubmit]") && el.form) el.form.requestSubmit();
  });

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
  // reveals on screen now: each one's end goes to the server (reveal.js)
  const onScreen = window.ohscReveal.onScreen();

  function itemId() {
    const section = document.getElementById("item");
    return section ? section.dataset.item : "";
  }

  function say(text) {
    if (statusLine) statusLine.textContent = text;
  }

  async function recordReveal(url, body) {
    const params = new URLSearchParams(body);
    const data = await window.ohscReveal.record(url, params, say, "The media could not be revealed.");
    return data ? data.url : null;
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
    onScreen.shown(url, { item: itemId(), target: "media" });
    document.body.dispatchEvent(new Event("ohsc-exposure")); // the counters on the page catch up
    const ok = await loaded(media, url);
    if (!ok) {
      say("The media could not be loaded.");
      onScreen.ended(url);
      return;
    }
    if (mode === "hold" && !holding) {
      onScreen.ended(url); // released before it arrived
      return;
    }
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
    if (revealedUrl) onScreen.ended(revealedUrl);
    say("Blurred again.");
  }

  // leaving or hiding the page blurs everything again and ends every reveal on screen
  function hideAll() {
    if (media && media.dataset.revealed === "1") reblur();
    document.querySelectorAll("img.ref").forEach((img) => img.classList.add("blurred"));
    onScreen.endAll();
  }
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "hidden") hideAll();
  });
  window.addEventListener("pagehide", hideAll);

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
      onScreen.shown(url, { item: item.dataset.item, target: "reference", entry: entry });
      const img = document.querySelector('img.ref[data-entry="' + entry + '"]');
      if (img && (await loaded(img, url))) img.classList.remove("blurred");
    });
  });

  // --- arming: decision controls (data-arm) wait until the item has been on screen -------------
  // The page must have loaded (its preview too) and been visible for data-arm-ms; keys pressed
  // before are ignored, not queued, and so is a key held down since before (auto-repeat).
  const armControls = Array.from(document.querySelectorAll("[data-arm]"));
  const arming = document.getElementById("arming");
  let armed = armControls.length === 0;

  function setArmed(on) {
    armed = on;
    armControls.forEach((el) => { el.disabled = !on; });
    if (arming) {
      arming.dataset.state = on ? "ready" : "waiting";
      const text = arming.querySelector(".text");
      if (on && text) text.textContent = "Ready: decide with the buttons or keys 1 to 4.";
    }
  }

  function startArming() {
    const ms = parseInt((arming && arming.dataset.armMs) || "1000", 10);
    const bar = arming && arming.querySelector(".bar");
    // two frames: the item has been painted before the delay starts
    requestAnimationFrame(() => requestAnimationFrame(() => {
      if (bar) {
        bar.style.transitionDuration = ms + "ms";
        bar.classList.add("filling");
      }
      setTimeout(() => setArmed(true), ms);
    }));
  }

  if (!armed) {
    setArmed(false);
    const whenVisible = () => {
      if (document.visibilityState === "visible") {
        document.removeEventListener("visibilitychange", whenVisible);
        startArming();
      }
    };
    const onLoad = () => {
      document.addEventListener("visibilitychange", whenVisible);
      whenVisible();
    };
    if (document.readyState === "complete") onLoad();
    else window.addEventListener("load", onLoad, { once: true });
  }

  // one decision per page: once a form is sent, its buttons and keys stop
  const decideForm = document.getElementById("decide");
  if (decideForm) {
    decideForm.addEventListener("submit", () => {
      armed = false;
      setTimeout(() => armControls.forEach((el) => { el.disabled = true; }), 0);
    });
  }

  // --- the address bar names the item on screen (and a reload does not repeat a message) ---------
  const itemSection = document.getElementById("item");
  if (itemSection && window.history && window.history.replaceState) {
    const canonical = "/review/items/" + itemSection.dataset.item;
    if (window.location.pathname + window.location.search !== canonical) {
      window.history.replaceState(null, "", canonical);
    }
  }

  // --- undo: the offer disappears when its time is up (the server refuses it then anyway) --------
  const undoBar = document.getElementById("undo");
  if (undoBar && undoBar.dataset.expires) {
    const left = Date.parse(undoBar.dataset.expires) - Date.now();
    setTimeout(() => undoBar.remove(), Math.max(0, left));
  }

  // --- once a form is on its way (a decision, "review next"), keys wait for the next page ---------
  // (a second N while the first one's page is loading would claim a second item)
  let leaving = false;
  window.addEventListener("submit", (ev) => {
    if (!ev.defaultPrevented && !(ev.target && ev.target.getAttribute("target"))) leaving = true;
  });
  window.addEventListener("pageshow", () => { leaving = false; }); // back/forward cache

  // --- keyboard: every element with data-key="x" is pressed (or focused) by the key x ------------
  document.addEventListener("keydown", (ev) => {
    if (ev.ctrlKey || ev.metaKey || ev.altKey || typing(ev.target)) return;
    if (leaving) {
      ev.preventDefault();
      return;
    }
    const key = ev.key.toLowerCase();
    if (key === "h" && holdButton) {
      ev.preventDefault();
      if (!ev.repeat) holdStart();
      return;
    }
    const el = document.querySelector('[data-key="' + CSS.escape(key) + '"]');
    if (!el || el.hidden) return;
    ev.preventDefault();
    if (el.hasAttribute("data-arm") && (!armed || ev.repeat)) return; // ignored, not queued
    if (el.disabled) return;
    if (typing(el)) el.focus();
    else el.click();
  });
  document.addEventListener("keyup", (ev) => {
    if (ev.key.toLowerCase() === "h") holdEnd();
  });
  window.addEventListener("blur", holdEnd);
  window.ohscRevealedUrl = () => revealedUrl;
  window.ohscHideAll = hideAll;
})();
