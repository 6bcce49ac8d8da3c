/* The job table for triage: filter by name, state and host (and by a family of the graph),
 * sort by any column (default: failed first, then running, then the rest in workflow
 * order), and virtualised rows: only the rows in view exist in the DOM, so 10,000 jobs
 * scroll without lag. Fixed column widths: nothing overflows sideways. */
"use strict";
window.JobTable = function (opts) {
  const ROW_H = 30, OVERSCAN = 12;
  const wrap = opts.wrap, tbody = opts.tbody, empty = opts.empty, countEl = opts.count;
  const TRIAGE = { failed: 0, timeout: 0, lost: 0, unknown: 1, running: 1, submitted: 1, pending: 1, retrying: 1,
                   ready: 2, canceled: 3, skipped: 3, done: 4 };
  let all = [];          // every job record, in workflow order (record.pos)
  let shown = [];        // filtered and sorted
  let rendered = [];     // records that have a row now
  let sortKey = "triage", sortDir = 1;
  let text = "", state = "", host = "", group = null;
  let selected = null;
  let frame = 0, resortTimer = null;

  function hostOf(j) { return j.host || ""; }
  function dur(j, now) { return j.tstart == null ? null : (j.tend != null ? j.tend : now) - j.tstart; }
  function matches(j) {
    if (state && j.state !== state) return false;
    if (host && hostOf(j) !== host) return false;
    if (group && !group.members.has(j.name)) return false;
    if (!text) return true;
    for (const word of text.split(/\s+/)) {
      const [key, value] = word.includes(":") ? word.split(/:(.*)/) : [null, word];
      if (key === "state" ? j.state !== value : key === "host" ? !hostOf(j).toLowerCase().includes(value)
          : !(j.name.toLowerCase().includes(word) || j.state === word || hostOf(j).toLowerCase().includes(word))) return false;
    }
    return true;
  }
  function compare(a, b) {
    let d = 0;
    if (sortKey === "triage") d = (TRIAGE[a.state] ?? 5) - (TRIAGE[b.state] ?? 5);
    else if (sortKey === "name") d = a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
    else if (sortKey === "duration") { const now = Date.now() / 1000; d = (dur(a, now) ?? -1) - (dur(b, now) ?? -1); }
    else if (sortKey === "state") d = (TRIAGE[a.state] ?? 5) - (TRIAGE[b.state] ?? 5) || (a.state < b.state ? -1 : a.state > b.state ? 1 : 0);
    else {
      const x = a[sortKey] ?? "", y = b[sortKey] ?? "";
      d = typeof x === "number" && typeof y === "number" ? x - y : String(x) < String(y) ? -1 : String(x) > String(y) ? 1 : 0;
    }
    return d * sortDir || a.pos - b.pos;
  }
  function refresh() {
    shown = all.filter(matches);
    shown.sort(compare);
    countEl.textContent = shown.length === all.length ? `${all.length} jobs` : `${shown.length} of ${all.length} jobs`;
    const filtering = text || state || host || group;
    empty.hidden = shown.length > 0;
    if (!shown.length) empty.textContent = filtering ? `No job matches ${describe()}.` : "No jobs.";
    draw();
  }
  function describe() {
    const parts = [];
    if (text) parts.push(`“${text}”`);
    if (state) parts.push(`state ${state}`);
    if (host) parts.push(`host ${host}`);
    if (group) parts.push(`family ${group.label}`);
    return parts.join(", ");
  }
  function rowHtml(j, now) {
    const n = hf.esc(j.name), s = hf.esc(j.state), m = hf.esc(j.message || "");
    return `<tr data-job="${n}" data-state="${s}"${j.name === selected ? ' class="selected"' : ""}>` +
      `<td title="${hf.esc(j.label || j.name)}"><a href="#" class="log-link">${n}</a></td>` +
      `<td><span class="badge" data-state="${s}">${s}</span></td>` +
      `<td><span class="progress"><i style="width:${j.progress}%"></i></span><span class="pct">${j.progress}%</span></td>` +
      `<td title="${hf.esc(hostOf(j))}">${hf.esc(hostOf(j))}</td><td class="num">${j.attempt || ""}</td>` +
      `<td class="num">${hf.duration(dur(j, now))}</td><td class="num">${j.exit_code == null ? "" : j.exit_code}</td>` +
      `<td title="${m}">${m}</td></tr>`;
  }
  function draw() {
    frame = 0;
    const first = Math.max(0, Math.floor(wrap.scrollTop / ROW_H) - OVERSCAN);
    const count = Math.ceil((wrap.clientHeight || 600) / ROW_H) + 2 * OVERSCAN;
    const slice = shown.slice(first, first + count);
    for (const j of rendered) j.row = null;
    const now = Date.now() / 1000;
    let html = `<tr class="spacer" style="height:${first * ROW_H}px"></tr>`;
    for (const j of slice) html += rowHtml(j, now);
    html += `<tr class="spacer" style="height:${Math.max(0, shown.length - first - slice.length) * ROW_H}px"></tr>`;
    tbody.innerHTML = html;
    const rows = tbody.rows;
    for (let k = 0; k < slice.length; k++) {
      const j = slice[k], tr = rows[k + 1];
      j.row = tr; j.badge = tr.cells[1].firstChild; j.bar = tr.cells[2].firstChild.firstChild;
      j.pct = tr.cells[2].lastChild; j.hostCell = tr.cells[3]; j.attemptCell = tr.cells[4];
      j.dur = tr.cells[5]; j.exit = tr.cells[6]; j.msg = tr.cells[7];
    }
    rendered = slice;
  }
  function schedule() { if (!frame) frame = requestAnimationFrame(draw); }
  /** One job changed: repaint its row if shown; re-sort and re-filter soon when that matters. */
  function paint(j, now) {
    if (j.row) {
      j.row.dataset.state = j.state;
      j.badge.dataset.state = j.state; j.badge.textContent = j.state;
      j.bar.style.width = j.progress + "%"; j.pct.textContent = j.progress + "%";
      j.hostCell.textContent = hostOf(j); j.attemptCell.textContent = j.attempt || "";
      j.dur.textContent = hf.duration(dur(j, now));
      j.exit.textContent = j.exit_code == null ? "" : j.exit_code;
      j.msg.textContent = j.message || ""; j.msg.title = j.message || "";
    }
  }
  function stateChanged() {
    if (sortKey !== "triage" && sortKey !== "state" && !state && !text) return;
    if (!resortTimer) resortTimer = setTimeout(() => { resortTimer = null; refresh(); }, 400);
  }
  function tick(now) { for (const j of rendered) if (j.tstart != null && j.tend == null) j.dur.textContent = hf.duration(dur(j, now)); }

  wrap.addEventListener("scroll", schedule, { passive: true });
  window.addEventListener("resize", schedule);
  for (const th of opts.head.querySelectorAll("th[data-sort]")) {
    th.addEventListener("click", () => {
      const key = th.dataset.sort;
      if (sortKey === key) sortDir = -sortDir; else { sortKey = key; sortDir = 1; }
      for (const other of opts.head.querySelectorAll("th")) other.removeAttribute("aria-sort");
      th.setAttribute("aria-sort", sortDir > 0 ? "ascending" : "descending");
      refresh();
    });
  }
  return {
    setJobs(list) { all = list; all.forEach((j, k) => { j.pos = k; }); refresh(); },
    refresh, paint, stateChanged, tick,
    filter(values) {
      if ("text" in values) text = values.text.trim().toLowerCase();
      if ("state" in values) state = values.state;
      if ("host" in values) host = values.host;
      if ("group" in values) group = values.group;
      wrap.scrollTop = 0;
      refresh();
    },
    select(name) {
      selected = name;
      for (const j of rendered) if (j.row) j.row.classList.toggle("selected", j.name === name);
    },
    /** Scroll so that ``name`` is in view (it must pass the filter). */
    reveal(name) {
      const k = shown.findIndex((j) => j.name === name);
      if (k >= 0) { wrap.scrollTop = Math.max(0, k * ROW_H - wrap.clientHeight / 2); draw(); }
    },
    get shown() { return shown; },
  };
};
