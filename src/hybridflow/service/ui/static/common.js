/* Shared helpers of the hybridflow pages: API calls with the CSRF header, formatting. */
"use strict";
(function () {
  const csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

  /** fetch() on the API: adds the CSRF header, throws Error(detail) on a non-2xx answer. */
  async function api(path, options = {}) {
    const headers = Object.assign({ "X-CSRF-Token": csrf }, options.headers || {});
    const response = await fetch(path, Object.assign({}, options, { headers, credentials: "same-origin" }));
    if (response.status === 401) { window.location = "/login?next=" + encodeURIComponent(location.pathname); }
    if (!response.ok) {
      let detail = response.status + " " + response.statusText;
      try { detail = (await response.json()).detail || detail; } catch (e) { /* not JSON */ }
      const error = new Error(detail);
      error.status = response.status;
      throw error;
    }
    return response;
  }
  async function json(path, options) { return (await api(path, options)).json(); }
  function postJSON(path, body) {
    return json(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body || {}) });
  }

  const escapes = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
  function esc(text) { return String(text == null ? "" : text).replace(/[&<>"']/g, (c) => escapes[c]); }

  function time(seconds) {
    if (seconds == null) return "–";
    const d = new Date(seconds * 1000);
    const today = new Date().toDateString() === d.toDateString();
    return today ? d.toLocaleTimeString() : d.toLocaleString();
  }
  function duration(seconds) {
    if (seconds == null || !isFinite(seconds)) return "–";
    seconds = Math.max(0, seconds);
    if (seconds < 60) return seconds.toFixed(seconds < 10 ? 1 : 0) + " s";
    const h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = Math.floor(seconds % 60);
    return (h ? h + ":" + String(m).padStart(2, "0") : m) + ":" + String(s).padStart(2, "0");
  }
  function countBadges(counts) {
    return Object.keys(counts).sort().map((s) => `<span class="badge" data-state="${esc(s)}">${esc(s)} ${counts[s]}</span>`).join("");
  }
  function message(el, text, kind) {
    el.textContent = text || "";
    el.className = "message" + (kind ? " " + kind : "");
  }

  window.hf = { api, json, postJSON, esc, time, duration, countBadges, message, csrf };
})();
