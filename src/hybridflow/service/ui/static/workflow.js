/* One workflow: the live graph (grouped into families when big, laid out by the service),
 * the triage table (jobtable.js), run history with a timeline of attempts, run buttons
 * (run, rerun failed, run from the selected job, force, cancel) and a log viewer over the
 * page that follows a job's log by offset, with search and download.
 * window.hfMetrics records load times and applied events (read by tests and benchmarks). */
"use strict";
(function () {
  const t0 = performance.now();
  const metrics = (window.hfMetrics = { scriptStart: t0, events: 0, lastEventId: 0 });
  const $ = (id) => document.getElementById(id);
  const name = $("workflow-page").dataset.name;
  const base = "/api/v1/workflows/" + encodeURIComponent(name);
  const graphEl = $("graph");
  const ACTIVE = new Set(["submitted", "pending", "running", "unknown", "retrying"]);
  const TERMINAL = new Set(["done", "failed", "timeout", "canceled", "skipped", "lost"]);
  const GROUP_AT = 25;   // jobs from which the graph is grouped by default
  const FLAT_MAX = 1500; // above this, the flat SVG is not offered at all

  const jobs = new Map(); // name -> job record
  let nodes = new Map();  // name -> <g class="node"> of a single job
  let gg = null;          // the grouped graph, when shown
  let layout = null;
  const expanded = new Set(); // families drawn job by job
  const EXPAND_MAX = 300;     // the service's limit (render/families.py)
  let grouped = null;     // null: not decided yet
  let colors = {};
  let pz = null;
  let detail = null;
  let lastCostKey = null;  // the counts the shown cost was read for
  let running = false;
  let templated = false;
  let lastEvent = 0;
  let selected = null;

  const table = window.JobTable({ wrap: $("jobs-wrap"), tbody: document.querySelector("#jobs tbody"),
                                  head: document.querySelector("#jobs thead"), empty: $("jobs-empty"),
                                  count: $("jobs-count") });

  // ---------------------------------------------------------------- summary and buttons
  function setRunning(value) {
    running = value;
    for (const id of ["run-button", "rerun-failed-button", "force-button"]) $(id).disabled = running;
    $("run-from-button").disabled = running || !selected;
    $("cancel-button").disabled = !running;
    $("delete-button").disabled = running;
  }
  function renderSummary() {
    const state = $("wf-state");
    state.textContent = detail.state + (running && detail.pid ? " (pid " + detail.pid + ")" :
      detail.state === "interrupted" && detail.pid ? ` (coordinator pid ${detail.pid} died: Run resumes it)` : "");
    state.dataset.state = detail.state;
    $("wf-jobs").textContent = jobs.size;
    $("wf-started").textContent = hf.time(detail.t0);
    renderCounts();
    tickDurations();
  }
  function renderCounts() {
    const counts = {};
    for (const j of jobs.values()) counts[j.state] = (counts[j.state] || 0) + 1;
    $("wf-counts").innerHTML = hf.countBadges(counts);
  }
  /** Badge colours = graph colours, and a legend of them (submitted and running differ). */
  function renderLegend() {
    let css = "";
    for (const [state, color] of Object.entries(colors)) {
      css += `.badge[data-state="${state}"]{background:${color}}.legend i[data-state="${state}"]{background:${color}}`;
    }
    let style = $("state-colors");
    if (!style) { style = document.createElement("style"); style.id = "state-colors"; document.head.appendChild(style); }
    style.textContent = css;
    $("legend").innerHTML = Object.keys(colors).map((s) =>
      `<span class="legend-item"><i data-state="${hf.esc(s)}"></i>${hf.esc(s)}</span>`).join("");
  }
  function fillSelect(select, values, label) {
    const current = select.value;
    select.innerHTML = `<option value="">${label}</option>` +
      values.map((v) => `<option value="${hf.esc(v)}">${hf.esc(v)}</option>`).join("");
    if (values.includes(current)) select.value = current;
  }
  function renderFilters() {
    fillSelect($("state-filter"), Object.keys(colors).filter((s) => s !== "retrying" || [...jobs.values()].some((j) => j.state === s)), "all states");
    const hosts = [...new Set([...jobs.values()].map((j) => j.host || "").filter(Boolean))].sort();
    fillSelect($("host-filter"), hosts, "all hosts");
  }

  function tickDurations() {
    const now = Date.now() / 1000;
    table.tick(now);
    if (detail) {
      const dur = detail.t1 != null && !running ? detail.t1 - detail.t0 : detail.t0 != null && running ? now - detail.t0 : detail.duration;
      $("wf-duration").textContent = hf.duration(dur);
    }
  }

  // ---------------------------------------------------------------- graph
  function paintNode(jobName, state) {
    const g = nodes.get(jobName);
    if (!g) return;
    g.dataset.state = state;
    const shape = g.querySelector(".node-shape");
    if (shape && colors[state]) shape.setAttribute("fill", colors[state]);
  }
  function install(svg, keep) {
    nodes = new Map();
    for (const g of svg.querySelectorAll("g.node[data-job]")) nodes.set(g.dataset.job, g);
    for (const j of jobs.values()) if (nodes.has(j.name) && nodes.get(j.name).dataset.state !== j.state) paintNode(j.name, j.state);
    pz = window.panZoom(graphEl, svg);
    if (keep) pz.view = keep;
    if (selected && nodes.get(selected)) nodes.get(selected).classList.add("selected");
    metrics.nodes = svg.querySelectorAll("g.node").length;
  }
  async function loadLayout() {
    const fetched = performance.now();
    const query = expanded.size ? "?expand=" + encodeURIComponent([...expanded].join(",")) : "";
    layout = await hf.json(base + "/layout" + query);
    metrics.layoutFetchMs = performance.now() - fetched;
  }
  function drawGrouped(keep) {
    const started = performance.now();
    gg = window.groupGraph(graphEl, layout, colors);
    install(gg.svg, keep);
    gg.recount(jobs);
    const families = gg.groups.size;
    const opened = layout.expanded.length ? `, ${layout.expanded.map((f) => f.label).join(", ")} expanded` : "";
    $("graph-note").textContent = families || opened ? `${jobs.size} jobs in ${layout.nodes.length} nodes (${families} grouped${opened})` : "";
    metrics.graphMs = performance.now() - started;
    metrics.groups = families;
  }
  async function loadFlat(keep) {
    const fetched = performance.now();
    const text = await (await hf.api(base + "/graph?format=svg&fresh=true")).text();
    metrics.graphFetchMs = performance.now() - fetched;
    const started = performance.now();
    graphEl.innerHTML = text;
    gg = null;
    const svg = graphEl.querySelector("svg");
    colors = Object.assign({}, JSON.parse(svg.dataset.stateColors || "{}"), detail ? detail.colors : {});
    install(svg, keep);
    $("graph-note").textContent = "";
    metrics.graphMs = performance.now() - started;
  }
  async function loadGraph() {
    const keep = pz ? pz.view : null;
    if (grouped) { await loadLayout(); drawGrouped(keep); } else { await loadFlat(keep); }
    $("group-toggle").textContent = grouped ? "Flat" : "Grouped";
    $("group-toggle").hidden = jobs.size > FLAT_MAX && grouped;
  }

  // ---------------------------------------------------------------- loading the workflow
  /** A job as the page keeps it; ``evId``: the newest event its values reflect. */
  function record(j) {
    return Object.assign({}, j, { evId: detail.last_event });
  }
  async function loadDetail() {
    const fetched = performance.now();
    detail = await hf.json(base + "?fresh=true");
    metrics.detailFetchMs = performance.now() - fetched;
    colors = Object.assign({}, colors, detail.colors);
    const fresh = detail.jobs.length !== jobs.size || detail.jobs.some((j) => !jobs.has(j.name));
    templated = detail.jobs.some((j) => j.label !== j.name);
    const started = performance.now();
    if (fresh) {
      jobs.clear();
      for (const j of detail.jobs) jobs.set(j.name, record(j));
      table.setJobs([...jobs.values()]);
    } else {
      const now = Date.now() / 1000;
      for (const j of detail.jobs) {
        const mine = jobs.get(j.name);
        // the stream may already have told something newer than this snapshot: keep it
        if (mine.evId && mine.evId > detail.last_event) continue;
        if (gg && mine.state !== j.state) gg.count(j.name, mine.state, j.state);
        Object.assign(mine, { state: j.state, progress: j.progress, tstart: j.tstart, tend: j.tend, host: j.host,
                              exit_code: j.exit_code, label: j.label, attempt: j.attempt, message: j.message,
                              evId: detail.last_event });
        table.paint(mine, now);
        paintNode(j.name, j.state);
      }
      table.stateChanged();
    }
    metrics.tableMs = performance.now() - started;
    lastEvent = Math.max(lastEvent, detail.last_event);
    renderLegend();
    renderFilters();
    setRunning(detail.running);
    renderSummary();
    // the bill changes only when an attempt ends: ask again only when the counts moved
    const costKey = JSON.stringify(detail.counts);
    if (costKey !== lastCostKey && detail.jobs.some((j) => j.kind === "slurm" || j.kind === "lsf")) {
      lastCostKey = costKey;
      loadCost().catch((error) => console.warn(error));
    }
    return fresh;
  }

  // The run's charge in allocation units, shown once a batch attempt has reported usage.
  async function loadCost() {
    const bill = await hf.json(base + "/cost");
    const shown = bill.run.attempts > 0;
    $("wf-cost").hidden = !shown;
    if (shown) {
      $("wf-cost-units").textContent = `${bill.run.units.toFixed(3)} SU · ${bill.run.node_hours.toFixed(3)} node-h`;
    }
  }

  // Throttled re-reads: the stream recolours at once, these fill exit codes, labels, times.
  function throttle(fn, ms) {
    let timer = null, again = false;
    const run = () => {
      timer = setTimeout(async () => {
        try { await fn(); } catch (error) { console.warn(error); }
        if (again) { again = false; run(); } else { timer = null; }
      }, ms);
    };
    return () => { if (timer) again = true; else run(); };
  }
  const refreshDetail = throttle(async () => { if (await loadDetail()) await loadGraph(); }, 1000);
  const refreshGraph = throttle(async () => { if (!grouped) await loadGraph(); }, 3000);
  const refreshRuns = throttle(loadRuns, 1000);

  // ---------------------------------------------------------------- the event stream
  const pending = new Map();
  let flushQueued = false;
  function queue(jobName, change) {
    pending.set(jobName, Object.assign(pending.get(jobName) || {}, change));
    if (!flushQueued) { flushQueued = true; requestAnimationFrame(flush); }
  }
  function flush() {
    flushQueued = false;
    const now = Date.now() / 1000;
    let unknown = false, moved = false;
    for (const [jobName, change] of pending) {
      const j = jobs.get(jobName);
      if (!j) { unknown = true; continue; }
      if (change.evId && j.evId && change.evId <= j.evId) continue; // a snapshot already told something newer
      if (change.state && change.state !== j.state) {
        moved = true;
        if (gg) gg.count(jobName, j.state, change.state);
      }
      Object.assign(j, change);
      table.paint(j, now);
      if (change.state) paintNode(jobName, change.state);
    }
    pending.clear();
    if (moved) table.stateChanged();
    renderCounts();
    metrics.flushedEventId = lastEvent;
    if (unknown) refreshDetail();
  }
  function onState(ev) {
    const e = JSON.parse(ev.data);
    lastEvent = Math.max(lastEvent, e.id);
    metrics.events++;
    if (!e.job) return;
    const change = { state: e.state, evId: e.id };
    if (e.state === "submitted") Object.assign(change, { tstart: null, tend: null, progress: 0, exit_code: null });
    if (e.state === "running") {  // a submitted event of the same batch may have cleared it
      const waiting = pending.get(e.job);
      const known = waiting && "tstart" in waiting ? waiting.tstart : (jobs.get(e.job) || {}).tstart;
      change.tstart = known || e.ts;
    }
    if (e.state === "done") change.message = null;
    else if (e.message) change.message = e.message;
    if (TERMINAL.has(e.state)) { change.tend = e.ts; if (e.state === "done") change.progress = 100; }
    queue(e.job, change);
    if (TERMINAL.has(e.state) || e.state === "submitted") refreshDetail();
    if (templated) refreshGraph();
  }
  function onProgress(ev) {
    const e = JSON.parse(ev.data);
    lastEvent = Math.max(lastEvent, e.id);
    metrics.events++;
    if (e.job && e.progress != null) queue(e.job, { progress: e.progress, evId: e.id });
    if (templated) refreshGraph();
  }
  function onWorkflow(ev) {
    const e = JSON.parse(ev.data);
    lastEvent = Math.max(lastEvent, e.id);
    detail.state = e.state;
    if (e.state === "running") {
      detail.t0 = detail.t0 || e.ts; detail.t1 = null;
      refreshGraph();
    } else {
      detail.t1 = e.ts;
      setRunning(false); // the coordinator is leaving (its lock goes with the next event)
      if (e.state === "handed-off") hf.message($("wf-message"), "Handed off: Slurm runs the rest; Run (or hflow workflow status) carries it on.", "ok");
      else hf.message($("wf-message"), "Run ended: " + e.state + ".", e.state === "done" ? "ok" : "error");
      if (!grouped) setTimeout(() => loadGraph().catch((error) => console.warn(error)), 300); // final labels at once
    }
    renderSummary();
    refreshDetail();
    if (e.state === "running") refreshRuns();
    else setTimeout(() => loadRuns().catch((error) => console.warn(error)), 250); // the run's end, at once
  }
  function connect() {
    const source = new EventSource(base + "/events?after=" + lastEvent);
    source.addEventListener("state", onState);
    source.addEventListener("progress", onProgress);
    source.addEventListener("workflow", onWorkflow);
    source.addEventListener("spec", () => { refreshDetail(); refreshGraph(); });
    source.addEventListener("running", (ev) => { const e = JSON.parse(ev.data); setRunning(e.running); refreshDetail(); refreshRuns(); });
    source.addEventListener("deleted", () => {
      source.close();
      hf.message($("wf-message"), "This workflow was deleted.", "error");
      setRunning(false);
      $("run-button").disabled = true;
    });
    source.onopen = () => $("live-indicator").classList.add("on");
    source.onerror = () => $("live-indicator").classList.remove("on");
    return source;
  }

  // ---------------------------------------------------------------- runs and the timeline
  let runs = [], shownRun = null, followLatest = true;
  async function loadRuns() {
    runs = await hf.json(base + "/runs");
    const tbody = document.querySelector("#runs tbody");
    tbody.innerHTML = runs.map((r) => {
      const counts = Object.entries(r.counts).map(([s, n]) => `<span class="badge" data-state="${hf.esc(s)}">${hf.esc(s)} ${n}</span>`).join(" ");
      const by = hf.esc(r.started_by);
      const opts = Object.entries(r.options).filter(([, v]) => v && v !== "default" && !(Array.isArray(v) && !v.length))
        .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(",") : v}`).join(" ");
      return `<tr data-run="${r.number}"${r.number === shownRun ? ' class="selected"' : ""}><td>${r.number}</td>` +
        `<td><span class="badge" data-state="${hf.esc(r.state)}">${hf.esc(r.state)}</span></td><td>${hf.time(r.started)}</td>` +
        `<td class="num">${hf.duration(r.duration != null ? r.duration : Date.now() / 1000 - r.started)}</td>` +
        `<td title="${by}">${by}${opts ? " · " + hf.esc(opts) : ""}</td><td>${counts}</td></tr>`;
    }).join("");
    $("run-note").textContent = runs.length ? `${runs.length} run${runs.length === 1 ? "" : "s"}` : "never run";
    if (runs.length && (followLatest || !runs.some((r) => r.number === shownRun))) await showRun(runs[0].number);
  }
  async function showRun(number) {
    shownRun = number;
    for (const tr of document.querySelectorAll("#runs tbody tr")) tr.classList.toggle("selected", Number(tr.dataset.run) === number);
    const answer = await hf.json(`${base}/runs/${number}`);
    drawTimeline(answer.run, answer.attempts);
  }
  /** The Gantt of a run's attempts, one row per job, every job of the run: the rows are
   * virtualised (only those in view, and a margin, are drawn while the box scrolls). */
  function drawTimeline(run, attempts) {
    const el = $("timeline");
    if (!attempts.length) { el.innerHTML = `<div class="muted pad">Run ${run.number}: no attempt started.</div>`; return; }
    const ROW = 16, LEFT = 150, VIEW = 400, MARGIN = 20, now = Date.now() / 1000;
    const byJob = new Map();
    for (const a of attempts) { if (!byJob.has(a.job)) byJob.set(a.job, []); byJob.get(a.job).push(a); }
    const rows = [...byJob.entries()];
    const start = run.started, end = Math.max(run.ended || now, ...attempts.map((a) => a.ended || now));
    const width = Math.max(300, el.clientWidth - 20), span = Math.max(end - start, 0.001), height = rows.length * ROW;
    const x = (t) => LEFT + ((t - start) / span) * (width - LEFT - 10);
    let grid = "", axis = "";
    for (let k = 0; k <= 4; k++) {
      const t = start + (span * k) / 4, gx = x(t);
      grid += `<line x1="${gx}" x2="${gx}" y1="0" y2="${height}" stroke="#e3e8ee"/>`;
      axis += `<text x="${gx}" y="14" text-anchor="middle" fill="#5b6875">+${hf.duration(t - start)}</text>`;
    }
    const before = el.querySelector(".gantt-scroll");
    const top = before && el.dataset.run === String(run.number) ? before.scrollTop : 0; // a live run redraws
    const svgOpen = `<svg xmlns="http://www.w3.org/2000/svg" class="gantt" width="${width}" font-size="11" font-family="Helvetica, Arial, sans-serif"`;
    el.innerHTML = `<div class="muted small">Run ${run.number}: ${attempts.length} attempts of ${rows.length} jobs, by ${hf.esc(run.started_by)}` +
      `${rows.length * ROW > VIEW ? " (scroll for every job)" : ""}</div>` +
      `<div class="gantt-scroll" style="max-height:${VIEW}px"></div>${svgOpen} height="20">${axis}</svg>`;
    el.dataset.jobs = rows.length;
    el.dataset.run = run.number;
    const scroller = el.querySelector(".gantt-scroll");
    let shown = "";
    function paint() {
      const first = Math.max(0, Math.floor(scroller.scrollTop / ROW) - MARGIN);
      const last = Math.min(rows.length, Math.ceil((scroller.scrollTop + VIEW) / ROW) + MARGIN);
      if (shown === `${first}-${last}`) return;
      shown = `${first}-${last}`;
      let svg = `${svgOpen} height="${height}">${grid}`;
      for (let k = first; k < last; k++) {
        const [job, list] = rows[k], y = k * ROW;
        svg += `<text x="${LEFT - 6}" y="${y + 12}" text-anchor="end" fill="#1d2733">${hf.esc(job.length > 22 ? job.slice(0, 21) + "…" : job)}</text>`;
        for (const a of list) {
          const from = x(a.started || a.created), to = x(a.ended || now);
          svg += `<rect class="bar" data-job="${hf.esc(job)}" data-attempt="${a.number}" data-host="${hf.esc(a.host)}" x="${from}" y="${y + 2}" ` +
            `width="${Math.max(2, to - from)}" height="${ROW - 4}" rx="2" fill="${hf.esc(colors[a.state] || "#ccc")}" stroke="#555" stroke-width=".5">` +
            `<title>${hf.esc(job)} attempt ${a.number} on ${hf.esc(a.host)} (${hf.esc(a.kind)}): ${hf.esc(a.state)}` +
            `${a.exit_code != null ? ", exit " + a.exit_code : ""}, ${hf.duration((a.ended || now) - (a.started || a.created))}</title></rect>`;
        }
      }
      scroller.innerHTML = svg + "</svg>";
    }
    let queued = false;
    scroller.addEventListener("scroll", () => {
      if (!queued) { queued = true; requestAnimationFrame(() => { queued = false; paint(); }); }
    });
    paint();
    scroller.scrollTop = top;
    paint();
  }
  document.querySelector("#runs tbody").addEventListener("click", (event) => {
    const tr = event.target.closest("tr[data-run]");
    if (tr) followLatest = Number(tr.dataset.run) === runs[0].number;
    if (tr) showRun(Number(tr.dataset.run)).catch((error) => hf.message($("wf-message"), error.message, "error"));
  });

  // ---------------------------------------------------------------- the log viewer
  let logTimer = null, logOffset = 0, logAttempt = null, logFor = null, logText = "";
  const MAX_LOG = 2 * 1024 * 1024;
  function select(jobName) {
    if (selected && nodes.get(selected)) nodes.get(selected).classList.remove("selected");
    selected = jobName;
    if (nodes.get(jobName)) nodes.get(jobName).classList.add("selected");
    table.select(jobName);
    $("run-from-button").disabled = running || !selected;
    $("run-from-button").textContent = selected ? `Run from ${selected}` : "Run from selected";
  }
  function renderLog() {
    const pre = $("log-text"), query = $("log-search").value;
    if (!query) { pre.textContent = logText; $("log-hits").textContent = ""; }
    else {
      let hits = 0;
      pre.innerHTML = hf.esc(logText).replace(new RegExp(hf.esc(query).replace(/[.*+?^${}()|[\]\\]/g, "\\$&"), "gi"),
        (m) => { hits++; return `<mark>${m}</mark>`; });
      $("log-hits").textContent = hits ? `${hits} match${hits === 1 ? "" : "es"}` : "no match";
      const first = pre.querySelector("mark");
      if (first) { pre.scrollTop = first.offsetTop - pre.clientHeight / 3; return; }
    }
    if ($("log-follow").checked) pre.scrollTop = pre.scrollHeight;
  }
  async function openLog(jobName) {
    select(jobName);
    clearTimeout(logTimer);
    logFor = jobName; logOffset = 0; logAttempt = null; logText = "";
    $("log-panel").hidden = false;
    $("log-job").textContent = jobName;
    $("log-text").textContent = "";
    $("log-path").textContent = "";
    $("log-download").href = `${base}/jobs/${encodeURIComponent(jobName)}/log/download`;
    try {
      const job = await hf.json(base + "/jobs/" + encodeURIComponent(jobName));
      const last = job.attempts[job.attempts.length - 1];
      $("log-path").textContent = last ? `attempt ${last.number} on ${last.host}: ${last.log}` : "not started yet";
      $("log-result").hidden = true;
      if (job.spec && job.spec.call !== undefined) showResult(jobName);
    } catch (error) { $("log-path").textContent = error.message; }
    await readLog(jobName, true);
  }
  // A function node's return value: JSON when it is plain data, else its repr; or what it raised.
  async function showResult(jobName) {
    const result = await hf.json(`${base}/jobs/${encodeURIComponent(jobName)}/result`);
    const box = $("log-result");
    box.hidden = false;
    box.textContent = !result.ready ? "result: not ready yet"
      : result.error ? `raised: ${result.error}` + (result.traceback ? "\n" + result.traceback : "")
      : "result: " + (result.data !== null && result.data !== undefined ? JSON.stringify(result.data) : result.text);
  }
  async function readLog(jobName, first) {
    if (logFor !== jobName) return;
    let chunk;
    try {
      const query = first ? "tail=262144" : "offset=" + logOffset;
      chunk = await hf.json(`${base}/jobs/${encodeURIComponent(jobName)}/log?${query}`);
    } catch (error) {
      logText += "\n[" + error.message + "]";
      renderLog();
      return;
    }
    if (logFor !== jobName) return;
    if (chunk.attempt !== logAttempt && !first) logText = "";
    logAttempt = chunk.attempt;
    if (chunk.data) {
      logText += chunk.data;
      if (logText.length > MAX_LOG) logText = logText.slice(-MAX_LOG / 2);
      renderLog();
    }
    const badge = $("log-state");
    badge.textContent = chunk.state; badge.dataset.state = chunk.state;
    logOffset = chunk.next_offset;
    if (!chunk.complete) {
      const more = chunk.next_offset < chunk.size;
      logTimer = setTimeout(() => readLog(jobName, false), more ? 50 : 1000);
    }
  }
  $("log-close").addEventListener("click", () => { logFor = null; clearTimeout(logTimer); $("log-panel").hidden = true; });
  $("log-search").addEventListener("input", renderLog);
  document.addEventListener("keydown", (event) => { if (event.key === "Escape" && !$("log-panel").hidden) $("log-close").click(); });

  // ---------------------------------------------------------------- controls
  async function startRun(body, what) {
    for (const id of ["run-button", "rerun-failed-button", "run-from-button", "force-button"]) $(id).disabled = true;
    hf.message($("wf-message"), `Starting (${what})…`);
    try {
      const run = await hf.postJSON(base + "/run", body);
      hf.message($("wf-message"), run.running ? `Running ${what} (coordinator pid ${run.pid}).` : `Run finished (exit ${run.exit_code}).`, "ok");
      setRunning(run.running);
      refreshDetail();
      refreshRuns();
    } catch (error) {
      hf.message($("wf-message"), error.message, "error");
      setRunning(running);
    }
  }
  $("run-button").addEventListener("click", () => startRun({}, "what is not done"));
  $("rerun-failed-button").addEventListener("click", () => startRun({ rerun_failed: true }, "failed jobs and their dependants"));
  $("run-from-button").addEventListener("click", () => { if (selected) startRun({ from: [selected] }, `from ${selected}`); });
  $("force-button").addEventListener("click", () => {
    if (window.confirm(`Run every job of ${name} again?`)) startRun({ force: true }, "every job");
  });
  $("cancel-button").addEventListener("click", async () => {
    try {
      const answer = await hf.postJSON(base + "/cancel", {});
      hf.message($("wf-message"), answer.running ? "Cancel requested." : "Not running.", "ok");
    } catch (error) { hf.message($("wf-message"), error.message, "error"); }
  });
  $("delete-button").addEventListener("click", async () => {
    if (!window.confirm(`Delete workflow ${name}?`)) return;
    try { await hf.api(base, { method: "DELETE" }); window.location = "/"; }
    catch (error) { hf.message($("wf-message"), error.message, "error"); }
  });
  $("zoom-in").addEventListener("click", () => pz && pz.zoom(1 / 1.4));
  $("zoom-out").addEventListener("click", () => pz && pz.zoom(1.4));
  $("zoom-fit").addEventListener("click", () => pz && pz.fit());
  $("group-toggle").addEventListener("click", () => {
    grouped = !grouped;
    pz = null;
    loadGraph().catch((error) => hf.message($("wf-message"), error.message, "error"));
  });
  $("job-filter").addEventListener("input", () => table.filter({ text: $("job-filter").value }));
  $("state-filter").addEventListener("change", () => table.filter({ state: $("state-filter").value }));
  $("host-filter").addEventListener("change", () => table.filter({ host: $("host-filter").value }));
  $("group-filter").addEventListener("click", () => {
    const chip = $("group-filter");
    chip.hidden = true;
    table.filter({ group: null });
    if (expanded.delete(chip.dataset.group)) redrawGrouped();
  });
  /** Draw the grouped graph again with the families of ``expanded`` job by job. */
  function redrawGrouped() {
    loadLayout().then(() => drawGrouped(null)).catch((error) => hf.message($("wf-message"), error.message, "error"));
  }
  /** A family clicked: list it in the table and, when not too large, draw it job by job
   * (the chip above the table collapses it again). */
  function openGroup(rec) {
    expanded.clear(); // one family open at a time
    filterToGroup(rec);
    if (rec.members.size <= EXPAND_MAX) { expanded.add(rec.id); redrawGrouped(); }
    else hf.message($("wf-message"), `${rec.label}: ${rec.members.size} jobs, too many to draw one by one; listed in the table.`);
  }
  function filterToGroup(rec) {
    const chip = $("group-filter");
    chip.hidden = false;
    chip.dataset.group = rec.id;
    chip.textContent = `${rec.label} (${rec.members.size}) ×`;
    table.filter({ group: { label: rec.label, members: rec.members } });
  }
  document.querySelector("#jobs tbody").addEventListener("click", (event) => {
    const tr = event.target.closest("tr[data-job]");
    if (!tr) return;
    event.preventDefault();
    openLog(tr.dataset.job);
  });
  graphEl.addEventListener("click", (event) => {
    if (graphEl.dataset.justDragged) return;
    const group = event.target.closest("g.node.group");
    if (group && gg) { openGroup(gg.groups.get(group.dataset.group)); return; }
    const g = event.target.closest("g.node[data-job]");
    if (g) openLog(g.dataset.job);
  });

  // ---------------------------------------------------------------- start
  (async function start() {
    try {
      await Promise.all([loadDetail(), loadLayout()]);
      const drawn = layout.nodes.length;
      const asked = new URLSearchParams(window.location.search).get("view"); // ?view=flat|grouped
      grouped = asked === "flat" ? false : asked === "grouped" ? true
        : jobs.size > FLAT_MAX || (jobs.size >= GROUP_AT && drawn < jobs.size);
      if (grouped) drawGrouped(null); else await loadFlat(null);
      $("group-toggle").textContent = grouped ? "Flat" : "Grouped";
      $("group-toggle").hidden = jobs.size > FLAT_MAX || drawn === jobs.size;
    } catch (error) {
      hf.message($("wf-message"), error.message, "error");
      if (!detail) { graphEl.innerHTML = ""; return; }
    }
    connect();
    setInterval(tickDurations, 1000);
    setInterval(() => { if (running) refreshRuns(); }, 5000); // the timeline grows while a run goes on
    requestAnimationFrame(() => setTimeout(() => {
      metrics.readyMs = performance.now();
      metrics.renderMs = metrics.readyMs - t0;
      document.body.dataset.ready = "1";
    }, 0));
    loadRuns().catch((error) => console.warn(error));
  })();
})();
