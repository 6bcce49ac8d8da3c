/* One workflow: live SVG graph (recoloured from the event stream), job table with progress
 * and durations, run/cancel, and a log viewer that follows a job's log by offset.
 * window.hfMetrics records how long the first render took (read by the browser tests). */
"use strict";
(function () {
  const t0 = performance.now();
  const metrics = (window.hfMetrics = { scriptStart: t0 });
  const $ = (id) => document.getElementById(id);
  const name = $("workflow-page").dataset.name;
  const base = "/api/v1/workflows/" + encodeURIComponent(name);
  const tbody = document.querySelector("#jobs tbody");
  const graphEl = $("graph");
  const ACTIVE = new Set(["submitted", "pending", "running", "unknown"]);
  const TERMINAL = new Set(["done", "failed", "timeout", "canceled", "skipped", "lost"]);

  const jobs = new Map(); // name -> job record (+ row cells)
  let nodes = new Map(); // name -> <g class="node">
  let colors = {};
  let pz = null;
  let detail = null;
  let running = false;
  let templated = false;
  let lastEvent = 0;
  let selected = null;

  // ---------------------------------------------------------------- summary and buttons
  function setRunning(value) {
    running = value;
    $("run-button").disabled = running;
    $("cancel-button").disabled = !running;
    $("delete-button").disabled = running;
  }
  function renderSummary() {
    const state = $("wf-state");
    state.textContent = detail.state + (running ? " (pid " + detail.pid + ")" : "");
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

  // ---------------------------------------------------------------- job table
  function jobDuration(j, now) {
    if (j.tstart == null) return null;
    return (j.tend != null ? j.tend : now) - j.tstart;
  }
  function rowHtml(j, now) {
    const n = hf.esc(j.name), s = hf.esc(j.state);
    return `<tr data-job="${n}" data-state="${s}"><td title="${hf.esc(j.label)}">${n}</td>` +
      `<td><span class="badge" data-state="${s}">${s}</span></td>` +
      `<td><span class="progress"><i style="width:${j.progress}%"></i></span><span class="pct">${j.progress}%</span></td>` +
      `<td class="num">${hf.duration(jobDuration(j, now))}</td><td class="num">${j.exit_code == null ? "" : j.exit_code}</td>` +
      `<td><a href="#" class="log-link">log</a></td></tr>`;
  }
  function renderTable() {
    const started = performance.now(), now = Date.now() / 1000;
    let html = "";
    for (const j of jobs.values()) html += rowHtml(j, now);
    tbody.innerHTML = html;
    for (const tr of tbody.rows) {
      const j = jobs.get(tr.dataset.job);
      j.row = tr;
      j.badge = tr.cells[1].firstChild;
      j.bar = tr.cells[2].firstChild.firstChild;
      j.pct = tr.cells[2].lastChild;
      j.dur = tr.cells[3];
      j.exit = tr.cells[4];
    }
    applyFilter();
    metrics.tableMs = performance.now() - started;
  }
  function paintRow(j, now) {
    if (!j.row) return;
    j.row.dataset.state = j.state;
    j.badge.dataset.state = j.state;
    j.badge.textContent = j.state;
    j.bar.style.width = j.progress + "%";
    j.pct.textContent = j.progress + "%";
    j.dur.textContent = hf.duration(jobDuration(j, now));
    j.exit.textContent = j.exit_code == null ? "" : j.exit_code;
  }
  function tickDurations() {
    const now = Date.now() / 1000;
    for (const j of jobs.values()) if (ACTIVE.has(j.state) && j.tstart != null) j.dur.textContent = hf.duration(now - j.tstart);
    if (detail) {
      const dur = detail.t1 != null && !running ? detail.t1 - detail.t0 : detail.t0 != null && running ? now - detail.t0 : detail.duration;
      $("wf-duration").textContent = hf.duration(dur);
    }
  }
  function applyFilter() {
    const text = $("job-filter").value.trim().toLowerCase();
    for (const tr of tbody.rows) tr.style.display = !text || tr.dataset.job.toLowerCase().includes(text) ? "" : "none";
  }

  // ---------------------------------------------------------------- graph
  function paintNode(jobName, state) {
    const g = nodes.get(jobName);
    if (!g) return;
    g.dataset.state = state;
    const shape = g.querySelector(".node-shape");
    if (shape && colors[state]) shape.setAttribute("fill", colors[state]);
  }
  async function loadGraph() {
    const fetched = performance.now();
    const text = await (await hf.api(base + "/graph?format=svg&fresh=true")).text();
    metrics.graphFetchMs = performance.now() - fetched;
    const started = performance.now();
    const keep = pz ? pz.view : null;
    graphEl.innerHTML = text;
    const svg = graphEl.querySelector("svg");
    colors = JSON.parse(svg.dataset.stateColors || "{}");
    nodes = new Map();
    for (const g of svg.querySelectorAll("g.node")) nodes.set(g.dataset.job, g);
    for (const j of jobs.values()) if (nodes.has(j.name) && nodes.get(j.name).dataset.state !== j.state) paintNode(j.name, j.state);
    pz = window.panZoom(graphEl, svg);
    if (keep) pz.view = keep;
    if (selected && nodes.get(selected)) nodes.get(selected).classList.add("selected");
    metrics.graphMs = performance.now() - started;
    metrics.nodes = nodes.size;
  }

  // ---------------------------------------------------------------- loading the workflow
  async function loadDetail() {
    const fetched = performance.now();
    detail = await hf.json(base + "?fresh=true");
    metrics.detailFetchMs = performance.now() - fetched;
    const known = new Set(jobs.keys());
    const fresh = detail.jobs.some((j) => !known.has(j.name)) || detail.jobs.length !== jobs.size;
    templated = detail.jobs.some((j) => j.label !== j.name);
    if (fresh) {
      jobs.clear();
      for (const j of detail.jobs) jobs.set(j.name, Object.assign({}, j));
      renderTable();
    } else {
      const now = Date.now() / 1000;
      for (const j of detail.jobs) {
        const mine = jobs.get(j.name);
        Object.assign(mine, { state: j.state, progress: j.progress, tstart: j.tstart, tend: j.tend,
                              exit_code: j.exit_code, label: j.label, attempt: j.attempt });
        paintRow(mine, now);
        paintNode(j.name, j.state);
      }
    }
    lastEvent = Math.max(lastEvent, detail.last_event);
    setRunning(detail.running);
    renderSummary();
    return fresh;
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
  const refreshGraph = throttle(loadGraph, 3000);

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
    let unknown = false;
    for (const [jobName, change] of pending) {
      const j = jobs.get(jobName);
      if (!j) { unknown = true; continue; }
      Object.assign(j, change);
      paintRow(j, now);
      if (change.state) paintNode(jobName, change.state);
    }
    pending.clear();
    renderCounts();
    if (unknown) refreshDetail();
  }
  function onState(ev) {
    const e = JSON.parse(ev.data);
    lastEvent = Math.max(lastEvent, e.id);
    if (!e.job) return;
    const change = { state: e.state };
    if (e.state === "submitted") Object.assign(change, { tstart: null, tend: null, progress: 0, exit_code: null });
    if (e.state === "running") change.tstart = (jobs.get(e.job) || {}).tstart || e.ts;
    if (TERMINAL.has(e.state)) { change.tend = e.ts; if (e.state === "done") change.progress = 100; }
    queue(e.job, change);
    if (TERMINAL.has(e.state)) refreshDetail();
    if (templated) refreshGraph();
  }
  function onProgress(ev) {
    const e = JSON.parse(ev.data);
    lastEvent = Math.max(lastEvent, e.id);
    if (e.job && e.progress != null) queue(e.job, { progress: e.progress });
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
      hf.message($("wf-message"), "Run ended: " + e.state + ".", e.state === "done" ? "ok" : "error");
      setTimeout(() => loadGraph().catch((error) => console.warn(error)), 300); // final labels at once
    }
    renderSummary();
    refreshDetail();
  }
  function connect() {
    const source = new EventSource(base + "/events?after=" + lastEvent);
    source.addEventListener("state", onState);
    source.addEventListener("progress", onProgress);
    source.addEventListener("workflow", onWorkflow);
    source.addEventListener("spec", () => { refreshDetail(); refreshGraph(); });
    source.addEventListener("running", (ev) => { const e = JSON.parse(ev.data); setRunning(e.running); refreshDetail(); });
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

  // ---------------------------------------------------------------- the log viewer
  let logTimer = null, logOffset = 0, logAttempt = null, logFor = null;
  const MAX_LOG = 2 * 1024 * 1024;
  function select(jobName) {
    if (selected && nodes.get(selected)) nodes.get(selected).classList.remove("selected");
    if (selected && jobs.get(selected) && jobs.get(selected).row) jobs.get(selected).row.classList.remove("selected");
    selected = jobName;
    if (nodes.get(jobName)) nodes.get(jobName).classList.add("selected");
    if (jobs.get(jobName) && jobs.get(jobName).row) jobs.get(jobName).row.classList.add("selected");
  }
  async function openLog(jobName) {
    select(jobName);
    clearTimeout(logTimer);
    logFor = jobName; logOffset = 0; logAttempt = null;
    $("log-panel").hidden = false;
    $("log-job").textContent = jobName;
    $("log-text").textContent = "";
    $("log-path").textContent = "";
    try {
      const job = await hf.json(base + "/jobs/" + encodeURIComponent(jobName));
      const last = job.attempts[job.attempts.length - 1];
      $("log-path").textContent = last ? `attempt ${last.number} on ${last.host}: ${last.log}` : "not started yet";
    } catch (error) { $("log-path").textContent = error.message; }
    await readLog(jobName, true);
    $("log-panel").scrollIntoView({ block: "nearest" });
  }
  async function readLog(jobName, first) {
    if (logFor !== jobName) return;
    let chunk;
    try {
      const query = first ? "tail=262144" : "offset=" + logOffset;
      chunk = await hf.json(`${base}/jobs/${encodeURIComponent(jobName)}/log?${query}`);
    } catch (error) {
      $("log-text").textContent += "\n[" + error.message + "]";
      return;
    }
    if (logFor !== jobName) return;
    const pre = $("log-text");
    if (chunk.attempt !== logAttempt && !first) { pre.textContent = ""; }
    logAttempt = chunk.attempt;
    if (chunk.data) {
      pre.appendChild(document.createTextNode(chunk.data));
      if (pre.textContent.length > MAX_LOG) pre.textContent = pre.textContent.slice(-MAX_LOG / 2);
    }
    const badge = $("log-state");
    badge.textContent = chunk.state; badge.dataset.state = chunk.state;
    logOffset = chunk.next_offset;
    if ($("log-follow").checked) pre.scrollTop = pre.scrollHeight;
    if (!chunk.complete) {
      const more = chunk.next_offset < chunk.size;
      logTimer = setTimeout(() => readLog(jobName, false), more ? 50 : 1000);
    }
  }
  $("log-close").addEventListener("click", () => { logFor = null; clearTimeout(logTimer); $("log-panel").hidden = true; });

  // ---------------------------------------------------------------- controls
  $("run-button").addEventListener("click", async () => {
    $("run-button").disabled = true;
    hf.message($("wf-message"), "Starting…");
    try {
      const run = await hf.postJSON(base + "/run", {});
      hf.message($("wf-message"), run.running ? `Running (coordinator pid ${run.pid}).` : `Run finished (exit ${run.exit_code}).`, "ok");
      setRunning(run.running);
      refreshDetail();
    } catch (error) {
      hf.message($("wf-message"), error.message, "error");
      setRunning(running);
    }
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
  $("job-filter").addEventListener("input", applyFilter);
  tbody.addEventListener("click", (event) => {
    const tr = event.target.closest("tr[data-job]");
    if (!tr) return;
    event.preventDefault();
    openLog(tr.dataset.job);
  });
  graphEl.addEventListener("click", (event) => {
    if (graphEl.dataset.justDragged) return;
    const g = event.target.closest("g.node");
    if (g) openLog(g.dataset.job);
  });

  // ---------------------------------------------------------------- start
  (async function start() {
    try {
      await Promise.all([loadDetail(), loadGraph()]);
    } catch (error) {
      hf.message($("wf-message"), error.message, "error");
      if (!detail) { graphEl.innerHTML = ""; return; }
    }
    connect();
    setInterval(tickDurations, 1000);
    requestAnimationFrame(() => setTimeout(() => {
      metrics.readyMs = performance.now();
      metrics.renderMs = metrics.readyMs - t0;
      document.body.dataset.ready = "1";
    }, 0));
  })();
})();
