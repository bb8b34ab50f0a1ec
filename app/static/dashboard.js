/* Keeps the dashboard current without a reload. It polls small public JSON endpoints with
   their ETags (an unchanged view costs a 304); when money moved or the ledger was sealed,
   it fetches this same page and swaps in the server-rendered parts marked data-live, so the
   markup has one source. The flow diagram is redrawn from /v1/public/flows; until it is drawn
   (and without JavaScript) the server's table of the same flows stands in its place. */
"use strict";
(function () {
  const POLL_MS = 5000;
  const boot = JSON.parse(document.getElementById("boot").textContent);
  const tags = new Map();

  function format(amount, currency) {
    const exponent = (boot.exponents || {})[currency] ?? 2;
    const sign = amount < 0 ? "-" : "";
    const unit = 10 ** exponent;
    const whole = Math.floor(Math.abs(amount) / unit);
    const fraction = Math.abs(amount) % unit;
    const text = whole.toLocaleString("en-US");
    return sign + (exponent ? `${text}.${String(fraction).padStart(exponent, "0")}` : text);
  }

  /* Times in words relative to now ("2 hours ago", "in 3 days"), rewritten on every tick so
     a page left open never says something stale; the exact time stays in the title. */
  const UNITS = [["year", 31536000], ["month", 2592000], ["week", 604800], ["day", 86400],
    ["hour", 3600], ["minute", 60], ["second", 1]];
  const words = new Intl.RelativeTimeFormat("en", { numeric: "auto" });
  function ago(when) {
    const seconds = (new Date(when).getTime() - Date.now()) / 1000;
    for (const [unit, size] of UNITS) {
      if (Math.abs(seconds) >= size || unit === "second") {
        return words.format(Math.round(seconds / size), unit);
      }
    }
    return "";
  }
  function relativeTimes() {
    for (const element of document.querySelectorAll("time[data-ago]")) {
      const when = element.getAttribute("datetime");
      if (when) element.textContent = ago(when);
    }
  }

  /* {changed, data}: changed is false on a 304 (the last data is returned again). */
  async function poll(url) {
    const known = tags.get(url);
    const headers = known ? { "If-None-Match": known.tag } : {};
    const response = await fetch(url, { headers, cache: "no-store" });
    if (response.status === 304 && known) return { changed: false, data: known.data };
    if (response.status === 404) {
      tags.set(url, { tag: "", data: null });
      return { changed: Boolean(known && known.data), data: null };
    }
    if (!response.ok) throw new Error(`${url}: ${response.status}`);
    const data = await response.json();
    tags.set(url, { tag: response.headers.get("ETag") || "", data });
    return { changed: Boolean(known), data };
  }

  async function swapLiveParts() {
    const response = await fetch(window.location.pathname, { cache: "no-store" });
    if (!response.ok) throw new Error(`page: ${response.status}`);
    const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
    for (const part of document.querySelectorAll("[data-live]")) {
      const replacement = fresh.getElementById(part.id);
      if (replacement) part.replaceWith(document.importNode(replacement, true));
    }
  }

  function drawFlows(flows) {
    const container = document.getElementById("sankey");
    if (container && flows && window.TributarySankey) {
      window.TributarySankey.draw(container, flows, format);
    }
  }

  const live = document.getElementById("live");
  function mark(ok) {
    live.hidden = false;
    live.classList.toggle("stale", !ok);
    live.textContent = ok
      ? `live · updated ${new Date().toLocaleTimeString()}`
      : "reconnecting…";
  }

  const watched = boot.page === "challenge"
    ? [`/v1/public/flows?challenge_id=${boot.challenge_id}&max_funders=40`, "/v1/public/ledger/tree-head"]
    : ["/v1/public/stats", "/v1/public/ledger/tree-head"];
  relativeTimes();

  let drawn = false;
  async function tick() {
    try {
      const results = await Promise.all(watched.map(poll));
      if (boot.page === "challenge" && (results[0].changed || !drawn)) {
        drawFlows(results[0].data);
        drawn = true;
      }
      if (results.some((result) => result.changed)) await swapLiveParts();
      relativeTimes();
      mark(true);
    } catch (error) {
      mark(false);
    }
  }

  let timer = null;
  function schedule() {
    clearInterval(timer);
    timer = setInterval(() => { if (!document.hidden) tick(); }, POLL_MS);
  }
  document.addEventListener("visibilitychange", () => { if (!document.hidden) tick(); });
  let lastWidth = window.innerWidth;
  window.addEventListener("resize", () => {
    if (boot.page !== "challenge" || Math.abs(window.innerWidth - lastWidth) < 40) return;
    lastWidth = window.innerWidth;
    drawFlows((tags.get(watched[0]) || {}).data);
  });
  tick();
  schedule();
})();
