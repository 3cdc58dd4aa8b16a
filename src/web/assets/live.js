// Live view: each tile's <video> plays its camera's endless fragmented MP4
// (/api/1/camera/<id>/live.mp4) through Media Source Extensions (ManagedMediaSource where
// the browser has it). It keeps a short buffer and stays at the live edge: a little
// faster when a bit behind, a jump to the edge when far behind. It reconnects by itself
// after a dropped connection, a camera outage or the tab coming back, and says on the
// tile what it is doing; a camera that is offline shows why instead of a frozen picture.
"use strict";

const MS = window.ManagedMediaSource || window.MediaSource;
// Behind the live edge by more than this (s): jump to it.
const JUMP = 1.0;
// Behind by more than this (s): play 10% faster until back.
const HURRY = 0.25;
// Where a jump lands, before the edge (s): room for the next frame to arrive.
const LEAD = 0.12;
// Media kept behind the playing position (s).
const KEEP = 6;
// No data for this long (ms): say so.
const QUIET = 3000;

class Live {
  constructor(tile) {
    this.tile = tile;
    this.camera = tile.dataset.camera;
    // What is played: the camera, or its sub stream (the grid; or a browser that cannot
    // play the main stream's codec, which then says so).
    this.stream = tile.dataset.stream || this.camera;
    this.fallback = tile.dataset.fallback || "";
    this.video = tile.querySelector("video");
    this.msg = tile.querySelector(".tilemsg");
    this.badge = tile.querySelector(".livestate");
    this.lag = tile.querySelector(".lag");
    this.retry = 1000;
    this.run = 0; // counts connections; a stale one stops itself
    this.timer = null;
    this.video.addEventListener("error", () => this.restart("the picture could not be decoded; reconnecting"));
    this.video.addEventListener("waiting", () => this.edge());
    this.start();
  }

  // Shows the tile's state: "live", "connecting", "offline" (with `text`).
  show(state, text) {
    this.tile.dataset.state = state;
    this.badge.textContent = state;
    this.badge.className = "badge livestate " + state;
    this.msg.textContent = text || "";
    this.msg.hidden = !text;
  }

  stop() {
    this.run++;
    clearTimeout(this.timer);
    if (this.abort) this.abort.abort();
    this.abort = null;
    if (this.url) {
      this.video.removeAttribute("src");
      this.video.load();
      URL.revokeObjectURL(this.url);
      this.url = null;
    }
  }

  // Tries again: at once-ish after a stream that played, every 2 s while pinvr says the
  // camera is offline (`offline`), backing off to 10 s while pinvr cannot be reached.
  restart(why, offline) {
    if (document.hidden) return;
    this.stop();
    this.show("connecting", why);
    const wait = offline ? 2000 : this.retry;
    if (!offline) this.retry = Math.min(this.retry * 2, 10000);
    this.timer = setTimeout(() => this.start(), wait);
  }

  async start() {
    this.stop();
    const run = this.run;
    if (!MS) {
      this.show("offline", "This browser has no Media Source Extensions: open the day view for recorded video.");
      return;
    }
    if (this.badge.textContent !== "offline") this.show("connecting", this.msg.textContent);
    this.abort = new AbortController();
    let r;
    try {
      r = await fetch("/api/1/camera/" + this.stream + "/live.mp4", {
        credentials: "same-origin", cache: "no-store", signal: this.abort.signal,
      });
    } catch (e) {
      if (run === this.run) this.restart("cannot reach pinvr; retrying");
      return;
    }
    if (run !== this.run) return;
    if (r.status === 401) {
      location.href = "/login?next=" + encodeURIComponent(location.pathname);
      return;
    }
    if (!r.ok) {
      const text = (await r.text()).trim();
      if (run !== this.run) return;
      this.restart(text || "pinvr answered " + r.status, r.status === 503);
      this.tile.dataset.state = "offline";
      this.badge.textContent = "offline";
      this.badge.className = "badge livestate offline";
      return;
    }
    const mime = 'video/mp4; codecs="' + (r.headers.get("X-Codec") || "avc1.42e01e") + '"';
    if (!MS.isTypeSupported(mime)) {
      const codec = r.headers.get("X-Codec") || "";
      if (this.abort) this.abort.abort();
      if (this.fallback && this.stream !== this.fallback) {
        this.stream = this.fallback;
        this.tile.dataset.showing = "sub";
        this.note = "Showing the sub stream: this browser cannot play the main stream (" + codec + ").";
        this.start();
        return;
      }
      this.show("offline", "This browser cannot play " + codec + " video" +
        (this.camera === this.stream ? "; give the camera a sub stream (H.264) in the config to see it here." : "."));
      return;
    }
    const source = new MS();
    this.url = URL.createObjectURL(source);
    this.video.disableRemotePlayback = true;
    this.video.src = this.url;
    await new Promise((ok) => source.addEventListener("sourceopen", ok, { once: true }));
    if (run !== this.run) return;
    const sb = source.addSourceBuffer(mime);
    sb.mode = "segments";
    const queue = [];
    const pump = () => {
      if (run !== this.run || sb.updating || source.readyState !== "open") return;
      const t = this.video.currentTime;
      const b = sb.buffered;
      if (b.length && t - b.start(0) > KEEP * 2) {
        sb.remove(0, t - KEEP);
        return;
      }
      if (!queue.length) return;
      const n = queue.reduce((a, c) => a + c.length, 0);
      const all = new Uint8Array(n);
      let at = 0;
      for (const c of queue) {
        all.set(c, at);
        at += c.length;
      }
      queue.length = 0;
      try {
        sb.appendBuffer(all);
      } catch (e) {
        this.restart("the browser refused the stream (" + e.name + "); reconnecting");
      }
    };
    sb.addEventListener("updateend", () => {
      this.edge();
      pump();
    });
    sb.addEventListener("error", () => this.restart("the browser could not use the stream; reconnecting"));
    const reader = r.body.getReader();
    let last = Date.now();
    const quiet = setInterval(() => {
      if (run !== this.run) return clearInterval(quiet);
      if (Date.now() - last > QUIET) this.show("connecting", "no picture for " + Math.round((Date.now() - last) / 1000) + " s; waiting for the camera");
    }, 1000);
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (run !== this.run) return;
        if (done) break;
        last = Date.now();
        queue.push(value);
        pump();
      }
    } catch (e) {
      if (run !== this.run) return;
    } finally {
      clearInterval(quiet);
    }
    if (run === this.run) this.restart("the stream ended; reconnecting");
  }

  // Keeps the picture at the live edge and says how far behind it is.
  edge() {
    const v = this.video;
    const b = v.buffered;
    if (!b.length) return;
    const end = b.end(b.length - 1);
    const behind = end - v.currentTime;
    if (behind > JUMP || v.currentTime < b.start(b.length - 1)) {
      v.currentTime = Math.max(b.start(b.length - 1), end - LEAD);
    }
    v.playbackRate = behind > HURRY ? 1.1 : 1;
    if (v.paused) v.play().catch(() => {});
    if (v.readyState >= 2 && this.tile.dataset.state !== "live") {
      this.retry = 1000;
      this.show("live", this.note || "");
    }
    this.tile.dataset.behind = behind.toFixed(3);
    this.lag.textContent = behind > 0.5 ? behind.toFixed(1) + " s behind" : "";
  }
}

const players = [...document.querySelectorAll("#live .tile")].map((t) => new Live(t));

// A hidden tab stops streaming (no bandwidth for nobody); coming back reconnects.
document.addEventListener("visibilitychange", () => {
  for (const p of players) {
    if (document.hidden) p.stop();
    else p.start();
  }
});
window.addEventListener("online", () => players.forEach((p) => p.start()));

// "What just happened?": the day view, a minute ago, playing.
for (const a of document.querySelectorAll("#live a[data-just]")) {
  a.addEventListener("click", (e) => {
    e.preventDefault();
    const at = new Date(Date.now() - 60000).toISOString().replace(/\.\d+Z$/, "Z");
    location.href = a.getAttribute("href") + "?at=" + encodeURIComponent(at);
  });
}
