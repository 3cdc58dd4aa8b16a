// Live view as a person sees it, on cameras whose picture changes colour at every
// wall-clock second (tests/live_camera.py: red, green, blue, yellow for seconds 0-3 mod 4):
//  1. /live/lat: how long after each flip the browser shows it (latency), sampled from the
//     <video>'s pixels every 20 ms for PINVR_LIVE_SECONDS;
//  2. /live with four cameras at 1280x800 and on a phone: every tile playing, screenshots;
//  3. a camera killed while watched: the tile says offline, then plays again when the
//     camera is back, without a reload (pinvr #2, camera "flap", started and killed here);
//  4. a camera that changes its picture size every few seconds plays on across changes.
import * as t from "./lib.mjs";
import { spawn } from "node:child_process";

const { check, env } = t;
const SECONDS = Number(process.env.PINVR_LIVE_SECONDS || 40);
const base2 = process.env.PINVR_BASE2;
const flapPort = process.env.PINVR_FLAP_PORT;
const browser = await t.launch();
const results = {};

// The colour the camera shows at the centre of tile `i`: 0-3, or -1 if none of them.
async function colours(p) {
  return p.evaluate(() => {
    const out = [];
    for (const v of document.querySelectorAll("video")) {
      if (!v.videoWidth || v.readyState < 2) { out.push(-1); continue; }
      const c = (window.__c ||= document.createElement("canvas"));
      c.width = 8; c.height = 8;
      const g = c.getContext("2d", { willReadFrequently: true });
      g.drawImage(v, 0, 0, 8, 8);
      const [r, gr, b] = g.getImageData(4, 4, 1, 1).data;
      const ref = [[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 0]];
      let best = -1, dist = 1e9;
      ref.forEach((q, k) => {
        const d = (q[0] - r) ** 2 + (q[1] - gr) ** 2 + (q[2] - b) ** 2;
        if (d < dist) { dist = d; best = k; }
      });
      out.push(dist < 120 ** 2 ? best : -1);
    }
    return out;
  });
}

// Waits until `n` tiles play; on a timeout, says what each tile showed.
async function waitLive(p, n, ms) {
  try {
    await p.waitForFunction((n) => {
      const tiles = document.querySelectorAll(".tile[data-state=live]");
      return tiles.length >= n;
    }, n, { timeout: ms || 30000 });
  } catch (e) {
    const tiles = await p.locator(".tile").evaluateAll((ts) => ts.map((t) =>
      t.dataset.camera + ": " + t.dataset.state + " (" + t.innerText.replace(/\s+/g, " ").trim() + ")"));
    throw new Error("fewer than " + n + " tiles live: " + tiles.join("; "));
  }
}

// Latency of every flip shown on tile 0 of `p` over `seconds`: when a new colour k
// appears at time T, it began at the latest whole second S <= T with S mod 4 = k.
async function latencies(p, seconds, tile) {
  const out = [];
  let last = null;
  const end = Date.now() + seconds * 1000;
  while (Date.now() < end) {
    const k = (await colours(p))[tile || 0];
    const now = Date.now() / 1000;
    if (k >= 0 && last !== null && k === (last + 1) % 4) {
      const s = Math.floor(now);
      const flip = s - (((s - k) % 4) + 4) % 4;
      out.push(now - flip);
    }
    if (k >= 0) last = k;
    await p.waitForTimeout(20);
  }
  return out;
}

function stats(xs) {
  const s = xs.slice().sort((a, b) => a - b);
  const q = (f) => s[Math.min(s.length - 1, Math.floor(f * s.length))];
  return { flips: s.length, median: q(0.5), p90: q(0.9), max: s[s.length - 1] };
}

// 1. Latency on one camera, and what the page says about it.
{
  const p = await t.page(browser, "desktop");
  await t.login(p);
  await p.goto(env.base + "/live/lat");
  await waitLive(p, 1);
  await p.waitForTimeout(1500); // the first second plays the group of pictures it joined at
  const l = await latencies(p, SECONDS);
  const s = stats(l);
  console.log("latency over " + SECONDS + " s: " + JSON.stringify(s));
  check(s.flips >= SECONDS * 0.8, "only " + s.flips + " colour flips seen in " + SECONDS + " s");
  check(s.median < 1.5, "median latency " + s.median.toFixed(3) + " s");
  results.latency = s;
  // On top and visible: the video fills its tile, nothing covers its centre.
  const box = await p.locator("video").boundingBox();
  check(box.width > 600 && box.height > 300, "the live picture is " + box.width + "x" + box.height);
  const top = await p.evaluate(([x, y]) => document.elementFromPoint(x, y).tagName, [box.x + box.width / 2, box.y + box.height / 2]);
  check(top === "VIDEO", "the centre of the picture shows " + top);
  check(p.errors.length === 0, p.errors.join("\n"));
  await t.shot(p, "live-one-desktop");
  // "What just happened?" opens the day view a minute ago.
  await p.getByRole("link", { name: "What just happened?" }).click();
  await p.waitForURL((u) => u.pathname === "/camera/lat" && u.searchParams.has("at"));
  const at = Date.parse(new URL(p.url()).searchParams.get("at"));
  check(Math.abs(Date.now() - 60000 - at) < 10000, "the day view opened at " + new Date(at).toISOString());
  await p.context().close();
}

// 2. The grid: four cameras, all playing, on a desktop and on a phone.
for (const size of ["desktop", "phone"]) {
  const p = await t.page(browser, size);
  await t.login(p);
  await p.goto(env.base + "/live");
  await waitLive(p, 4);
  const seen = [new Set(), new Set(), new Set(), new Set()];
  const end = Date.now() + 3500;
  while (Date.now() < end) {
    (await colours(p)).forEach((k, i) => { if (k >= 0) seen[i].add(k); });
    await p.waitForTimeout(100);
  }
  seen.forEach((s, i) => check(s.size >= 3, size + ": tile " + i + " showed " + s.size + " colours in 3.5 s"));
  const boxes = await p.locator("video").evaluateAll((vs) => vs.map((v) => v.getBoundingClientRect().toJSON()));
  for (const b of boxes) check(b.width > 100 && b.height > 50, size + ": a tile is " + b.width + "x" + b.height);
  check((await t.overflowing(p)).length === 0, size + ": " + (await t.overflowing(p)).join(", "));
  check(p.errors.length === 0, p.errors.join("\n"));
  await t.shot(p, "live-grid-" + size);
  await p.context().close();
}

// 3. A camera that dies while watched, and comes back.
if (base2) {
  const camera = () => spawn("/usr/bin/python3", ["../live_camera.py", "--port", flapPort], { stdio: ["ignore", "pipe", "inherit"] });
  let cam = camera();
  const p = await t.page(browser, "desktop");
  await p.goto(base2 + "/login");
  await p.getByLabel("Admin password").fill(env.password);
  await p.getByRole("button", { name: "Log in" }).click();
  await p.waitForURL((u) => !u.pathname.startsWith("/login"));
  await p.goto(base2 + "/live/flap");
  await p.evaluate(() => { window.__same = true; });
  await waitLive(p, 1, 30000);
  cam.kill("SIGKILL");
  const killed = Date.now();
  await p.waitForFunction(() => document.querySelector(".tile").dataset.state === "offline", null, { timeout: 20000 });
  const offline = (Date.now() - killed) / 1000;
  const said = await p.locator(".tilemsg").textContent();
  console.log("offline shown after " + offline.toFixed(1) + " s: " + said);
  check(/offline|retrying/.test(said), "the tile says " + JSON.stringify(said));
  await t.shot(p, "live-offline");
  cam = camera();
  const back = Date.now();
  await waitLive(p, 1, 40000);
  console.log("live again " + ((Date.now() - back) / 1000).toFixed(1) + " s after the camera restarted");
  check(await p.evaluate(() => window.__same === true), "the page was reloaded");
  const l = await latencies(p, 4);
  check(l.length >= 2, "no colour flips after the camera came back");
  results.outage = { offline_after_s: offline, back_after_s: (Date.now() - back) / 1000 };
  cam.kill("SIGKILL");
  // Errors the browser logs for failed fetches while the camera was away are expected.
  await p.context().close();

  // 4. A picture that changes size every 4 s plays on across the changes.
  const q = await t.page(browser, "desktop");
  await q.goto(base2 + "/login");
  await q.getByLabel("Admin password").fill(env.password);
  await q.getByRole("button", { name: "Log in" }).click();
  await q.waitForURL((u) => !u.pathname.startsWith("/login"));
  await q.goto(base2 + "/live/switch");
  await waitLive(q, 1, 30000);
  const sizes = new Set();
  const flips = [];
  let last = null;
  const end = Date.now() + 13000;
  while (Date.now() < end) {
    const w = await q.evaluate(() => document.querySelector("video").videoWidth);
    const k = (await colours(q))[0];
    sizes.add(w);
    if (k >= 0 && last !== null && k !== last) flips.push([Date.now(), w]);
    if (k >= 0) last = k;
    await q.waitForTimeout(50);
  }
  console.log("sizes seen: " + [...sizes].join(", ") + "; colour flips: " + flips.length);
  check(sizes.has(320) && sizes.has(256), "the picture did not change size: " + [...sizes].join(", "));
  const after = flips.filter(([, w]) => w === 256).length;
  const before = flips.filter(([, w]) => w === 320).length;
  check(after >= 2 && before >= 2, "playback stopped at a size change: " + before + " flips at 320, " + after + " at 256");
  check(q.errors.length === 0, q.errors.join("\n"));
  results.switch = { sizes: [...sizes], flips: flips.length };
  await q.context().close();
}

await browser.close();
console.log("RESULTS " + JSON.stringify(results));
