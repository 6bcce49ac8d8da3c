/* The grouped DAG, drawn from the service's layout (GET .../layout): a family of jobs is
 * one node with per-state counts and a stacked progress bar, kept current from the event
 * stream by counting (no re-layout). Single jobs are nodes as in the flat SVG
 * (g.node[data-job][data-state] with a .node-shape), so the same code recolours both; the
 * jobs of an expanded family are g.node.member[data-family]. */
"use strict";
window.groupGraph = function (container, layout, colors) {
  const ORDER = ["failed", "timeout", "lost", "unknown", "running", "submitted", "pending", "retrying",
                 "ready", "canceled", "skipped", "done"];
  const ACTIVE = new Set(["running", "submitted", "pending", "retrying", "unknown"]);
  const esc = hf.esc;
  const groupOf = new Map();   // job -> group record
  const groups = new Map();    // id -> {id, label, members, counts, g, ...}
  const nodes = new Map();     // job -> <g> (single jobs only)
  const dirty = new Set();
  let queued = false;

  function path(points) {
    return points.map((p, k) => (k ? "L" : "M") + p[0] + "," + p[1]).join("");
  }
  const w = Math.max(1, Math.ceil(layout.width)), h = Math.max(1, Math.ceil(layout.height));
  const out = [`<svg xmlns="http://www.w3.org/2000/svg" class="hybridflow-graph grouped" viewBox="0 0 ${w} ${h}" ` +
    `width="${w}" height="${h}" data-state-colors="${esc(JSON.stringify(colors))}">` +
    '<defs><marker id="hf-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto">' +
    '<path d="M0,0L10,5L0,10z" fill="#555"/></marker></defs>' +
    `<rect class="background" width="${w}" height="${h}" fill="white"/><g class="edges" fill="none" stroke="#555" stroke-width="1.2">`];
  for (const e of layout.edges) {
    out.push(`<path class="edge" data-source="${esc(e.source)}" data-target="${esc(e.target)}" d="${path(e.points)}" marker-end="url(#hf-arrow)"/>`);
  }
  out.push('</g><g class="nodes" font-family="Helvetica, Arial, sans-serif" font-size="13" text-anchor="middle" fill="#111">');
  for (const n of layout.nodes) {
    const x = n.x - n.w / 2, y = n.y - n.h / 2;
    if (n.kind === "job") {
      const member = n.family ? ` data-family="${esc(n.family)}"` : "";
      out.push(`<g class="node${n.family ? " member" : ""}" data-job="${esc(n.id)}"${member} data-state="ready" transform="translate(${x},${y})">` +
        `<rect class="node-shape" width="${n.w}" height="${n.h}" rx="6" fill="${esc(colors.ready || "white")}" stroke="#333"/>` +
        `<text x="${n.w / 2}" y="${n.h / 2 + 4.5}">${esc(n.label)}</text></g>`);
    } else {
      out.push(`<g class="node group" data-group="${esc(n.id)}" data-kind="${esc(n.kind)}" data-total="${n.members.length}" ` +
        `data-state="ready" transform="translate(${x},${y})"><title>${esc(n.label)}: ${n.members.length} jobs (${esc(n.kind)}); click to expand it and list its jobs</title>` +
        `<rect class="node-shape" width="${n.w}" height="${n.h}" rx="8" fill="${esc(colors.ready || "white")}" stroke="#333" stroke-width="1.6"/>` +
        `<rect x="4" y="4" width="${n.w - 8}" height="${n.h - 8}" rx="6" fill="none" stroke="#333" stroke-opacity=".25"/>` +
        `<text class="g-label" x="${n.w / 2}" y="19" font-weight="600">${esc(n.label)}</text>` +
        `<text class="g-count" x="${n.w / 2}" y="35" font-size="12"></text>` +
        `<g class="g-bar" transform="translate(10,${n.h - 16})"></g></g>`);
    }
  }
  out.push("</g></svg>");
  container.innerHTML = out.join("");
  const svg = container.querySelector("svg");
  for (const g of svg.querySelectorAll("g.node[data-job]")) nodes.set(g.dataset.job, g);
  const byId = new Map(layout.nodes.map((n) => [n.id, n]));
  for (const g of svg.querySelectorAll("g.node.group")) {
    const n = byId.get(g.dataset.group);
    const rec = { id: n.id, label: n.label, members: new Set(n.members), counts: {}, g, width: n.w - 20,
                  shape: g.querySelector(".node-shape"), text: g.querySelector(".g-count"), bar: g.querySelector(".g-bar") };
    groups.set(n.id, rec);
    for (const m of n.members) groupOf.set(m, rec);
  }

  /** A state's colour darkened for the bar, so that it shows on the node's own fill. */
  const probe = document.createElement("canvas").getContext("2d");
  function shade(color) {
    if (!color || !probe) return "#888";
    probe.fillStyle = color;
    const hex = probe.fillStyle; // normalised to #rrggbb
    if (!/^#[0-9a-f]{6}$/i.test(hex)) return color;
    const k = 0.62, c = (i) => Math.round(parseInt(hex.slice(i, i + 2), 16) * k).toString(16).padStart(2, "0");
    return "#" + c(1) + c(3) + c(5);
  }
  function summaryState(counts, total) {
    for (const s of ["failed", "timeout", "lost"]) if (counts[s]) return s;
    for (const s of ORDER) if (ACTIVE.has(s) && counts[s]) return "running";
    if ((counts.done || 0) === total) return "done";
    if (counts.canceled) return "canceled";
    if ((counts.done || 0) > 0) return "running";
    return "ready";
  }
  function paintGroup(rec) {
    const total = rec.members.size, counts = rec.counts;
    const state = summaryState(counts, total);
    rec.g.dataset.state = state;
    rec.g.dataset.counts = JSON.stringify(counts);
    if (colors[state]) rec.shape.setAttribute("fill", colors[state]);
    const parts = ORDER.filter((s) => counts[s]).map((s) => `${s} ${counts[s]}`);
    rec.text.textContent = parts.length ? parts.slice(0, 3).join(" · ") + (parts.length > 3 ? " …" : "") : `${total} jobs`;
    let x = 0, html = `<rect width="${rec.width}" height="7" fill="#fff" stroke="#555" stroke-width=".6"/>`;
    for (const s of ORDER) {
      if (!counts[s] || s === "ready") continue; // what is left of the bar is what has not started
      const width = Math.min(rec.width - x, Math.max(3, (rec.width * counts[s]) / total)); // one job still shows
      html += `<rect class="seg" data-state="${s}" x="${x}" width="${width}" height="7" fill="${esc(shade(colors[s]))}"/>`;
      x += width;
    }
    rec.bar.innerHTML = html;
  }
  function flush() {
    queued = false;
    for (const rec of dirty) paintGroup(rec);
    dirty.clear();
  }
  /** A job moved from ``before`` (null: not counted yet) to ``after``. */
  function count(job, before, after) {
    const rec = groupOf.get(job);
    if (!rec || before === after) return;
    if (before) rec.counts[before] = Math.max(0, (rec.counts[before] || 0) - 1) || undefined;
    if (before && !rec.counts[before]) delete rec.counts[before];
    rec.counts[after] = (rec.counts[after] || 0) + 1;
    dirty.add(rec);
    if (!queued) { queued = true; requestAnimationFrame(flush); }
  }
  /** Recount every family from the jobs (after a full reload). */
  function recount(jobs) {
    for (const rec of groups.values()) rec.counts = {};
    for (const j of jobs.values()) {
      const rec = groupOf.get(j.name);
      if (rec) rec.counts[j.state] = (rec.counts[j.state] || 0) + 1;
    }
    for (const rec of groups.values()) paintGroup(rec);
  }
  return { svg, nodes, groups, groupOf, count, recount };
};
