// The day view: find the moment (timeline and stills), watch it (the player), take it (a
// selection to the second, downloaded as one MP4 or archived). Deep links: ?day=YYYY-MM-DD,
// ?at=<RFC 3339> (that instant, playing, muted), ?from=<time>&to=<time> (that selection).
"use strict";

import * as tf from "./timefmt.js";
import { Player } from "./player.js";
import { Timeline } from "./timeline.js";
import { Changes } from "./changes.js";

const $ = (id) => document.getElementById(id);
const svg = (d) => '<svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true"><path d="' + d + '"/></svg>';
const PLAY = svg("M7 4v16l13-8z");
const PAUSE = svg("M6 4h4v16H6zM14 4h4v16h-4z");
const root = $("day");
const cam = root.dataset.camera;
const csrf = root.dataset.csrf;
const params = new URLSearchParams(location.search);

let day = [0, 0]; // the day shown: [midnight, next midnight] in the zone shown
let spans = [];
let sel = null; // [from, to] ms
let restTimer = null;

const player = new Player($("player"), cam, onTime);
const timeline = new Timeline($("timeline"), { seek: (ms) => player.seek(ms, true), select: setSelection, hover });
const changes = new Changes({ camera: cam, csrf, player, timeline, day: () => day, onMarks: (m) => timeline.setMarks(m) });

function notice(text) {
  $("notice").textContent = text;
  $("notice").hidden = !text;
}

// "/api/1/camera/front.thumbnail.20261123.1436.jpg"
function still(minute, kind) {
  return "/api/1/camera/" + cam + "." + kind + "." + tf.utcMinute(minute) + ".jpg";
}

async function json(url) {
  const r = await fetch(url, { credentials: "same-origin" });
  if (!r.ok) throw new Error(url + ": " + r.status);
  return (await r.json()).payload;
}

// Whether this browser plays MP4 video of RFC 6381 codec string `codec`.
function canPlay(codec) {
  const type = 'video/mp4; codecs="' + codec + '"';
  return Boolean((window.MediaSource && MediaSource.isTypeSupported(type)) || $("player").canPlayType(type));
}

// The camera as cameras.json tells it (sub stream, where previews come from), once.
let info = null;
async function cameraInfo() {
  if (!info) {
    try {
      info = (await json("/api/1/cameras.json")).cameras.find((x) => x.id === cam) || {};
    } catch (_) {
      info = {};
    }
  }
  return info;
}

// The spans of the UTC days that the day shown touches, of stream `id` (the camera's).
async function fetchSpans(id) {
  id = id || cam;
  const dates = new Set();
  for (let t = day[0]; t < day[1]; t += 3600000) dates.add(tf.utcSecond(t).slice(0, 8));
  dates.add(tf.utcSecond(day[1] - 1).slice(0, 8));
  const all = [];
  for (const d of dates) {
    try {
      const p = await json("/api/1/camera/" + id + "/spans.json?date=" + d);
      const base = Date.UTC(+d.slice(0, 4), +d.slice(4, 6) - 1, +d.slice(6, 8)) / 60000;
      for (const s of p.spans) {
        const start = s.start_us / 1000;
        const end = start + s.duration_us / 1000;
        if (end > day[0] && start < day[1]) {
          all.push({ minute: base + Number(s.minute.slice(0, 2)) * 60 + Number(s.minute.slice(2)), start, end, frames: s.frames, bytes: s.bytes, codec: s.codec, remote: !!s.remote, unsynced: !!s.clock_unsynced, repeats: s.repeats || [] });
        }
      }
    } catch (e) {
      notice("Could not load the recordings: " + e.message);
    }
  }
  return all.sort((a, b) => a.start - b.start);
}

// Minutes recorded twice (the clock was set back onto recorded time): both are kept, the
// timeline shows the first, and this line offers the second of each for download.
function showRepeats(repeats) {
  const box = $("repeats");
  box.textContent = "";
  box.hidden = repeats.length === 0;
  if (!repeats.length) return;
  box.append("Recorded twice (the clock was set back; both kept, the timeline shows the first). The second recordings: ");
  repeats.forEach((r, i) => {
    const a = document.createElement("a");
    const start = r.start_us / 1000;
    a.href = r.url;
    a.download = "";
    a.textContent = tf.clock(start) + "–" + tf.clock(start + r.duration_us / 1000);
    if (i) box.append(", ");
    box.append(a);
  });
}

async function load(keepView) {
  $("date").value = tf.isoDay(day[0]);
  const view = timeline.view.slice();
  spans = await fetchSpans();
  // The main stream plays where the browser can play its codec (H.265 in Chromium needs a
  // hardware decoder); elsewhere the sub stream does, and the page says so. Downloads and
  // archives are always the main stream.
  const c = await cameraInfo();
  const cannot = spans.map((s) => s.codec).find((k) => k && !canPlay(k));
  let why = "";
  if (cannot && c.sub) {
    player.camera = c.sub.id;
    player.setSpans(await fetchSpans(c.sub.id));
    root.dataset.playing = "sub";
    why = "Playing the sub stream: this browser cannot play the main stream (" + cannot + "). Downloads are the main stream.";
  } else {
    player.camera = cam;
    player.setSpans(spans);
    root.dataset.playing = "main";
    if (cannot) why = "This browser cannot play this camera's video (" + cannot + "); downloads play in VLC or mpv. An H.264 sub stream (sub_url) would play here.";
  }
  if (c.previews && c.previews.startsWith("none")) why += (why ? " " : "") + "No stills: " + c.previews.slice(6) + ".";
  if (why) notice(why);
  if (!keepView) timeline.setDay(day[0], day[1]);
  else timeline.bounds = day.slice();
  if (keepView) timeline.view = view;
  timeline.setSpans(spans);
  $("nodata").hidden = spans.length > 0;
  $("remotenote").hidden = !spans.some((s) => s.remote);
  showRepeats(spans.flatMap((s) => s.repeats));
  changes.loadTags();
  root.dataset.loaded = String(spans.length);
  render();
}

function render() {
  $("zone").textContent = "times: " + tf.zoneName(day[0]) + " ⇄ " + (tf.zone() === "UTC" ? "local" : "UTC");
  const [a, b] = timeline.view;
  $("viewlabel").textContent = tf.dayName(a) + ", " + tf.clock(a, true) + "–" + tf.clock(b, true) + " " + tf.zoneName(a);
  timeline.render();
  showSelection();
  onTime(player.now());
}

// Where the player is: the clock on the picture, the playhead, the seek bar.
function onTime(now) {
  const playing = player.playing() || Boolean(player.pending && player.pending.play);
  $("play").innerHTML = playing ? PAUSE : PLAY;
  $("play").setAttribute("aria-label", playing ? "pause" : "play");
  timeline.setPlayhead(now);
  if (now === null) {
    $("clock").textContent = spans.length ? "" : "";
    $("pos").textContent = "";
    return;
  }
  $("clock").textContent = tf.instant(now) + (player.rate !== 1 ? "  " + player.rate + "×" : "");
  const [a, b] = seekRange(now);
  $("seek").value = String(Math.round(((now - a) / Math.max(1, b - a)) * 1000));
  $("pos").textContent = tf.clock(now);
  root.dataset.playhead = String(Math.round(now));
  // Keep the playhead in view while playing.
  const [va, vb] = timeline.view;
  if (playing && (now < va || now > vb)) timeline.fit(now, now + (vb - va) / 1.5);
}

// The seek bar covers the selection when the playhead is in it, else the minute shown.
function seekRange(now) {
  if (sel && now >= sel[0] && now <= sel[1]) return sel;
  const s = player.span;
  return s ? [s.start, s.end] : [now, now + 1];
}

$("seek").addEventListener("input", (e) => {
  const now = player.now();
  if (now === null) return;
  const [a, b] = seekRange(now);
  player.seek(a + (Number(e.target.value) / 1000) * (b - a), player.playing());
});

// The still under the pointer: the thumbnail while sweeping, the full preview at rest.
function hover(ms, x) {
  const box = $("hoverbox");
  clearTimeout(restTimer);
  if (ms === null) {
    box.hidden = true;
    return;
  }
  const s = spans.find((sp) => ms >= sp.start - 1000 && ms < sp.end) || null;
  $("hovertime").textContent = tf.clock(ms) + (s && s.unsynced ? " (recorded before the clock was synchronised: the time may be wrong)" : "");
  const img = $("hoverimg");
  if (s) {
    const thumb = still(s.minute, "thumbnail");
    if (!img.src.endsWith(thumb)) img.src = thumb;
    img.hidden = false;
    restTimer = setTimeout(() => { img.src = still(s.minute, "preview"); }, 400);
  } else {
    img.hidden = true;
  }
  box.hidden = false;
  const r = $("timeline").getBoundingClientRect();
  const w = box.offsetWidth;
  box.style.left = Math.min(Math.max(0, x - r.left - w / 2), r.width - w) + "px";
}

// The selection: drawn, in words, its size, its download and its archive.
function setSelection(a, b) {
  sel = a === null ? null : [Math.min(a, b), Math.max(a, b)];
  timeline.setSelection(sel);
  showSelection();
}

function showSelection() {
  const dl = $("download");
  const has = sel !== null && sel[1] > sel[0];
  for (const id of ["archive", "clearsel"]) $(id).hidden = !has;
  dl.hidden = !has;
  if (!has) {
    $("seldur").textContent = "";
    if (document.activeElement !== $("selfrom")) $("selfrom").value = "";
    if (document.activeElement !== $("selto")) $("selto").value = "";
    return;
  }
  const [a, b] = sel;
  if (document.activeElement !== $("selfrom")) $("selfrom").value = tf.clock(a);
  if (document.activeElement !== $("selto")) $("selto").value = tf.clock(b);
  let recorded = 0, size = 0;
  for (const s of spans) {
    const o = Math.min(b, s.end) - Math.max(a, s.start);
    if (o > 0) {
      recorded += o;
      size += s.bytes * (o / (s.end - s.start));
    }
  }
  $("seldur").textContent = tf.duration(b - a) + (recorded < b - a - 1000 ? " (" + tf.duration(recorded) + " recorded)" : "") + ", about " + tf.bytes(size);
  const name = cam + " " + tf.isoDay(a) + " " + tf.clock(a).replace(/:/g, ".") + " to " +
    (tf.isoDay(a) === tf.isoDay(b) ? "" : tf.isoDay(b) + " ") + tf.clock(b).replace(/:/g, ".") + " " + tf.zoneName(a).replace(/[^A-Za-z0-9+-]/g, "") + ".mp4";
  dl.href = "/api/1/camera/" + cam + ".range." + tf.utcSecond(a) + ".to." + tf.utcSecond(b) + ".mp4?name=" + encodeURIComponent(name);
  dl.download = name;
  $("archive").textContent = csrf ? "Archive…" : "Log in to archive";
}

// "14:36:50" (or "14:36") typed into a selection field: that time on the day shown.
function typed(text) {
  const m = /^\s*(\d{1,2}):(\d{2})(?::(\d{2}))?\s*$/.exec(text);
  if (!m) return NaN;
  const [h, mi, s] = [+m[1], +m[2], +(m[3] || 0)];
  if (h > 23 || mi > 59 || s > 59) return NaN;
  const p = tf.parts(day[0]);
  return tf.zone() === "UTC" ? Date.UTC(p.y, p.mo - 1, p.d, h, mi, s) : new Date(p.y, p.mo - 1, p.d, h, mi, s).getTime();
}

for (const [id, end] of [["selfrom", 0], ["selto", 1]]) {
  $(id).addEventListener("change", (e) => {
    const t = typed(e.target.value);
    if (isNaN(t)) {
      notice("“" + e.target.value + "” is not a time: write it as 14:36:50.");
      showSelection();
      return;
    }
    notice("");
    const s = sel ? sel.slice() : [t, t];
    s[end] = t;
    if (s[0] === s[1]) s[1 - end] = t + (end ? -60000 : 60000);
    setSelection(s[0], s[1]);
  });
}

function setEnd(which) {
  const now = player.now();
  if (now === null) return;
  const t = Math.round(now / 1000) * 1000;
  if (!sel) setSelection(which ? t - 60000 : t, which ? t : t + 60000);
  else if (which === 0) setSelection(Math.min(t, sel[1] - 1000), sel[1]);
  else setSelection(sel[0], Math.max(t, sel[0] + 1000));
}

$("setstart").addEventListener("click", () => setEnd(0));
$("setend").addEventListener("click", () => setEnd(1));
$("clearsel").addEventListener("click", () => setSelection(null, null));
$("archive").addEventListener("click", () => {
  if (!csrf) {
    location.href = "/login?next=" + encodeURIComponent(location.pathname + location.search);
    return;
  }
  $("archiveform").hidden = false;
  $("archivenote").focus();
});
$("archivecancel").addEventListener("click", () => { $("archiveform").hidden = true; });
$("archiveform").addEventListener("submit", async (e) => {
  e.preventDefault();
  if (!sel) return;
  const body = new URLSearchParams({ csrf, camera: cam, from: tf.utcSecond(sel[0]), to: tf.utcSecond(sel[1]), note: $("archivenote").value });
  $("archived").textContent = "archiving…";
  const r = await fetch("/api/1/archive", { method: "POST", body, credentials: "same-origin" });
  $("archived").textContent = r.ok ? "kept: see Archives" : "not kept: " + (await r.text());
});

// Controls.
$("play").addEventListener("click", () => player.toggle());
$("back").addEventListener("click", () => (player.playing() ? player.jump(-5000) : player.step(-1)));
$("fwd").addEventListener("click", () => (player.playing() ? player.jump(5000) : player.step(1)));
$("prevmin").addEventListener("click", () => {
  const i = spans.indexOf(player.span);
  if (i > 0) player.seek(spans[i - 1].start, player.playing());
});
$("nextmin").addEventListener("click", () => {
  const i = spans.indexOf(player.span);
  if (i >= 0 && i + 1 < spans.length) player.seek(spans[i + 1].start, player.playing());
});
$("speed").addEventListener("change", (e) => player.setRate(Number(e.target.value)));
$("full").addEventListener("click", () => {
  const v = $("viewer");
  if (document.fullscreenElement) document.exitFullscreen();
  else if (v.requestFullscreen) v.requestFullscreen();
});
$("helpbtn").addEventListener("click", () => { $("help").hidden = !$("help").hidden; });
$("zoomin").addEventListener("click", () => { timeline.zoom(0.5); render(); });
$("zoomout").addEventListener("click", () => { timeline.zoom(2); render(); });
$("zoomday").addEventListener("click", () => { timeline.view = day.slice(); render(); });
$("timeline").addEventListener("wheel", () => render(), { passive: true });
$("zone").addEventListener("click", () => {
  const keep = player.now() ?? (day[0] + day[1]) / 2;
  tf.setZone(tf.zone() === "UTC" ? "local" : "UTC");
  day = tf.dayBounds(keep);
  load(false);
});

function goDay(delta) {
  const mid = (day[0] + day[1]) / 2 + delta * 86400000;
  day = tf.dayBounds(mid);
  history.replaceState(null, "", "?day=" + tf.isoDay(day[0]));
  setSelection(null, null);
  load(false);
}
$("prev").addEventListener("click", () => goDay(-1));
$("next").addEventListener("click", () => goDay(1));
$("date").addEventListener("change", (e) => {
  const t = tf.parseDay(e.target.value);
  if (!isNaN(t)) {
    day = tf.dayBounds(t + 3600000);
    goDay(0);
  }
});

document.addEventListener("keydown", (e) => {
  if (e.target.closest && e.target.closest("input, select, textarea")) return;
  if (e.ctrlKey || e.metaKey || e.altKey) return;
  const playing = player.playing();
  const keys = {
    " ": () => player.toggle(),
    k: () => player.pause(),
    K: () => player.pause(),
    j: () => player.jump(-10000),
    J: () => player.jump(-10000),
    l: () => (playing ? player.setRate(Math.min(8, player.rate * 2)) : player.play()),
    L: () => (playing ? player.setRate(Math.min(8, player.rate * 2)) : player.play()),
    ArrowLeft: () => (playing ? player.jump(-5000) : player.step(-1)),
    ArrowRight: () => (playing ? player.jump(5000) : player.step(1)),
    "[": () => setEnd(0),
    "]": () => setEnd(1),
    Home: () => spans.length && player.seek(spans[0].start, playing),
    End: () => spans.length && player.seek(spans[spans.length - 1].start, playing),
    "+": () => { timeline.zoom(0.5); render(); },
    "=": () => { timeline.zoom(0.5); render(); },
    "-": () => { timeline.zoom(2); render(); },
    "?": () => { $("help").hidden = !$("help").hidden; },
    c: () => changes.draw(),
    C: () => changes.draw(),
    Escape: () => { if (!changes.cancel()) $("help").hidden = true; },
  };
  const f = keys[e.key];
  if (f) {
    e.preventDefault();
    f();
    $("speed").value = String(player.rate);
  }
});

// The camera's state, and whether it is offline.
async function state() {
  try {
    const p = await json("/api/1/cameras.json");
    const c = p.cameras.find((x) => x.id === cam);
    if (!c) return;
    $("state").textContent = c.state;
    $("state").className = "badge " + c.state;
    const off = c.state === "retrying" || c.state === "connecting";
    $("offline").hidden = !off || !c.since;
    if (off && c.since) {
      $("offline").textContent = "Offline since " + tf.instant(Date.parse(c.since)) + (c.last_error ? ": " + c.last_error : "");
    }
  } catch (_) {
    // The next poll tries again.
  }
}

// Follows the day as it is recorded: new minutes appear without a reload.
setInterval(() => {
  if (Date.now() < day[1] + 120000) load(true);
}, 15000);
setInterval(state, 10000);

// A time in a deep link: RFC 3339 (2026-11-23T14:36:50Z, or with an offset).
function instantParam(name) {
  const v = params.get(name);
  if (v === null) return null;
  const ok = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/i.test(v.trim());
  const t = ok ? Date.parse(v.trim().replace(" ", "T")) : NaN;
  return { raw: v, t };
}

async function start() {
  let focus = null;
  const at = instantParam("at");
  const from = instantParam("from");
  const to = instantParam("to");
  const d = tf.parseDay(params.get("day"));
  const now = Date.now();
  const problems = [];
  let want = isNaN(d) ? now : d + 3600000;
  if (params.has("day") && isNaN(d)) problems.push("?day=" + params.get("day") + " is not a day (YYYY-MM-DD)");
  if (at) {
    if (isNaN(at.t)) problems.push("?at=" + at.raw + " is not a time (RFC 3339, such as 2026-11-23T14:36:50Z)");
    else if (at.t > now + 60000) problems.push("?at=" + at.raw + " is in the future");
    else { want = at.t; focus = { at: at.t }; }
  }
  if (from || to) {
    if (!from || !to) problems.push("a selection needs both ?from= and ?to=");
    else if (isNaN(from.t) || isNaN(to.t)) problems.push("?from=" + from.raw + "&to=" + to.raw + " is not a pair of times (RFC 3339)");
    else if (to.t <= from.t) problems.push("the selection ?from=" + from.raw + "&to=" + to.raw + " ends before it starts");
    else if (from.t > now) problems.push("the selection ?from=" + from.raw + " is in the future");
    else { want = from.t; focus = Object.assign(focus || {}, { from: from.t, to: to.t }); }
  }
  day = tf.dayBounds(want);
  notice(problems.length ? problems.join("; ") + ": showing " + tf.dayName(day[0]) + "." : "");
  await load(false);
  state();
  if (focus && focus.from !== undefined) {
    setSelection(Math.round(focus.from / 1000) * 1000, Math.round(focus.to / 1000) * 1000);
    timeline.fit(focus.from, focus.to);
    player.seek(focus.from, false);
  }
  if (focus && focus.at !== undefined) {
    if (!focus.from) timeline.fit(focus.at - 300000, focus.at + 300000);
    if (!player.seek(focus.at, true)) notice("Nothing was recorded at or after " + tf.instant(focus.at) + ".");
  }
  if (!focus && spans.length) {
    // Opened on a day: what was recorded, the newest minute ready to play.
    timeline.fit(spans[0].start, spans[spans.length - 1].end);
    player.seek(spans[spans.length - 1].start, false);
  }
  render();
}

start();
