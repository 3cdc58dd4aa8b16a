// Helpers for pinvr's browser tests: Playwright (playwright-core) driving Debian's Chromium
// as a person would, and checks of what a person sees (pixels, geometry).
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";

export const env = {
  base: process.env.PINVR_BASE,
  password: process.env.PINVR_PASSWORD,
  shots: process.env.PINVR_SHOTS || "target/tmp/screenshots",
  downloads: process.env.PINVR_DOWNLOADS || "target/tmp/downloads",
};

export const SIZES = { desktop: { width: 1280, height: 800 }, phone: { width: 390, height: 844 } };

export function fail(msg) {
  throw new Error(msg);
}

export function check(cond, msg) {
  if (!cond) fail(msg);
}

export async function launch() {
  return chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: [
      "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
      "--autoplay-policy=no-user-gesture-required", "--mute-audio",
    ],
  });
}

// A page of a fresh browser context at `size`, in `timezoneId`, whose script errors and
// console errors fail the test.
export async function page(browser, size, timezoneId) {
  const ctx = await browser.newContext({
    viewport: SIZES[size], timezoneId: timezoneId || "Europe/Berlin", acceptDownloads: true,
    hasTouch: size === "phone", isMobile: false,
  });
  const p = await ctx.newPage();
  p.errors = [];
  p.on("pageerror", (e) => p.errors.push("page error: " + e.message));
  p.on("console", (m) => { if (m.type() === "error") p.errors.push("console error: " + m.text()); });
  return p;
}

// Logs in at /login as a person does.
export async function login(p) {
  await p.goto(env.base + "/login");
  await p.getByLabel("Admin password").fill(env.password);
  await p.getByRole("button", { name: "Log in" }).click();
  await p.waitForURL((u) => !u.pathname.startsWith("/login"));
}

export async function shot(p, name) {
  mkdirSync(env.shots, { recursive: true });
  await p.screenshot({ path: env.shots + "/" + name + ".png" });
}

// Elements that stick out past the viewport's right edge (outside scrolling boxes).
export async function overflowing(p) {
  return p.evaluate(() => {
    const w = document.documentElement.clientWidth;
    const out = [];
    for (const el of document.querySelectorAll("body *")) {
      const r = el.getBoundingClientRect();
      if (r.width === 0 || r.right <= w + 1) continue;
      let clipped = false;
      for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
        const o = getComputedStyle(a).overflowX;
        if (o === "auto" || o === "scroll" || o === "hidden") { clipped = true; break; }
      }
      if (!clipped) out.push(el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + (el.className ? "." + String(el.className).replace(/ /g, ".") : "") + " right=" + Math.round(r.right));
    }
    if (document.documentElement.scrollWidth > w + 1) out.push("page scrollWidth " + document.documentElement.scrollWidth + " > " + w);
    return out;
  });
}

// A hash of the video's picture as drawn on a canvas (what the person sees of it).
export async function pictureHash(p) {
  return p.evaluate(() => {
    const v = document.querySelector("video");
    const c = document.createElement("canvas");
    c.width = 64; c.height = 36;
    const g = c.getContext("2d");
    g.drawImage(v, 0, 0, c.width, c.height);
    const d = g.getImageData(0, 0, c.width, c.height).data;
    let h = 0;
    for (let i = 0; i < d.length; i += 4) h = (h * 31 + d[i] + 7 * d[i + 1] + 13 * d[i + 2]) >>> 0;
    return h;
  });
}

// Asserts the <video> is on top at its own centre, inside the viewport, and moving.
export async function videoOnTopAndMoving(p, what) {
  // A person gives it a moment to start.
  // (20 s: a CI machine running six tests at once is slower than any person's phone.)
  await p.waitForFunction(() => { const v = document.querySelector("video"); return !v.paused && v.readyState >= 2; }, null, { timeout: 20000 })
    .catch(async () => {
      const s = await p.evaluate(() => { const v = document.querySelector("video"); return { src: v.currentSrc, paused: v.paused, ready: v.readyState, network: v.networkState, error: v.error && v.error.message }; });
      fail(what + ": the video did not start playing within 20 s: " + JSON.stringify(s));
    });
  const r = await p.evaluate(() => {
    const v = document.querySelector("video");
    const b = v.getBoundingClientRect();
    const cx = b.left + b.width / 2, cy = b.top + b.height / 2;
    const top = document.elementFromPoint(cx, cy);
    return { top: top === v ? "video" : (top ? top.tagName + "#" + top.id : "nothing"), b: [b.left, b.top, b.right, b.bottom],
      vw: innerWidth, vh: innerHeight, paused: v.paused, ready: v.readyState };
  });
  check(r.top === "video", what + ": the element on top of the video's centre is " + r.top);
  check(r.b[0] >= 0 && r.b[1] >= 0 && r.b[2] <= r.vw + 1 && r.b[3] <= r.vh + 1, what + ": the video is not inside the viewport: " + JSON.stringify(r));
  check(!r.paused, what + ": the video is paused");
  const a = await pictureHash(p);
  await p.waitForTimeout(1000);
  const b = await pictureHash(p);
  check(a !== b, what + ": the picture did not change in 1 s of playing");
}

// Runs the named steps, printing each; exits 1 at the first failure.
export async function run(steps) {
  const started = Date.now();
  const results = {};
  for (const [name, f] of steps) {
    const t = Date.now();
    try {
      results[name] = (await f()) ?? "ok";
      console.log("ok   " + name + " (" + (Date.now() - t) + " ms)");
    } catch (e) {
      console.log("FAIL " + name + ": " + (e && e.stack ? e.stack : e));
      process.exit(1);
    }
  }
  console.log("RESULTS " + JSON.stringify(results));
  console.log("all steps passed in " + (Date.now() - started) + " ms");
}
