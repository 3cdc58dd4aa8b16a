// pinvr's one way of writing times, in the browser's zone (with the zone's name) or in UTC:
// "14:36:50" for a time, "Mon 23 Nov 2026" for a day, and both with the zone for an instant.
// The choice of zone is kept in localStorage ("pinvr.zone": "local" or "UTC").
"use strict";

const KEY = "pinvr.zone";

export function zone() {
  try {
    return localStorage.getItem(KEY) === "UTC" ? "UTC" : "local";
  } catch (_) {
    return "local";
  }
}

export function setZone(z) {
  try {
    localStorage.setItem(KEY, z);
  } catch (_) {
    // Private mode: the choice lasts this page only.
  }
  document.dispatchEvent(new CustomEvent("pinvr-zone"));
}

function opts(extra) {
  const o = Object.assign({ hourCycle: "h23" }, extra);
  if (zone() === "UTC") o.timeZone = "UTC";
  return o;
}

// "14:36:50" (or "14:36" when `minutes` is true).
export function clock(ms, minutes) {
  const o = { hour: "2-digit", minute: "2-digit" };
  if (!minutes) o.second = "2-digit";
  return new Intl.DateTimeFormat("en-GB", opts(o)).format(new Date(ms));
}

// "Mon 23 Nov 2026".
export function dayName(ms) {
  return new Intl.DateTimeFormat("en-GB", opts({ weekday: "short", day: "numeric", month: "short", year: "numeric" }))
    .format(new Date(ms)).replace(/,/g, "");
}

// The zone's short name at `ms`: "CET", "GMT+1", "UTC".
export function zoneName(ms) {
  if (zone() === "UTC") return "UTC";
  const parts = new Intl.DateTimeFormat("en-GB", { timeZoneName: "short" }).formatToParts(new Date(ms));
  const p = parts.find((x) => x.type === "timeZoneName");
  return p ? p.value : "local time";
}

// "Mon 23 Nov 2026 14:36:50 CET".
export function instant(ms) {
  return dayName(ms) + " " + clock(ms) + " " + zoneName(ms);
}

// Parts of `ms` in the chosen zone: {y, mo, d, h, mi, s}.
export function parts(ms) {
  const d = new Date(ms);
  if (zone() === "UTC") {
    return { y: d.getUTCFullYear(), mo: d.getUTCMonth() + 1, d: d.getUTCDate(), h: d.getUTCHours(), mi: d.getUTCMinutes(), s: d.getUTCSeconds() };
  }
  return { y: d.getFullYear(), mo: d.getMonth() + 1, d: d.getDate(), h: d.getHours(), mi: d.getMinutes(), s: d.getSeconds() };
}

// Midnight (in the chosen zone) of the day holding `ms`, and of the next day.
export function dayBounds(ms) {
  const p = parts(ms);
  if (zone() === "UTC") {
    const a = Date.UTC(p.y, p.mo - 1, p.d);
    return [a, Date.UTC(p.y, p.mo - 1, p.d + 1)];
  }
  return [new Date(p.y, p.mo - 1, p.d).getTime(), new Date(p.y, p.mo - 1, p.d + 1).getTime()];
}

// "2026-11-23" of the day holding `ms`.
export function isoDay(ms) {
  const p = parts(ms);
  return p.y + "-" + pad(p.mo) + "-" + pad(p.d);
}

// Midnight of "2026-11-23" in the chosen zone, or NaN.
export function parseDay(s) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s || "");
  if (!m) return NaN;
  const [y, mo, d] = [+m[1], +m[2], +m[3]];
  const t = zone() === "UTC" ? Date.UTC(y, mo - 1, d) : new Date(y, mo - 1, d).getTime();
  return parts(t).d === d ? t : NaN;
}

export function pad(n) {
  return String(n).padStart(2, "0");
}

// "YYYYMMDD.HHMMSS" (UTC) of a time, for the API.
export function utcSecond(ms) {
  const d = new Date(ms);
  return d.getUTCFullYear() + pad(d.getUTCMonth() + 1) + pad(d.getUTCDate()) + "." +
    pad(d.getUTCHours()) + pad(d.getUTCMinutes()) + pad(d.getUTCSeconds());
}

// "YYYYMMDD.HHMM" (UTC) of a minute since the epoch, for the API.
export function utcMinute(minute) {
  return utcSecond(minute * 60000).slice(0, 13);
}

// A duration for people: "1 min 20 s", "2 h 5 min", "45 s".
export function duration(ms) {
  const s = Math.round(ms / 1000);
  if (s < 60) return s + " s";
  if (s < 3600) return Math.floor(s / 60) + " min" + (s % 60 ? " " + (s % 60) + " s" : "");
  return Math.floor(s / 3600) + " h" + (Math.floor(s / 60) % 60 ? " " + (Math.floor(s / 60) % 60) + " min" : "");
}

// A byte count for people: "3.1 MB".
export function bytes(n) {
  const u = ["B", "kB", "MB", "GB", "TB"];
  let i = 0;
  while (n >= 1000 && i < u.length - 1) { n /= 1000; i++; }
  return (i ? n.toFixed(1) : String(Math.round(n))) + " " + u[i];
}

// Shows every <time data-utc="seconds"> and <time data-iso="RFC 3339"> as an instant.
export function showTimes(root) {
  for (const t of (root || document).querySelectorAll("time[data-utc], time[data-iso]")) {
    const ms = t.dataset.utc ? Number(t.dataset.utc) * 1000 : Date.parse(t.dataset.iso);
    if (isNaN(ms)) continue;
    t.textContent = instant(ms);
    t.title = new Date(ms).toISOString();
  }
}
