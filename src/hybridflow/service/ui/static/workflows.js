/* The workflows page: the list (refreshed every 2 s) and the upload form. */
"use strict";
(function () {
  const body = document.querySelector("#workflows tbody");
  const refreshed = document.getElementById("refreshed");

  function row(wf) {
    const now = Date.now() / 1000;
    const dur = wf.duration != null ? wf.duration : (wf.running && wf.t0 ? now - wf.t0 : null);
    const name = hf.esc(wf.name);
    return `<tr data-name="${name}"><td><a href="/workflows/${encodeURIComponent(wf.name)}">${name}</a></td>` +
      `<td><span class="badge" data-state="${hf.esc(wf.state)}">${hf.esc(wf.state)}</span></td>` +
      `<td class="num">${wf.job_count}</td><td class="counts">${hf.countBadges(wf.counts)}</td>` +
      `<td>${hf.time(wf.t0)}</td><td class="num">${hf.duration(dur)}</td></tr>`;
  }

  async function load() {
    try {
      const list = await hf.json("/api/v1/workflows");
      body.innerHTML = list.length ? list.map(row).join("") :
        '<tr><td colspan="6" class="muted">No workflows yet: upload one below.</td></tr>';
      refreshed.textContent = "updated " + new Date().toLocaleTimeString();
    } catch (error) {
      refreshed.textContent = "update failed: " + error.message;
    }
  }

  const form = document.getElementById("upload-form");
  const note = document.getElementById("upload-message");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const file = document.getElementById("upload-file").files[0];
    if (!file) return;
    const params = new URLSearchParams({ filename: file.name });
    const name = document.getElementById("upload-name").value.trim();
    if (name) params.set("name", name);
    if (document.getElementById("upload-replace").checked) params.set("replace", "true");
    const yaml = /\.ya?ml$/i.test(file.name);
    hf.message(note, "Uploading " + file.name + "…");
    try {
      const wf = await hf.json("/api/v1/workflows?" + params, {
        method: "POST", body: file,
        headers: { "Content-Type": yaml ? "application/yaml" : "application/octet-stream" },
      });
      hf.message(note, `Stored workflow ${wf.name} (${wf.job_count} jobs).`, "ok");
      note.innerHTML += ` <a href="/workflows/${encodeURIComponent(wf.name)}" id="open-uploaded">Open it</a>`;
      form.reset();
      load();
    } catch (error) {
      hf.message(note, error.message, "error");
    }
  });

  load();
  setInterval(load, 2000);
})();
