// OHSC case dashboard: while an ingest of a source is queued or running, poll its progress and
// show it; reload the page (new counts) once it has finished.
(function () {
  "use strict";
  const rows = Array.from(document.querySelectorAll("#source-list tr.source"));
  const active = (status) => status === "queued" || status === "running";

  function update(row, data) {
    row.dataset.status = data.status;
    row.querySelector(".status").textContent = data.status + (data.failure ? ": " + data.failure : "");
    const bar = row.querySelector("progress");
    bar.max = data.total || 0;
    bar.value = data.done || 0;
    row.querySelector(".count").textContent = (data.done || 0) + " of " + (data.total || "?");
  }

  async function poll(row) {
    try {
      const response = await fetch(row.dataset.url, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (response.status === 401) {
        window.location.href = "/login?expired=1&next=" + encodeURIComponent(window.location.pathname);
        return;
      }
      if (!response.ok) return;
      const data = await response.json();
      update(row, data);
      if (active(data.status) || data.running) {
        window.setTimeout(() => poll(row), 1000);
      } else {
        window.location.reload();
      }
    } catch (err) {
      window.setTimeout(() => poll(row), 3000);
    }
  }

  rows.filter((row) => active(row.dataset.status)).forEach((row) => window.setTimeout(() => poll(row), 500));
})();
