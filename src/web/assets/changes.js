// "What changed here?": draw a rectangle on the picture, and the change search lists when
// that part of the picture settled into a new look (changes.json, streamed with progress),
// with stills before and after, as marks on the timeline. A result plays from 10 s before
// it, and can be kept as a tag. The day's tags are marks on the timeline too.
"use strict";

import * as tf from "./timefmt.js";

const $ = (id) => document.getElementById(id);

export class Changes {
  constructor({ camera, csrf, player, timeline, day, onMarks }) {
    this.camera = camera;
    this.csrf = csrf;
    this.player = player;
    this.timeline = timeline;
    this.day = day; // () => [from, to] ms of the day shown
    this.onMarks = onMarks;
    this.changeMarks = [];
    this.tagMarks = [];
    this.drag = null;
    this.abort = null;
    $("findchange").addEventListener("click", () => this.draw());
    const layer = $("drawlayer");
    layer.addEventListener("pointerdown", (e) => this.down(e));
    layer.addEventListener("pointermove", (e) => this.move(e));
    layer.addEventListener("pointerup", (e) => this.up(e));
  }

  marks() {
    return this.tagMarks.concat(this.changeMarks);
  }

  // Draw mode: the player pauses and the picture takes a rectangle.
  draw() {
    this.player.pause();
    $("drawlayer").hidden = false;
    $("regionbox").hidden = true;
    $("changes").hidden = false;
    $("changestatus").textContent = "Draw a rectangle on the picture around what to watch (Esc cancels).";
  }

  cancel() {
    if ($("drawlayer").hidden) return false;
    $("drawlayer").hidden = true;
    $("changestatus").textContent = "";
    return true;
  }

  // The picture's own box inside the video element (it is letterboxed).
  picture() {
    const v = this.player.video;
    const r = v.getBoundingClientRect();
    const vw = v.videoWidth || 16, vh = v.videoHeight || 9;
    const scale = Math.min(r.width / vw, r.height / vh);
    const w = vw * scale, h = vh * scale;
    return { left: r.left + (r.width - w) / 2, top: r.top + (r.height - h) / 2, width: w, height: h };
  }

  frac(e) {
    const p = this.picture();
    return { x: Math.min(1, Math.max(0, (e.clientX - p.left) / p.width)), y: Math.min(1, Math.max(0, (e.clientY - p.top) / p.height)) };
  }

  down(e) {
    e.preventDefault();
    try { $("drawlayer").setPointerCapture(e.pointerId); } catch (_) { /* synthetic */ }
    this.drag = { a: this.frac(e), b: this.frac(e) };
    this.show();
  }

  move(e) {
    if (!this.drag) return;
    this.drag.b = this.frac(e);
    this.show();
  }

  up(e) {
    if (!this.drag) return;
    this.drag.b = this.frac(e);
    const r = this.rect();
    this.drag = null;
    if (r.w < 0.02 || r.h < 0.03) {
      $("changestatus").textContent = "That rectangle is too small: draw a larger one.";
      return;
    }
    $("drawlayer").hidden = true;
    this.search(r);
  }

  rect() {
    const { a, b } = this.drag;
    return { x: Math.min(a.x, b.x), y: Math.min(a.y, b.y), w: Math.abs(a.x - b.x), h: Math.abs(a.y - b.y) };
  }

  show() {
    const box = $("regionbox");
    const p = this.picture();
    const v = $("viewer").getBoundingClientRect();
    const r = this.rect();
    box.hidden = false;
    box.style.left = (p.left - v.left + r.x * p.width) + "px";
    box.style.top = (p.top - v.top + r.y * p.height) + "px";
    box.style.width = (r.w * p.width) + "px";
    box.style.height = (r.h * p.height) + "px";
  }

  async search(r) {
    if (this.abort) this.abort.abort();
    this.abort = new AbortController();
    const [from, to] = this.day();
    const region = [r.x, r.y, r.w, r.h].map((n) => n.toFixed(4)).join(",");
    const url = "/api/1/camera/" + this.camera + "/changes.json?from=" + tf.utcMinute(Math.floor(from / 60000)) +
      "&to=" + tf.utcMinute(Math.floor((to - 1) / 60000)) + "&region=" + region + "&stream=1";
    $("changestatus").textContent = "Looking…";
    $("changelist").replaceChildren();
    this.region = region;
    let payload = null;
    try {
      const res = await fetch(url, { credentials: "same-origin", signal: this.abort.signal });
      if (!res.ok) {
        $("changestatus").textContent = "The search failed: " + (await res.text());
        return;
      }
      const reader = res.body.getReader();
      const dec = new TextDecoder();
      let buf = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += dec.decode(value, { stream: true });
        let nl;
        while ((nl = buf.indexOf("\n")) >= 0) {
          const line = JSON.parse(buf.slice(0, nl));
          buf = buf.slice(nl + 1);
          if (line.progress) {
            const p = line.progress;
            $("changestatus").textContent = p.reading !== undefined ? "Looking at minute " + p.reading + " of " + p.of + "…" : "Finding the moment of change " + (p.refining + 1) + " of " + p.of + "…";
          }
          if (line.payload) payload = line.payload;
        }
      }
    } catch (e) {
      if (e.name !== "AbortError") $("changestatus").textContent = "The search failed: " + e.message;
      return;
    }
    if (payload) this.results(payload);
  }

  results(p) {
    const list = $("changelist");
    const n = p.changes.length;
    $("changestatus").textContent = (n ? n + (n === 1 ? " change" : " changes") : "No change") + " in the rectangle, " +
      p.checked + " minutes compared" + (p.skipped ? ", " + p.skipped + " without a still" : "") +
      (p.capped ? " (only the first " + p.refine_cap + " placed to the second)" : "") + ".";
    this.changeMarks = [];
    for (const c of p.changes) {
      const at = Date.parse(c.start);
      const li = document.createElement("li");
      li.className = "change";
      const when = document.createElement("button");
      when.type = "button";
      when.className = "when-btn";
      when.textContent = tf.clock(at) + (c.end ? " – " + tf.clock(Date.parse(c.end)) : " – now");
      when.title = "play from 10 s before";
      when.addEventListener("click", () => this.watch(at));
      const imgs = document.createElement("span");
      imgs.className = "pair";
      for (const [src, alt] of [[c.before, "before"], [c.after, "after"]]) {
        const i = document.createElement("img");
        i.src = src.replace(".preview.", ".thumbnail.");
        i.alt = alt;
        i.width = 96; i.height = 54;
        imgs.appendChild(i);
      }
      const tag = document.createElement("button");
      tag.type = "button";
      tag.textContent = this.csrf ? "Tag it" : "Log in to tag";
      tag.addEventListener("click", () => this.tag(c, tag));
      li.append(when, imgs, tag);
      list.appendChild(li);
      this.changeMarks.push({ at, kind: "change", title: "changed at " + tf.clock(at), onclick: () => this.watch(at) });
    }
    this.onMarks(this.marks());
  }

  watch(at) {
    this.player.seek(at - 10000, true);
    this.timeline.fit(at - 60000, at + 60000);
  }

  async tag(c, button) {
    if (!this.csrf) {
      location.href = "/login?next=" + encodeURIComponent(location.pathname + location.search);
      return;
    }
    const body = JSON.stringify({ camera: this.camera, start: c.start, end: c.end || undefined, label: "change", note: "region " + this.region });
    const r = await fetch("/api/1/tags", { method: "POST", body, credentials: "same-origin", headers: { "Content-Type": "application/json", "X-CSRF-Token": this.csrf } });
    button.textContent = r.ok ? "Tagged" : "Not tagged: " + (await r.text());
    button.disabled = r.ok;
    if (r.ok) this.loadTags();
  }

  async loadTags() {
    const [from, to] = this.day();
    try {
      const r = await fetch("/api/1/tags.json?camera=" + this.camera + "&from=" + tf.utcMinute(Math.floor(from / 60000)) + "&to=" + tf.utcMinute(Math.floor((to - 1) / 60000)), { credentials: "same-origin" });
      if (!r.ok) return;
      const tags = (await r.json()).payload.tags;
      this.tagMarks = tags.map((t) => ({ at: Date.parse(t.start), kind: "tag", title: t.label + (t.note ? ": " + t.note : "") + " (" + tf.clock(Date.parse(t.start)) + ")", onclick: () => this.player.seek(Date.parse(t.start), true) }));
      this.onMarks(this.marks());
    } catch (_) {
      // Tags are a help, not the page: the next load tries again.
    }
  }
}
