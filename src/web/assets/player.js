// The day view's player: one <video> playing the camera's minute files one after another,
// so playback goes on across minutes and skips gaps. Positions are wall-clock times (ms),
// mapped to a minute file and a time in it by the day's spans (exact start and duration of
// every minute, from spans.json).
"use strict";

export class Player {
  constructor(video, camera, onTime) {
    this.video = video;
    this.camera = camera;
    this.onTime = onTime;
    this.spans = [];
    this.span = null; // the span loaded in the video
    this.pending = null; // {ms, play} waiting for the file to load
    this.rate = 1;
    video.muted = true;
    video.playsInline = true;
    video.addEventListener("loadedmetadata", () => this.landed());
    video.addEventListener("timeupdate", () => this.tick());
    video.addEventListener("seeked", () => this.tick());
    video.addEventListener("play", () => this.tick());
    video.addEventListener("pause", () => this.tick());
    video.addEventListener("ended", () => this.next());
    video.addEventListener("error", () => this.failed());
  }

  setSpans(spans) {
    this.spans = spans;
  }

  url(span) {
    const d = new Date(span.minute * 60000);
    const p = (n) => String(n).padStart(2, "0");
    const label = d.getUTCFullYear() + p(d.getUTCMonth() + 1) + p(d.getUTCDate()) + "." + p(d.getUTCHours()) + p(d.getUTCMinutes());
    return "/api/1/camera/" + this.camera + ".preview." + label + ".mp4";
  }

  // The span holding `ms`, else the first one after it.
  find(ms) {
    for (const s of this.spans) {
      if (ms < s.end) return s;
    }
    return null;
  }

  // Wall-clock time of the picture shown, or null.
  now() {
    if (!this.span) return null;
    if (this.pending) return this.pending.ms;
    return this.span.start + this.video.currentTime * 1000;
  }

  playing() {
    return !this.video.paused && !this.video.ended;
  }

  // Shows the picture at `ms` (or the next recorded one), playing if `play`.
  seek(ms, play) {
    const s = this.find(ms);
    if (!s) return false;
    const at = Math.max(ms, s.start);
    if (s !== this.span) {
      this.span = s;
      this.pending = { ms: at, play: play };
      this.video.src = this.url(s);
      this.video.load();
    } else {
      this.video.currentTime = (at - s.start) / 1000;
      if (play) this.play();
    }
    this.tick();
    return true;
  }

  landed() {
    const p = this.pending;
    if (!p || !this.span) return;
    this.pending = null;
    this.video.defaultPlaybackRate = this.rate;
    this.video.playbackRate = this.rate;
    this.video.currentTime = Math.max(0, (p.ms - this.span.start) / 1000);
    if (p.play) this.play();
    this.tick();
  }

  play() {
    if (!this.span) {
      if (this.spans.length) this.seek(this.spans[0].start, true);
      return;
    }
    if (this.pending) {
      this.pending.play = true;
      return;
    }
    const r = this.video.play();
    if (r && r.catch) r.catch(() => {});
  }

  pause() {
    if (this.pending) this.pending.play = false;
    this.video.pause();
  }

  toggle() {
    if (this.playing() || (this.pending && this.pending.play)) this.pause();
    else this.play();
  }

  // The next minute after the one that ended: a gap is skipped, playing on.
  next() {
    if (!this.span) return;
    const i = this.spans.indexOf(this.span);
    const n = this.spans[i + 1];
    if (n) this.seek(n.start, true);
    else this.tick();
  }

  failed() {
    // A minute that cannot be played (deleted meanwhile, not decodable): go on to the next.
    if (this.span) this.next();
  }

  // Frame duration of the minute shown, ms.
  frameMs() {
    const s = this.span;
    if (!s || !s.frames) return 100;
    return (s.end - s.start) / s.frames;
  }

  // Moves by `n` frames (paused).
  step(n) {
    const now = this.now();
    if (now === null) return;
    this.pause();
    const to = now + n * this.frameMs();
    if (n < 0 && this.span && to < this.span.start) {
      const i = this.spans.indexOf(this.span);
      if (i > 0) this.seek(this.spans[i - 1].end - this.frameMs(), false);
      return;
    }
    this.seek(Math.min(to, this.span.end - 1), false);
  }

  // Moves by `ms`, keeping play or pause.
  jump(ms) {
    const now = this.now();
    if (now === null) return;
    this.seek(now + ms, this.playing());
  }

  setRate(r) {
    this.rate = r;
    this.video.defaultPlaybackRate = r;
    this.video.playbackRate = r;
    this.tick();
  }

  tick() {
    this.onTime(this.now());
  }
}
