/* Zoom (wheel, buttons) and pan (drag) of an SVG inside a container, by its viewBox.
 * Changing the viewBox only repaints: no layout of the (possibly 1,000-node) drawing.
 * Labels stay readable: neither the start view nor Fit goes below READABLE scale (a
 * drawing too big for that opens at its top left, and the rest is reached by dragging);
 * the wheel zooms out at most to MIN_SCALE. */
"use strict";
window.panZoom = function (container, svg) {
  const READABLE = 0.85, MIN_SCALE = 0.2, MAX_FIT = 1.6;
  const base = svg.viewBox.baseVal;
  const full = { x: base.x, y: base.y, w: base.width || 1, h: base.height || 1 };
  let view = Object.assign({}, full);
  svg.removeAttribute("width");
  svg.removeAttribute("height");
  svg.setAttribute("preserveAspectRatio", "xMidYMid meet");

  function apply() { svg.setAttribute("viewBox", `${view.x} ${view.y} ${view.w} ${view.h}`); }
  function unitsPerPixel() {
    const box = container.getBoundingClientRect();
    return Math.max(view.w / Math.max(box.width, 1), view.h / Math.max(box.height, 1));
  }
  function toSvg(clientX, clientY) {
    const box = container.getBoundingClientRect(), k = unitsPerPixel();
    const cx = view.x + view.w / 2, cy = view.y + view.h / 2;
    return { x: cx + (clientX - box.left - box.width / 2) * k, y: cy + (clientY - box.top - box.height / 2) * k };
  }
  function zoom(factor, at) {
    const box = container.getBoundingClientRect();
    const min = 20, max = Math.max(Math.min(Math.max(full.w, full.h) * 4, Math.max(box.width, 1) / MIN_SCALE), full.w);
    const w = Math.min(Math.max(view.w * factor, min), max);
    factor = w / view.w;
    const p = at || { x: view.x + view.w / 2, y: view.y + view.h / 2 };
    view = { x: p.x - (p.x - view.x) * factor, y: p.y - (p.y - view.y) * factor, w: view.w * factor, h: view.h * factor };
    apply();
  }
  /** The whole drawing when its labels stay readable so, else its top left at READABLE scale. */
  function fit() {
    const box = container.getBoundingClientRect();
    const scale = Math.min(box.width / full.w, box.height / full.h);
    if (scale > MAX_FIT) {  // a small drawing: centred at MAX_FIT, not blown up
      const w = box.width / MAX_FIT, h = box.height / MAX_FIT;
      view = { x: full.x - (w - full.w) / 2, y: full.y - (h - full.h) / 2, w, h };
      apply();
      return;
    }
    if (scale >= READABLE || !box.width) { view = Object.assign({}, full); apply(); return; }
    const w = box.width / READABLE, h = box.height / READABLE;
    view = { x: full.w < w ? full.x - (w - full.w) / 2 : full.x, y: full.y, w, h };
    apply();
  }
  function start() { fit(); }
  /** Centre the view on a point of the drawing (keeping the scale). */
  function centre(x, y) { view = Object.assign({}, view, { x: x - view.w / 2, y: y - view.h / 2 }); apply(); }
  function scale() {
    const box = container.getBoundingClientRect();
    return Math.min(box.width / view.w, box.height / view.h);
  }

  container.addEventListener("wheel", (event) => {
    event.preventDefault();
    zoom(Math.exp(event.deltaY * 0.0015), toSvg(event.clientX, event.clientY));
  }, { passive: false });

  let drag = null;
  container.addEventListener("pointerdown", (event) => {
    if (event.button !== 0) return;
    drag = { x: event.clientX, y: event.clientY, view: Object.assign({}, view), moved: false, id: event.pointerId };
  });
  container.addEventListener("pointermove", (event) => {
    if (!drag) return;
    const dx = event.clientX - drag.x, dy = event.clientY - drag.y;
    if (!drag.moved && Math.abs(dx) + Math.abs(dy) < 4) return;
    if (!drag.moved) { drag.moved = true; container.setPointerCapture(drag.id); container.classList.add("dragging"); }
    const k = unitsPerPixel();
    view = Object.assign({}, drag.view, { x: drag.view.x - dx * k, y: drag.view.y - dy * k });
    apply();
  });
  function end() {
    if (drag && drag.moved) {
      container.classList.remove("dragging");
      container.dataset.justDragged = "1";
      setTimeout(() => delete container.dataset.justDragged, 0);
    }
    drag = null;
  }
  container.addEventListener("pointerup", end);
  container.addEventListener("pointercancel", end);

  start();
  return {
    zoom, fit, centre, scale,
    get view() { return Object.assign({}, view); },
    set view(v) { view = Object.assign({}, v); apply(); },
  };
};
