// Real cameras in the browser, on the fixture of tests/browser.rs: "front" is an H.265
// camera (640x360) with an H.264 sub stream (320x180), recording; "shift" has one minute
// whose picture changes from 320x240 to 640x360 half way (PINVR_SHIFT_AT: that change, RFC
// 3339); PINVR_NEW_PORT serves an H.264 camera at /main and /sub behind admin:pw (with
// audio) that the user adds on the config page. Chromium here has no HEVC decoder.
import * as t from "./lib.mjs";

const { check, env } = t;
const browser = await t.launch();
const shiftAt = Date.parse(process.env.PINVR_SHIFT_AT);
const newPort = process.env.PINVR_NEW_PORT;
const frontAt = process.env.PINVR_FRONT_AT;

// Polls until `locator`'s text matches `re` (a person waiting for the answer).
async function waitText(locator, re, ms, what) {
  const deadline = Date.now() + ms;
  for (;;) {
    const text = (await locator.textContent()) || "";
    if (re.test(text)) return text;
    check(Date.now() < deadline, what + ": still " + JSON.stringify(text));
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function loaded(p) {
  await p.waitForFunction(() => Number(document.getElementById("day").dataset.loaded) > 0, null, { timeout: 15000 });
}

let desk;

await t.run([
  ["the day view plays the sub stream where the browser cannot play H.265, and says so", async () => {
    desk = await t.page(browser, "desktop");
    await t.login(desk);
    const hevc = await desk.evaluate(() => MediaSource.isTypeSupported('video/mp4; codecs="hvc1.1.6.L93.B0"'));
    await desk.goto(env.base + "/camera/front?at=" + encodeURIComponent(frontAt));
    await loaded(desk);
    const playing = await desk.locator("#day").getAttribute("data-playing");
    check(playing === (hevc ? "main" : "sub"), "playing the " + playing + " stream; this Chromium plays hvc1: " + hevc);
    await t.videoOnTopAndMoving(desk, "front");
    const size = await desk.evaluate(() => [document.querySelector("video").videoWidth, document.querySelector("video").videoHeight]);
    if (!hevc) {
      check(size[0] === 320 && size[1] === 180, "the sub stream is 320x180, the video is " + size);
      const note = await desk.locator("#notice").textContent();
      check(/sub stream/.test(note) && /hvc1/.test(note) && /Downloads are the main stream/.test(note), "the notice says " + JSON.stringify(note));
      check(await desk.locator("#notice").isVisible(), "the notice is not visible");
    }
    await t.shot(desk, "cameras-day-sub");
    return { playing, size };
  }],
  ["the live view of one camera falls back to its sub stream too", async () => {
    await desk.goto(env.base + "/live/front");
    await desk.waitForFunction(() => document.querySelector(".tile").dataset.state === "live", null, { timeout: 20000 });
    const showing = await desk.locator(".tile").getAttribute("data-showing");
    const hevc = await desk.evaluate(() => MediaSource.isTypeSupported('video/mp4; codecs="hvc1.1.6.L93.B0"'));
    if (!hevc) {
      check(showing === "sub", "the tile shows " + showing);
      const msg = await desk.locator(".tilemsg").textContent();
      check(/sub stream/.test(msg), "the tile says " + JSON.stringify(msg));
    }
    const w = await desk.evaluate(() => document.querySelector("video").videoWidth);
    check(w === (hevc ? 640 : 320), "the live picture is " + w + " wide");
  }],
  ["a minute whose picture changes size plays across the change", async () => {
    const p = await t.page(browser, "desktop");
    await t.login(p);
    const errors = [];
    await p.goto(env.base + "/camera/shift?at=" + encodeURIComponent(new Date(shiftAt - 3000).toISOString()));
    await loaded(p);
    await p.evaluate(() => {
      const v = document.querySelector("video");
      window.sizes = [];
      window.videoErrors = [];
      v.addEventListener("error", () => window.videoErrors.push(v.error && v.error.message));
      v.addEventListener("resize", () => window.sizes.push([v.videoWidth, v.videoHeight, v.currentTime]));
    });
    await t.videoOnTopAndMoving(p, "shift");
    const before = await p.evaluate(() => document.querySelector("video").videoWidth);
    // Past the change, still playing, the picture now the second size.
    await p.waitForFunction((after) => {
      const v = document.querySelector("video");
      return v.videoWidth === 640 && Number(document.getElementById("day").dataset.playhead) > after;
    }, shiftAt + 1000, { timeout: 20000 }).catch(() => {});
    const r = await p.evaluate(() => {
      const v = document.querySelector("video");
      return { w: v.videoWidth, h: v.videoHeight, t: v.currentTime, paused: v.paused, error: v.error && v.error.message, sizes: window.sizes, errors: window.videoErrors };
    });
    const playhead = Number(await p.locator("#day").getAttribute("data-playhead"));
    check(before === 320, "before the change the picture is " + before + " wide");
    check(r.w === 640 && r.h === 360, "after the change: " + JSON.stringify(r));
    check(playhead > shiftAt + 1000, "the playhead is at " + new Date(playhead).toISOString() + ", not past the change");
    check(!r.error && r.errors.length === 0, "the video failed: " + JSON.stringify(r));
    await t.videoOnTopAndMoving(p, "shift after the change");
    check(p.errors.length === 0, p.errors.join("\n"));
    await p.context().close();
    return { sizes: r.sizes };
  }],
  ["adding a camera: paste a URL with its password, Test shows the picture and the facts, save, it records", async () => {
    const p = desk;
    await p.goto(env.base + "/config");
    const row = p.locator(".camera", { hasText: "Add a camera" });
    const url = row.getByLabel("RTSP URL");
    await url.fill("rtsp://admin:pw@127.0.0.1:" + newPort + "/main");
    await url.press("Tab");
    check((await url.inputValue()) === "rtsp://127.0.0.1:" + newPort + "/main", "the URL kept its credentials: " + (await url.inputValue()));
    check((await row.getByLabel("User", { exact: true }).inputValue()) === "admin", "the user was not split out");
    check((await row.getByLabel("Password (blank keeps it)").inputValue()) === "pw", "the password was not split out");
    const id = await row.getByLabel("Id (a-z 0-9 _ -)").inputValue();
    check(id === "cam-1", "the suggested id is " + JSON.stringify(id));
    await row.getByLabel("Id (a-z 0-9 _ -)").fill("porch");
    await row.getByLabel(/Sub stream URL/).fill("rtsp://127.0.0.1:" + newPort + "/sub");
    // A wrong password first: the test says which problem it is.
    await row.getByLabel("Password (blank keeps it)").fill("wrong");
    await row.getByRole("button", { name: "Test" }).click();
    await waitText(row.locator("[data-test-state]"), /See below|It works/, 40000, "the test of a wrong password");
    const refused = await row.locator(".testresult").textContent();
    check(/refused the user name or password/.test(refused), "a wrong password gives: " + refused);
    await row.getByLabel("Password (blank keeps it)").fill("pw");
    const t0 = Date.now();
    await row.getByRole("button", { name: "Test" }).click();
    await waitText(row.locator("[data-test-state]"), /It works|See below/, 40000, "the test");
    check((await row.locator(".testresult").getAttribute("data-ok")) === "true", "the test failed: " + (await row.locator(".testresult").textContent()));
    const took = (Date.now() - t0) / 1000;
    const pics = await row.locator("img.testpic").evaluateAll((imgs) => imgs.map((i) => [i.naturalWidth, i.naturalHeight, i.getBoundingClientRect().width]));
    check(pics.length === 2 && pics[0][0] === 640 && pics[1][0] === 320, "the pictures: " + JSON.stringify(pics));
    check(pics.every((x) => x[2] > 100), "a picture is not shown: " + JSON.stringify(pics));
    const facts = await row.locator(".testfacts").first().textContent();
    for (const want of ["H.264", "640×360", "10 fps", "1 s", "TCP", "not recorded"]) check(facts.includes(want), "the facts lack " + want + ": " + facts);
    await t.shot(p, "cameras-test-result");
    await p.getByRole("button", { name: "Save and apply" }).click();
    await p.waitForLoadState();
    // The new camera records, main and sub.
    const deadline = Date.now() + 30000;
    let c;
    for (;;) {
      const r = await p.request.get(env.base + "/api/1/cameras.json");
      c = (await r.json()).payload.cameras.find((x) => x.id === "porch");
      if (c && c.state === "recording" && c.sub && c.sub.state === "recording") break;
      check(Date.now() < deadline, "porch is not recording 30 s after the save: " + JSON.stringify(c));
      await p.waitForTimeout(250);
    }
    check(!JSON.stringify(c).includes("pw@"), "the API shows the password: " + JSON.stringify(c));
    return { test_s: took };
  }],
  ["the config page with a test result fits a phone", async () => {
    const p = await t.page(browser, "phone");
    await t.login(p);
    await p.goto(env.base + "/config");
    const row = p.locator(".camera", { hasText: "porch" });
    await row.getByRole("button", { name: "Test" }).click();
    await p.waitForFunction(() => [...document.querySelectorAll(".testresult")].some((r) => r.dataset.ok === "true"), null, { timeout: 40000 });
    const out = await t.overflowing(p);
    check(out.length === 0, "sticks out on the phone: " + out.join(", "));
    check(p.errors.length === 0, p.errors.join("\n"));
    await t.shot(p, "cameras-test-phone");
    await p.context().close();
  }],
]);
await browser.close();
