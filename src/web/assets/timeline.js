// The day view's timeline: a strip of time from a whole day down to two minutes, showing
// what was recorded (and the gaps), the playhead, the selection with its two handles, and
// marks (tags, changes). A mouse drag selects; dragging a handle trims the selection to the
// second; a click plays from there; hovering asks for the still under the pointer. On a
// touch screen one finger scrubs (and plays where it lifts), two fingers zoom; the wheel
// zooms around the pointer and shift+wheel pans.
"use strict";

import * as tf from "./timefmt.js";

const MIN_VIEW = 2 * 60 * 1000;
const DRAG_PX = 4;
// Tick steps, ms: the first that leaves room for its labels is used.
const STEPS = [1, 5, 10, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800].map((s) => s * 1000);

export class Timeline {
  constructor(el, hooks) {
    this.el = el;
    this.hooks = hooks; // {seek(ms), select(from, to), hover(ms|null, x)}
    this.track = el.querySelector(".tl-track");
    this.axis = el.querySelector(".tl-axis");
    this.runs = [];
    this.marks = [];
    this.bounds = [0, 86400000];
    this.view = [0, 86400000];
    this.playhead = null;
    this.sel = null;
    this.drag = null;
    this.touches = new Map();
    this.bind();
  }

  // The day shown (its bounds) and the recorded spans.
  setDay(from, to) {
    this.bounds = [from, to];
    this.view = [from, to];
  }

  setSpans(spans) {
    // Minutes that meet (within 2 s) and are kept in the same place (here, or only in
    // the offload store) are drawn as one run.
    const runs = [];
    for (const s of spans) {
      const last = runs[runs.length - 1];
      const remote = !!s.remote;
      if (last && s.start - last[1] < 2000 && last[2] === remote) last[1] = Math.max(last[1], s.end);
      else runs.push([s.start, s.end, remote]);
    }
    this.runs = runs;
    this.render();
  }

  setMarks(marks) {
    this.marks = marks;
    this.render();
  }

  setPlayhead(ms) {
    this.playhead = ms;
    this.placePlayhead();
  }

  setSelection(sel) {
    this.sel = sel;
    this.render();
  }

  width() {
    return this.track.clientWidth || 1;
  }

  x(ms) {
    const [a, b] = this.view;
    return ((ms - a) / (b - a)) * this.width();
  }

  at(clientX) {
    const r = this.track.getBoundingClientRect();
    const [a, b] = this.view;
    const f = Math.min(1, Math.max(0, (clientX - r.left) / r.width));
    return a + f * (b - a);
  }

  // Rounds to the second (what a selection and a seek are made of).
  second(ms) {
    return Math.round(ms / 1000) * 1000;
  }

  zoom(factor, centre) {
    const [a, b] = this.view;
    const [lo, hi] = this.bounds;
    const c = centre === undefined ? (this.playhead !== null && this.playhead >= a && this.playhead <= b ? this.playhead : (a + b) / 2) : centre;
    let span = Math.min(hi - lo, Math.max(MIN_VIEW, (b - a) * factor));
    let from = c - ((c - a) / (b - a)) * span;
    from = Math.min(Math.max(from, lo), hi - span);
    this.view = [from, from + span];
    this.render();
  }

  pan(fraction) {
    const [a, b] = this.view;
    const [lo, hi] = this.bounds;
    const d = (b - a) * fraction;
    const from = Math.min(Math.max(a + d, lo), hi - (b - a));
    this.view = [from, from + (b - a)];
    this.render();
  }

  // Shows `from..to` (a selection, a moment) with a margin.
  fit(from, to) {
    const [lo, hi] = this.bounds;
    const span = Math.min(hi - lo, Math.max(MIN_VIEW, (to - from) * 1.5));
    let a = (from + to) / 2 - span / 2;
    a = Math.min(Math.max(a, lo), hi - span);
    this.view = [a, a + span];
    this.render();
  }

  render() {
    const w = this.width();
    const [a, b] = this.view;
    const frag = document.createDocumentFragment();
    for (const [s, e, remote] of this.runs) {
      if (e <= a || s >= b) continue;
      const d = document.createElement("div");
      d.className = remote ? "tl-run remote" : "tl-run";
      if (remote) d.title = "in the offload store only";
      const l = Math.max(0, this.x(s));
      d.style.left = l + "px";
      d.style.width = Math.max(1, Math.min(w, this.x(e)) - l) + "px";
      frag.appendChild(d);
    }
    for (const m of this.marks) {
      if (m.at < a || m.at > b) continue;
      const d = document.createElement("button");
      d.type = "button";
      d.className = "tl-mark " + (m.kind || "");
      d.style.left = this.x(m.at) + "px";
      d.title = m.title || "";
      d.setAttribute("aria-label", m.title || "mark");
      d.addEventListener("pointerdown", (e) => e.stopPropagation());
      d.addEventListener("click", (e) => { e.stopPropagation(); if (m.onclick) m.onclick(); });
      frag.appendChild(d);
    }
    if (this.sel) {
      const [s, e] = this.sel;
      const d = document.createElement("div");
      d.className = "tl-sel";
      d.id = "selband";
      const l = this.x(s);
      d.style.left = l + "px";
      d.style.width = Math.max(2, this.x(e) - l) + "px";
      for (const which of ["start", "end"]) {
        const h = document.createElement("div");
        h.className = "tl-handle " + which;
        h.dataset.handle = which;
        h.setAttribute("aria-label", "drag to move the selection's " + which);
        d.appendChild(h);
      }
      frag.appendChild(d);
    }
    const ph = document.createElement("div");
    ph.className = "tl-playhead";
    ph.id = "playhead";
    frag.appendChild(ph);
    this.track.replaceChildren(frag);
    this.placePlayhead();
    this.renderAxis();
  }

  placePlayhead() {
    const ph = this.track.querySelector(".tl-playhead");
    if (!ph) return;
    const [a, b] = this.view;
    const p = this.playhead;
    ph.hidden = p === null || p < a || p > b;
    if (!ph.hidden) ph.style.left = this.x(p) + "px";
  }

  renderAxis() {
    const w = this.width();
    const [a, b] = this.view;
    const step = STEPS.find((s) => (s / (b - a)) * w >= 70) || STEPS[STEPS.length - 1];
    const frag = document.createDocumentFragment();
    // Ticks on round times of the zone shown.
    const off = tf.zone() === "UTC" ? 0 : -new Date(a).getTimezoneOffset() * 60000;
    for (let t = Math.ceil((a + off) / step) * step - off; t <= b; t += step) {
      const d = document.createElement("span");
      d.className = "tl-tick";
      d.style.left = this.x(t) + "px";
      d.textContent = tf.clock(t, step >= 60000);
      frag.appendChild(d);
    }
    this.axis.replaceChildren(frag);
  }

  bind() {
    const t = this.track;
    t.addEventListener("pointerdown", (e) => this.down(e));
    t.addEventListener("pointermove", (e) => this.move(e));
    t.addEventListener("pointerup", (e) => this.up(e));
    t.addEventListener("pointercancel", (e) => this.cancel(e));
    t.addEventListener("pointerleave", (e) => { if (e.pointerType === "mouse" && !this.drag) this.hooks.hover(null); });
    t.addEventListener("wheel", (e) => {
      e.preventDefault();
      if (e.shiftKey || Math.abs(e.deltaX) > Math.abs(e.deltaY)) this.pan((e.deltaX || e.deltaY) > 0 ? 0.2 : -0.2);
      else this.zoom(e.deltaY > 0 ? 1.25 : 0.8, this.at(e.clientX));
    }, { passive: false });
    window.addEventListener("resize", () => this.render());
  }

  down(e) {
    this.touches.set(e.pointerId, e.clientX);
    t_capture(this.track, e);
    if (this.touches.size === 2) {
      // Two fingers: zoom, nothing else.
      const xs = [...this.touches.values()];
      this.drag = { kind: "pinch", dist: Math.abs(xs[0] - xs[1]), view: this.view.slice() };
      return;
    }
    const handle = e.target.dataset && e.target.dataset.handle;
    const ms = this.at(e.clientX);
    if (handle && this.sel) this.drag = { kind: "handle", which: handle, x: e.clientX };
    else if (e.pointerType === "mouse") this.drag = { kind: "press", from: ms, x: e.clientX };
    else this.drag = { kind: "scrub", x: e.clientX };
    if (e.pointerType !== "mouse") this.hooks.hover(ms, e.clientX);
  }

  move(e) {
    if (this.touches.has(e.pointerId)) this.touches.set(e.pointerId, e.clientX);
    const ms = this.at(e.clientX);
    const d = this.drag;
    if (!d) {
      if (e.pointerType === "mouse") this.hooks.hover(ms, e.clientX);
      return;
    }
    if (d.kind === "pinch") {
      const xs = [...this.touches.values()];
      if (xs.length < 2) return;
      const dist = Math.max(10, Math.abs(xs[0] - xs[1]));
      this.view = d.view.slice();
      this.zoom(d.dist / dist, this.at((xs[0] + xs[1]) / 2));
      return;
    }
    if (d.kind === "handle") {
      const s = this.second(ms);
      let [a, b] = this.sel;
      if (d.which === "start") a = Math.min(s, b - 1000);
      else b = Math.max(s, a + 1000);
      this.sel = [a, b];
      this.render();
      this.hooks.select(a, b);
      this.hooks.hover(ms, e.clientX);
      return;
    }
    if (d.kind === "press" && Math.abs(e.clientX - d.x) >= DRAG_PX) d.kind = "select";
    if (d.kind === "select") {
      const [a, b] = [this.second(d.from), this.second(ms)].sort((x, y) => x - y);
      if (b > a) {
        this.sel = [a, b];
        this.render();
        this.hooks.select(a, b);
      }
    }
    this.hooks.hover(ms, e.clientX);
  }

  up(e) {
    const d = this.drag;
    this.touches.delete(e.pointerId);
    if (!d) return;
    if (d.kind === "pinch") {
      if (this.touches.size === 0) this.drag = null;
      return;
    }
    this.drag = null;
    const ms = this.at(e.clientX);
    if (d.kind === "press" || d.kind === "scrub") {
      this.hooks.seek(this.second(ms));
      if (e.pointerType !== "mouse") this.hooks.hover(null);
    }
  }

  cancel(e) {
    this.touches.delete(e.pointerId);
    this.drag = null;
    this.hooks.hover(null);
  }
}

function t_capture(el, e) {
  try {
    el.setPointerCapture(e.pointerId);
  } catch (_) {
    // Synthetic events have no pointer to capture.
  }
}
