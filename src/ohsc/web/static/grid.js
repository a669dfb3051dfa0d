// OHSC review grid: select items, reveal them step by step (sharp greyscale, then full colour;
// every step is recorded on the server first and counted against the exposure limits), decide
// the selection together. No third-party code.
(function () {
  "use strict";
  const grid = document.getElementById("grid");
  if (!grid) return;
  const statusLine = document.getElementById("reveal-status");
  const selection = document.getElementById("grid-selection");

  function say(text) {
    if (statusLine) statusLine.textContent = text;
  }
  function picks() {
    return Array.from(grid.querySelectorAll("input.pick"));
  }
  function chosen() {
    return picks().filter((p) => p.checked).map((p) => p.value);
  }
  function refresh() {
    picks().forEach((p) => p.closest(".rcell").classList.toggle("selected", p.checked));
    const n = chosen().length;
    if (selection) selection.textContent = n ? n + " selected." : "Nothing selected.";
  }
  // reveals on screen now: each one's end goes to the server (reveal.js); a cell's next step
  // ends its previous one
  const onScreen = window.ohscReveal.onScreen();
  function exposureChanged() {
    document.body.dispatchEvent(new Event("ohsc-exposure"));
  }

  function post(url, params) {
    return window.ohscReveal.record(url, params, say, "Nothing was revealed.");
  }

  async function revealSelected(target) {
    const ids = chosen();
    if (!ids.length) {
      say("Select items first.");
      return;
    }
    const params = new URLSearchParams();
    ids.forEach((id) => params.append("item", id));
    params.append("target", target);
    const data = await post("/review/grid/reveal", params);
    exposureChanged();
    if (!data) return;
    const refused = [];
    data.results.forEach((r) => {
      const cell = grid.querySelector('.rcell[data-item="' + r.item_id + '"]');
      if (!cell) return;
      if (!r.ok) {
        refused.push("#" + r.item_id + ": " + r.message);
        return;
      }
      const img = cell.querySelector("img.subject");
      if (cell.dataset.shown) onScreen.ended(cell.dataset.shown);
      onScreen.shown(r.url, { item: r.item_id, target: target });
      cell.dataset.shown = r.url;
      img.onload = () => img.classList.remove("blurred");
      img.src = r.url;
      const step = target === "grey" ? "greyscale" : "colour";
      cell.dataset.step = step;
      cell.querySelector(".step").textContent = step;
    });
    const shown = data.results.length - refused.length;
    say("Revealed " + shown + " of " + data.results.length + (target === "grey" ? " in sharp greyscale." : " in full colour.") +
      (refused.length ? " Refused: " + refused.join("; ") : ""));
  }

  function reblur() {
    grid.querySelectorAll(".rcell").forEach((cell) => {
      const img = cell.querySelector("img.subject");
      img.classList.add("blurred");
      img.src = "/review/items/" + cell.dataset.item + "/preview";
      if (cell.dataset.shown) onScreen.ended(cell.dataset.shown);
      delete cell.dataset.shown;
      cell.dataset.step = "blurred";
      cell.querySelector(".step").textContent = "blurred";
    });
    grid.querySelectorAll("img.reference").forEach((img) => img.classList.add("blurred"));
    onScreen.endAll();
    say("Blurred again.");
  }
  // leaving or hiding the page blurs everything again and ends every reveal on screen
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "hidden" && onScreen.count()) reblur();
  });
  window.addEventListener("pagehide", () => { if (onScreen.count()) reblur(); });

  grid.addEventListener("change", refresh);
  grid.querySelectorAll("img.reference").forEach((img) => {
    img.addEventListener("click", async () => {
      const cell = img.closest(".rcell");
      const params = new URLSearchParams({ target: "reference", entry_id: img.dataset.entry, mode: "click" });
      const data = await post("/review/items/" + cell.dataset.item + "/reveal", params);
      exposureChanged();
      if (!data) return;
      onScreen.shown(data.url, { item: cell.dataset.item, target: "reference", entry: img.dataset.entry });
      img.onload = () => img.classList.remove("blurred");
      img.src = data.url;
    });
  });
  const all = document.getElementById("select-all");
  function selectAll() {
    const everything = picks().every((p) => p.checked);
    picks().forEach((p) => { p.checked = !everything; });
    refresh();
  }
  if (all) all.addEventListener("click", selectAll);
  document.getElementById("reveal-grey").addEventListener("click", () => revealSelected("grey"));
  document.getElementById("reveal-colour").addEventListener("click", () => revealSelected("media"));
  document.getElementById("reblur-all").addEventListener("click", reblur);
  document.addEventListener("keydown", (ev) => {
    const t = ev.target;
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    if (t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT")) return;
    const key = ev.key.toLowerCase();
    if (key === "a") selectAll();
    else if (key === "g") revealSelected("grey");
    else if (key === "c") revealSelected("media");
    else if (key === "b") reblur();
    else return;
    ev.preventDefault();
  });
  refresh();
})();
