"""The web UI at 1,000 and 10,000 jobs, in headless Chromium at 1280 px: families grouped
with live per-state counts, the triage table (filter, sort, virtualised rows), no sideways
overflow, the log viewer over the page, run history with a timeline, and rerun-failed.

Timings are not asserted here (``benchmarks/ui_scale.py`` measures them); what is asserted
could fail: counts, rows, widths, which jobs ran again."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from scaleflows import fanout, layered

from servicesupport import LiveService, wait_for
from uisupport import login

WIDE = {"width": 1280, "height": 900}
#: elements that stick out of the viewport sideways (inside an SVG, the graph clips them)
OVERFLOW_JS = """() => {
  const width = document.documentElement.clientWidth;
  const out = [];
  for (const el of document.querySelectorAll('body *')) {
    if (el.closest('svg') || el.closest('[hidden]')) continue;
    const box = el.getBoundingClientRect();
    if (box.width && (box.right > width + 1 || box.left < -1)) out.push(el.tagName + '#' + el.id + '.' + el.className);
  }
  for (const id of ['jobs-wrap', 'timeline']) {
    const el = document.getElementById(id);
    if (el.scrollWidth > el.clientWidth + 1) out.push('scrolls sideways: ' + id);
  }
  if (document.documentElement.scrollWidth > width + 1) out.push('page scrolls sideways');
  return out;
}"""


@pytest.fixture
def wide(browser: Any, service: LiveService) -> Any:
    context = browser.new_context(viewport=WIDE)
    page = context.new_page()
    page.set_default_timeout(60_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    yield page
    context.close()
    assert not errors, errors


def _add(service: LiveService, name: str, text: str) -> None:
    with httpx.Client(base_url=service.url, headers=service.auth, timeout=120) as client:
        answer = client.post("/api/v1/workflows", params={"name": name}, content=text.encode())
        assert answer.status_code == 201, answer.text


def _counts(page: Any, group: str) -> dict[str, int]:
    return json.loads(page.get_attribute(f'#graph g.node.group[data-group="{group}"]', "data-counts") or "{}")


def _until(page: Any, expression: str, timeout: float = 60) -> None:
    """Wait until a JavaScript expression is true (the page's CSP forbids wait_for_function's eval)."""
    wait_for(lambda: page.evaluate(expression), timeout, 0.05, what=expression)


def _open(page: Any, service: LiveService, name: str) -> None:
    login(page, service, f"/workflows/{name}")
    page.wait_for_selector("body[data-ready='1']", timeout=120_000)


def test_thousand_jobs_grouped_live_counts_triage_and_rerun_failed(
        wide: Any, service: LiveService, tmp_path: Path, artifacts: Path) -> None:
    page = wide
    flag = tmp_path / "fixed"
    _add(service, "fan1k", fanout(1000, fail="part500", flag=flag, payload="sleep 0.05"))
    _open(page, service, "fan1k")
    group = "fam:part[1-1000]"
    assert page.locator("#graph g.node").count() == 3  # start, the family, end: not 1,002 boxes
    assert page.get_attribute(f'#graph g.node.group[data-group="{group}"]', "data-total") == "1000"
    assert _counts(page, group) == {"ready": 1000}
    assert page.locator("#jobs tbody tr[data-job]").count() < 120  # virtualised: only rows in view exist
    assert page.inner_text("#jobs-count") == "1002 jobs"
    assert page.evaluate(OVERFLOW_JS) == []
    # the text is readable: the family's label is drawn at 10 px or more on screen
    label = page.locator(f'#graph g.node.group[data-group="{group}"] .g-label').bounding_box()
    assert label["height"] >= 10

    page.click("#run-button")
    samples, worst = [], 0.0
    while True:
        probe = time.monotonic()
        counts = _counts(page, group)
        worst = max(worst, time.monotonic() - probe)
        samples.append(counts)
        assert sum(counts.values()) == 1000, counts
        if page.get_attribute("#wf-state", "data-state") == "failed" and counts.get("done") == 999:
            break
        assert len(samples) < 2000, samples[-1]
        time.sleep(0.1)
    assert any(0 < s.get("done", 0) < 999 for s in samples), "no sample caught the run half way"
    assert worst < 2.0, f"the page was blocked {worst:.2f} s while counting"
    done = [s.get("done", 0) for s in samples]
    assert done == sorted(done)  # counts only move forward
    assert _counts(page, group) == {"failed": 1, "done": 999}
    assert page.get_attribute(f'#graph g.node.group[data-group="{group}"]', "data-state") == "failed"
    assert page.get_attribute('#graph g.node[data-job="end"]', "data-state") == "skipped"
    # failed first by default: the failed job tops the table without any filter
    _until(page, "document.querySelector('#jobs tbody tr[data-job]').dataset.state === 'failed'")
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(artifacts / "09-thousand-failed.png"))
    assert page.get_attribute("#jobs tbody tr[data-job]", "data-job") == "part500"
    page.fill("#job-filter", "failed")
    _until(page, "document.getElementById('jobs-count').textContent === '1 of 1002 jobs'")
    assert page.locator("#jobs tbody tr[data-job]").all_inner_texts()[0].startswith("part500")
    page.fill("#job-filter", "nothing-like-this")
    assert "No job matches" in page.inner_text("#jobs-empty")
    page.fill("#job-filter", "")
    page.select_option("#state-filter", "skipped")
    assert [r.get_attribute("data-job") for r in page.locator("#jobs tbody tr[data-job]").all()] == ["end"]
    page.select_option("#state-filter", "")
    page.click('#jobs thead th[data-sort="name"]')  # sort by name: part1, part10, ...
    assert page.get_attribute("#jobs tbody tr[data-job]", "data-job") == "end"
    # the log viewer lies over the page: the table does not move, nothing overflows
    before = page.locator("#jobs-wrap").bounding_box()
    page.fill("#job-filter", "part500")
    page.click('#jobs tbody tr[data-job="part500"]')
    page.wait_for_selector("#log-panel:not([hidden])")
    wait_for(lambda: "found no" in page.inner_text("#log-text"), 15, what="part500's log")
    assert page.locator("#jobs-wrap").bounding_box() == before
    page.fill("#log-search", "found no")
    assert page.locator("#log-text mark").count() == 1 and page.inner_text("#log-hits") == "1 match"
    assert page.get_attribute("#log-download", "href").endswith("/jobs/part500/log/download")
    assert page.evaluate(OVERFLOW_JS) == []
    page.screenshot(path=str(artifacts / "10-thousand-failed-log.png"))
    page.click("#log-close")

    # fix the cause, then "Rerun failed": only part500 and its dependant run again
    flag.touch()
    page.click("#rerun-failed-button")
    page.wait_for_selector("#wf-state[data-state='done']", timeout=120_000)
    wait_for(lambda: _counts(page, group) == {"done": 1000}, 30, what="the family to show 1000 done")
    with httpx.Client(base_url=service.url, headers=service.auth) as client:
        runs = client.get("/api/v1/workflows/fan1k/runs").json()
        assert [(r["number"], r["state"], r["options"]["rerun"]) for r in runs] == [(2, "done", "failed"),
                                                                                    (1, "failed", "default")]
        again = client.get("/api/v1/workflows/fan1k/runs/2").json()["attempts"]
    assert sorted(a["job"] for a in again) == ["end", "part500"]
    # run history and the timeline of the run shown
    _until(page, "document.querySelectorAll('#runs tbody tr').length === 2")
    _until(page, "document.querySelectorAll('#timeline rect.bar').length === 2")
    assert page.locator("#timeline rect.bar[data-job='part500']").count() == 1
    page.click("#runs tbody tr[data-run='1']")
    _until(page, "document.getElementById('timeline').dataset.jobs === '1001'")  # every job of run 1
    assert "1001 jobs" in page.inner_text("#timeline")
    drawn = page.locator("#timeline rect.bar").count()
    assert 0 < drawn < 100, drawn  # virtualised: only the rows in view (and a margin) are drawn
    assert page.get_attribute("#timeline rect.bar[data-job='part1']", "data-host") == "localhost"
    page.evaluate("document.querySelector('#timeline .gantt-scroll').scrollTop = 1e9")
    _until(page, "document.querySelector(\"#timeline rect.bar[data-job='part999']\") !== null")
    assert page.locator("#timeline rect.bar[data-job='part1']").count() == 0
    assert page.evaluate(OVERFLOW_JS) == []
    page.screenshot(path=str(artifacts / "11-thousand-rerun-timeline.png"), full_page=True)
    # the family filters the table; a click on a single job opens its log
    page.fill("#job-filter", "")
    page.click(f'#graph g.node.group[data-group="{group}"]')
    _until(page, "document.getElementById('jobs-count').textContent === '1000 of 1002 jobs'")
    assert page.is_visible("#group-filter")
    assert "too many to draw one by one" in page.inner_text("#wf-message")  # 1,000 stay one node
    assert page.locator("#graph g.node").count() == 3


def test_a_clicked_family_expands_in_the_graph_and_collapses_again(
        wide: Any, service: LiveService, artifacts: Path) -> None:
    page = wide
    _add(service, "fan40", fanout(40))
    _open(page, service, "fan40")
    group = "fam:part[1-40]"
    assert page.locator("#graph g.node").count() == 3
    page.click(f'#graph g.node.group[data-group="{group}"]')
    _until(page, "document.querySelectorAll('#graph g.node.member').length === 40")
    assert page.locator("#graph g.node.group").count() == 0
    assert page.get_attribute('#graph g.node[data-job="part7"]', "data-family") == group
    assert page.inner_text("#jobs-count") == "40 of 42 jobs"
    assert "part[1-40] expanded" in page.inner_text("#graph-note")
    page.screenshot(path=str(artifacts / "13-family-expanded.png"))
    page.click('#graph g.node[data-job="part7"]')  # a member is a job: its log opens
    page.wait_for_selector("#log-panel:not([hidden])")
    assert page.inner_text("#log-job") == "part7"
    page.click("#log-close")
    page.click("#group-filter")  # the chip collapses the family and clears the filter
    _until(page, "document.querySelectorAll('#graph g.node').length === 3")
    assert page.locator(f'#graph g.node.group[data-group="{group}"]').count() == 1
    assert page.inner_text("#jobs-count") == "42 jobs"
    assert page.evaluate(OVERFLOW_JS) == []


def test_ten_thousand_jobs_open_grouped_and_scroll(wide: Any, service: LiveService, artifacts: Path) -> None:
    page = wide
    _add(service, "wide10k", layered(20, 500))
    started = time.monotonic()
    _open(page, service, "wide10k")
    metrics = page.evaluate("window.hfMetrics")
    print("10,000 jobs: page ready after", round(metrics["readyMs"]), "ms in page,",
          round((time.monotonic() - started) * 1000), "ms with login")
    assert page.locator("#graph g.node.group").count() == 20 and page.locator("#graph g.node").count() == 20
    assert _counts(page, "fam:s00_[1-500]") == {"ready": 500}
    assert page.locator("#jobs tbody tr[data-job]").count() < 120
    assert page.inner_text("#jobs-count") == "10000 jobs"
    # zoom and pan the grouped graph (by its viewBox)
    before = page.get_attribute("#graph svg", "viewBox")
    page.click("#zoom-in")
    zoomed = page.get_attribute("#graph svg", "viewBox")
    assert float(zoomed.split()[2]) < float(before.split()[2])
    box = page.locator("#graph").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2 - 200, box["y"] + box["height"] / 2 - 100, steps=5)
    page.mouse.up()
    panned = page.get_attribute("#graph svg", "viewBox")
    assert panned.split()[:2] != zoomed.split()[:2] and panned.split()[2] == zoomed.split()[2]
    page.mouse.wheel(0, 400)
    assert float(page.get_attribute("#graph svg", "viewBox").split()[2]) > float(panned.split()[2])
    page.click("#zoom-fit")
    assert page.get_attribute("#graph svg", "viewBox") == before
    page.evaluate("document.getElementById('jobs-wrap').scrollTop = 1e9")
    page.wait_for_selector('#jobs tbody tr[data-job="s19_500"]')
    page.fill("#job-filter", "s07_42")
    _until(page, "document.getElementById('jobs-count').textContent.startsWith('11 of')")  # 42, 420-429
    assert page.evaluate(OVERFLOW_JS) == []
    page.screenshot(path=str(artifacts / "12-ten-thousand.png"))
