/* Zoom (wheel, buttons) and pan (drag) of an SVG inside a container, by its viewBox.
 * Changing the viewBox only repaints: no layout of the (possibly 1,000-node) drawing. */
"use strict";
window.panZoom = function (container, svg) {
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
    const min = 20, max = Math.max(full.w, full.h) * 4;
    const w = Math.min(Math.max(view.w * factor, min), max);
    factor = w / view.w;
    const p = at || { x: view.x + view.w / 2, y: view.y + view.h / 2 };
    view = { x: p.x - (p.x - view.x) * factor, y: p.y - (p.y - view.y) * factor, w: view.w * factor, h: view.h * factor };
    apply();
  }
  function fit() { view = Object.assign({}, full); apply(); }
  /** A readable start: fit when nodes stay legible, else the top of the drawing at scale ~0.6. */
  function start() {
    const box = container.getBoundingClientRect();
    const scale = Math.min(box.width / full.w, box.height / full.h);
    if (scale >= 0.45 || !box.width) { fit(); return; }
    const w = box.width / 0.6, h = box.height / 0.6;
    view = { x: full.x + Math.max(0, (full.w - w) / 2), y: full.y, w, h };
    apply();
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
    zoom, fit,
    get view() { return Object.assign({}, view); },
    set view(v) { view = Object.assign({}, v); apply(); },
  };
};
