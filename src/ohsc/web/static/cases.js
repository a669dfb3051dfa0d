// OHSC case grid: select tiles (click, Shift+click for a range, A all, Esc none, S whole stacks)
// and press a category's key to give the selection that category. Previews are made blurred and
// greyscale on the server; revealing happens on an item's page and is recorded there.
(function () {
  "use strict";
  const grid = document.getElementById("grid");
  if (!grid) return;
  const csrf = document.body.dataset.csrf || "";
  const status = document.getElementById("selection");
  const wholeStacks = document.getElementById("whole-stacks");
  const legend = {};
  document.querySelectorAll("#key-legend .legend").forEach((el) => {
    const key = el.querySelector("kbd").textContent.trim();
    legend[key] = el.textContent.replace(key, "").trim();
  });
  const tiles = () => Array.from(grid.querySelectorAll(".tile"));
  let anchor = null;

  function selected() {
    return tiles().filter((t) => t.classList.contains("selected"));
  }

  function show(text) {
    const chosen = selected();
    const stacks = wholeStacks && wholeStacks.checked ? " (whole stacks)" : "";
    status.textContent = text || (chosen.length ? chosen.length + " selected" + stacks + ": press a category key." : "Nothing selected.");
  }

  function setSelected(tile, on) {
    tile.classList.toggle("selected", on);
    tile.setAttribute("aria-selected", on ? "true" : "false");
  }

  function withStacks(list) {
    if (!wholeStacks || !wholeStacks.checked) return list;
    const stacks = new Set(list.map((t) => t.dataset.stack));
    return tiles().filter((t) => stacks.has(t.dataset.stack));
  }

  grid.addEventListener("click", (ev) => {
    if (ev.target.closest("a")) return; // links open the item, a stack or a series
    const tile = ev.target.closest(".tile");
    if (!tile) return;
    const all = tiles();
    if (ev.shiftKey && anchor) {
      const a = all.indexOf(anchor);
      const b = all.indexOf(tile);
      const [from, to] = a < b ? [a, b] : [b, a];
      all.slice(from, to + 1).forEach((t) => setSelected(t, true));
    } else {
      setSelected(tile, !tile.classList.contains("selected"));
      anchor = tile;
    }
    withStacks(selected()).forEach((t) => setSelected(t, true));
    show();
  });

  async function categorise(code) {
    const chosen = withStacks(selected());
    if (!chosen.length) {
      show("Select items first (click a tile).");
      return;
    }
    const response = await fetch("/cases/" + grid.dataset.case + "/categorise", {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRF-Token": csrf, "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify({
        item_ids: chosen.map((t) => Number(t.dataset.id)),
        category: code,
        whole_stacks: Boolean(wholeStacks && wholeStacks.checked),
      }),
    });
    if (response.status === 401) {
      window.location.href = "/login?expired=1&next=" + encodeURIComponent(window.location.pathname);
      return;
    }
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      show(data.detail || "The category could not be saved.");
      return;
    }
    const byId = {};
    (data.updated || []).forEach((u) => { byId[String(u.id)] = u; });
    tiles().forEach((t) => {
      const u = byId[t.dataset.id];
      if (!u) return;
      const cat = t.querySelector(".cat");
      cat.textContent = u.category_name;
      cat.dataset.code = u.category || "";
      t.querySelector(".mine").textContent = u.mine_name ? "you: " + u.mine_name : "";
      t.querySelector(".dispute").textContent = u.disputed ? "disputed" : "";
      t.classList.toggle("disputed", Boolean(u.disputed));
      setSelected(t, false);
    });
    show(data.items + " item" + (data.items === 1 ? "" : "s") + " → " + (legend[code] || code) +
      " (" + data.final + " final, " + data.disputed + " disputed).");
  }

  document.addEventListener("keydown", (ev) => {
    const tag = ev.target && ev.target.tagName;
    if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    if (Object.prototype.hasOwnProperty.call(legend, ev.key)) {
      ev.preventDefault();
      categorise(ev.key);
    } else if (ev.key === "a" || ev.key === "A") {
      tiles().forEach((t) => setSelected(t, true));
      show();
    } else if (ev.key === "Escape") {
      tiles().forEach((t) => setSelected(t, false));
      show();
    } else if ((ev.key === "s" || ev.key === "S") && wholeStacks) {
      wholeStacks.checked = !wholeStacks.checked;
      withStacks(selected()).forEach((t) => setSelected(t, true));
      show();
    }
  });
  if (wholeStacks) wholeStacks.addEventListener("change", () => { withStacks(selected()).forEach((t) => setSelected(t, true)); show(); });
})();
