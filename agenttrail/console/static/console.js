// The console's only script: charts, collapsible trees, confirmed writes, and live refresh.
// It is a file (the Content-Security-Policy allows no inline script) and reads data only from the page:
// chart configs from <script type="application/json"> blocks, never evaluated.
"use strict";
(() => {
  const csrf = document.querySelector('meta[name="csrf-token"]')?.content || "";
  const collapsed = new Set();  // tree nodes folded by the reader, kept across live refreshes

  function drawCharts(root) {
    root.querySelectorAll("canvas[data-chart]").forEach((canvas) => {
      const holder = canvas.parentElement;
      holder.style.height = `${Number(holder.dataset.height) || 280}px`;
      const source = document.getElementById(canvas.dataset.chart);
      if (!source || typeof Chart === "undefined") return;
      const config = JSON.parse(source.textContent);
      if (config.timeAxis) {
        const axis = config.options.scales[config.timeAxis];
        axis.ticks = { callback: (value) => new Date(value).toISOString().slice(0, 16).replace("T", " ") };
      }
      Chart.getChart(canvas)?.destroy();
      new Chart(canvas, config);
    });
  }

  function applyTree(table) {
    const rows = [...table.querySelectorAll("tbody tr[data-level]")];
    let hideBelow = Infinity;
    rows.forEach((row) => {
      const level = Number(row.dataset.level);
      if (level <= hideBelow) hideBelow = Infinity;
      row.hidden = level > hideBelow;
      const folded = collapsed.has(row.dataset.node);
      const twisty = row.querySelector(".twisty");
      if (twisty) {
        twisty.setAttribute("aria-expanded", String(!folded));
        twisty.textContent = folded ? "▸" : "▾";
      }
      if (folded && !row.hidden && hideBelow === Infinity) hideBelow = level;
    });
  }

  function wire(root) {
    root.querySelectorAll("table[data-tree]").forEach((table) => {
      applyTree(table);
      table.addEventListener("click", (event) => {
        const twisty = event.target.closest(".twisty");
        if (!twisty) return;
        const node = twisty.closest("tr").dataset.node;
        if (collapsed.has(node)) collapsed.delete(node); else collapsed.add(node);
        applyTree(table);
      });
    });
    root.querySelectorAll("form.write").forEach((form) => form.addEventListener("submit", (event) => {
      event.preventDefault();
      confirmed(form.dataset.confirm).then((yes) => { if (yes) send(form); });
    }));
    drawCharts(root);
  }

  function confirmed(text) {
    if (!text) return Promise.resolve(true);
    const dialog = document.getElementById("confirm");
    document.getElementById("confirm-text").textContent = text;
    return new Promise((resolve) => {
      dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
      dialog.showModal();
    });
  }

  async function send(form) {
    const result = form.querySelector(".result");
    const response = await fetch(form.dataset.action, {
      method: "POST", credentials: "same-origin",
      headers: { "X-CSRF-Token": csrf, "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(new FormData(form)),
    });
    const answer = await response.json().catch(() => ({}));
    result.textContent = response.ok ? answer.message : `Refused (${response.status}): ${answer.detail || ""}`;
    result.className = response.ok ? "result ok" : "result problem";
    if (response.ok) form.querySelectorAll("input[type=text]").forEach((input) => { input.value = ""; });
  }

  // Live: poll a number that moves when the store does; refetch the page and swap its [data-live] sections.
  let version = null;
  const live = document.getElementById("live");
  // Never swap a section under a reader who is typing into it or confirming.
  const busy = () => document.querySelector("dialog[open]") ||
    [...document.querySelectorAll("[data-live] form.write input[type=text]")].some((input) => input.value) ||
    document.activeElement?.matches("[data-live] input, [data-live] select");

  async function refresh() {
    const response = await fetch(location.href, { credentials: "same-origin", cache: "no-store" });
    if (!response.ok) return false;
    const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
    document.querySelectorAll("[data-live]").forEach((section) => {
      const next = fresh.getElementById(section.id);
      if (next) {
        section.replaceWith(next);
        wire(next);
      }
    });
    return true;
  }

  async function poll() {
    if (document.hidden || !document.querySelector("[data-live]")) return;
    try {
      const response = await fetch("/ui/changes", { credentials: "same-origin", cache: "no-store" });
      if (!response.ok) { live.className = "live off"; return; }
      const now = (await response.json()).version;
      live.className = "live on";
      if (version !== null && now !== version) {
        if (busy() || !(await refresh())) return;  // try again at the next poll
      }
      version = now;
      document.body.dataset.version = now;
    } catch (error) {
      live.className = "live off";
    }
  }

  wire(document);
  poll();
  setInterval(poll, 2000);
})();
