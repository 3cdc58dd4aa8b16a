// pinvr pages: local-time display everywhere, and the day view (scrub, play, select, download).
"use strict";

function pad(n) { return String(n).padStart(2, "0"); }

// Shows every <time data-utc="seconds"> in the browser's local time.
function localTimes() {
  for (const t of document.querySelectorAll("time[data-utc]")) {
    const d = new Date(Number(t.dataset.utc) * 1000);
    t.textContent = d.toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
    t.title = d.toISOString();
  }
}

// "YYYYMMDD.HHMM" (UTC) of a minute since the epoch.
function utcLabel(minute) {
  const d = new Date(minute * 60000);
  return d.getUTCFullYear() + pad(d.getUTCMonth() + 1) + pad(d.getUTCDate()) + "." +
    pad(d.getUTCHours()) + pad(d.getUTCMinutes());
}

function localClock(minute) {
  const d = new Date(minute * 60000);
  return pad(d.getHours()) + ":" + pad(d.getMinutes());
}

function dayView(root) {
  const cam = root.dataset.camera;
  const $ = (id) => document.getElementById(id);
  const params = new URLSearchParams(location.search);
  const preview = $("preview"), when = $("when");
  // The player is made on first use: a page that only scrubs never creates a media element.
  let player = null;
  const timeline = $("timeline"), strip = $("strip");
  let minutes = [];          // recorded minutes of the local day, ascending
  let recorded = new Set();
  let current = null;        // minute under the pointer or playing
  let selStart = null, selEnd = null;

  function isoDay(d) { return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()); }
  let day = params.get("day") ? new Date(params.get("day") + "T00:00:00") : new Date();
  if (isNaN(day)) day = new Date();
  day = new Date(day.getFullYear(), day.getMonth(), day.getDate());

  function jpg(minute, kind) { return "/api/1/camera/" + cam + "." + kind + "." + utcLabel(minute) + ".jpg"; }
  function mp4(minute) { return "/api/1/camera/" + cam + ".preview." + utcLabel(minute) + ".mp4"; }

  function show(minute) {
    if (minute === current || !recorded.has(minute)) return;
    current = minute;
    if (player) {
      player.pause();
      player.hidden = true;
    }
    preview.hidden = false;
    preview.src = jpg(minute, "preview");
    when.textContent = localClock(minute);
    for (const c of timeline.querySelectorAll(".cur")) c.classList.remove("cur");
    const cell = timeline.querySelector('[data-m="' + minute + '"]');
    if (cell) cell.classList.add("cur");
  }

  function makePlayer() {
    player = document.createElement("video");
    player.id = "player";
    player.controls = true;
    player.playsInline = true;
    preview.after(player);
    player.addEventListener("ended", () => {
      const next = minutes.find((m) => m > current);
      if (next !== undefined) play(next);
    });
    // Self-check (used by the browser test): ?probe=1 plays the first minute, records the
    // video's readyState once data arrived, and pauses so a headless browser can settle.
    player.addEventListener("loadeddata", () => {
      root.dataset.videoReady = String(player.readyState);
      if (params.has("probe")) player.pause();
    });
  }

  function play(minute) {
    if (!recorded.has(minute)) return;
    current = minute;
    if (!player) makePlayer();
    preview.hidden = true;
    player.hidden = false;
    player.src = mp4(minute);
    when.textContent = localClock(minute) + " ▶";
    const p = player.play();
    if (p && p.catch) p.catch(() => {});
    for (const c of timeline.querySelectorAll(".cur")) c.classList.remove("cur");
    const cell = timeline.querySelector('[data-m="' + minute + '"]');
    if (cell) cell.classList.add("cur");
  }

  function fillStrip(hourStart) {
    strip.textContent = "";
    for (let m = hourStart; m < hourStart + 60; m++) {
      if (!recorded.has(m)) continue;
      const img = document.createElement("img");
      img.width = 80; img.height = 45;
      img.src = jpg(m, "thumbnail");
      img.alt = localClock(m);
      img.title = localClock(m);
      img.addEventListener("click", () => play(m));
      strip.appendChild(img);
    }
  }

  function render(start, end) {
    timeline.textContent = "";
    for (let h = start; h < end; h += 60) {
      const row = document.createElement("div");
      row.className = "hour";
      const label = document.createElement("button");
      label.type = "button";
      label.className = "label";
      label.textContent = localClock(h);
      label.addEventListener("click", () => fillStrip(h));
      row.appendChild(label);
      const bar = document.createElement("div");
      bar.className = "bar";
      for (let m = h; m < Math.min(h + 60, end); m++) {
        const c = document.createElement("i");
        c.dataset.m = m;
        if (recorded.has(m)) c.className = "on";
        bar.appendChild(c);
      }
      row.appendChild(bar);
      timeline.appendChild(row);
    }
    $("count").textContent = minutes.length + " minutes recorded";
  }

  function cellAt(e) {
    const el = document.elementFromPoint(e.clientX, e.clientY);
    return el && el.dataset && el.dataset.m ? Number(el.dataset.m) : null;
  }
  let down = null;
  timeline.addEventListener("pointerdown", (e) => {
    down = { x: e.clientX, y: e.clientY };
    if (e.pointerType !== "mouse") timeline.setPointerCapture(e.pointerId);
  });
  timeline.addEventListener("pointermove", (e) => {
    const m = cellAt(e);
    if (m !== null) {
      show(m);
      fillStripFor(m);
    }
  });
  timeline.addEventListener("pointerup", (e) => {
    const m = cellAt(e);
    const moved = down && Math.hypot(e.clientX - down.x, e.clientY - down.y) > 8;
    down = null;
    if (m !== null && !moved) play(m);
  });
  let stripHour = null;
  function fillStripFor(m) {
    const h = m - (((m % 60) + 60) % 60);
    if (h !== stripHour) { stripHour = h; fillStrip(h); }
  }

  function updateSel() {
    const dl = $("download");
    const ar = $("archive");
    ar.hidden = true;
    if (selStart !== null && selEnd !== null && selStart <= selEnd) {
      dl.href = "/api/1/camera/" + cam + ".range." + utcLabel(selStart) + ".to." + utcLabel(selEnd) + ".mp4";
      dl.hidden = false;
      ar.hidden = false;
      $("sel").textContent = localClock(selStart) + " – " + localClock(selEnd);
    } else {
      dl.hidden = true;
      $("sel").textContent = selStart !== null ? "from " + localClock(selStart) : "";
    }
  }
  $("archive").addEventListener("click", async () => {
    if (selStart === null || selEnd === null) return;
    const note = prompt("Note for this archive (optional):", "");
    if (note === null) return;
    const body = new URLSearchParams({ csrf: root.dataset.csrf, camera: cam,
      from: utcLabel(selStart), to: utcLabel(selEnd), note: note });
    $("archived").textContent = "archiving…";
    const r = await fetch("/api/1/archive", { method: "POST", body: body });
    $("archived").textContent = r.ok ? "archived: see Archives" : "not archived: " + (await r.text());
  });
  $("setstart").addEventListener("click", () => { if (current !== null) { selStart = current; updateSel(); } });
  $("setend").addEventListener("click", () => { if (current !== null) { selEnd = current; updateSel(); } });

  async function load() {
    const start = Math.floor(day.getTime() / 60000);
    const next = new Date(day.getFullYear(), day.getMonth(), day.getDate() + 1);
    const end = Math.floor(next.getTime() / 60000);
    $("date").value = isoDay(day);
    const days = new Set();
    for (let m = start; m < end; m += 60) days.add(utcLabel(m).slice(0, 8));
    days.add(utcLabel(end - 1).slice(0, 8));
    const found = [];
    for (const d of days) {
      const r = await fetch("/api/1/cameras/" + d + "?camera_ids=" + encodeURIComponent(cam));
      if (!r.ok) continue;
      const body = await r.json();
      const base = Date.UTC(+d.slice(0, 4), +d.slice(4, 6) - 1, +d.slice(6, 8)) / 60000;
      for (const hhmm of body.payload.cameras[cam].minutes) {
        const m = base + Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(2));
        if (m >= start && m < end) found.push(m);
      }
    }
    minutes = found.sort((a, b) => a - b);
    recorded = new Set(minutes);
    current = null;
    render(start, end);
    if (minutes.length) {
      const last = minutes[minutes.length - 1];
      show(last);
      fillStripFor(last);
      if (params.has("autoplay") || params.has("probe")) play(minutes[0]);
    } else {
      preview.removeAttribute("src");
      when.textContent = "nothing recorded this day";
      strip.textContent = "";
    }
    root.dataset.loaded = String(minutes.length);
  }

  function go(delta) {
    day = new Date(day.getFullYear(), day.getMonth(), day.getDate() + delta);
    history.replaceState(null, "", "?day=" + isoDay(day));
    load();
  }
  $("prev").addEventListener("click", () => go(-1));
  $("next").addEventListener("click", () => go(1));
  $("date").addEventListener("change", (e) => {
    const d = new Date(e.target.value + "T00:00:00");
    if (!isNaN(d)) { day = d; go(0); }
  });
  load();
}

document.addEventListener("DOMContentLoaded", () => {
  localTimes();
  const root = document.getElementById("day");
  if (root) dayView(root);
});
