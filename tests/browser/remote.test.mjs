// Minutes only in the offload store, as a person meets them in the day view (tests/offload.rs
// makes them: camera c0 recorded today, its older minutes uploaded to SeaweedFS and deleted
// from the disk, the newest still here): they are drawn striped and the page says what that
// means; a click on one plays it, from the store.
import * as t from "./lib.mjs";

const { check, env } = t;
const browser = await t.launch();

await t.run([
  ["remote minutes are drawn striped and said, and one plays from the store", async () => {
    const p = await t.page(browser, "desktop", "UTC");
    await t.login(p);
    await p.goto(env.base + "/camera/c0?day=" + process.env.PINVR_DAY);
    await p.waitForFunction(() => Number(document.getElementById("day").dataset.loaded) > 0);
    const remote = p.locator(".tl-run.remote");
    check(await remote.count() >= 1, "no run drawn as remote");
    check(await p.locator(".tl-run:not(.remote)").count() >= 1, "no run drawn as local");
    check(await p.locator("#remotenote").isVisible(), "the page does not say what the stripes mean");
    const box = await remote.first().boundingBox();
    check(box && box.width >= 2, "the remote run is " + JSON.stringify(box));
    // Striped: its pixels hold both the run's blue and the light stripe.
    const png = await remote.first().screenshot();
    const colours = await p.evaluate(async (b64) => {
      const img = new Image();
      img.src = "data:image/png;base64," + b64;
      await img.decode();
      const c = document.createElement("canvas");
      c.width = img.width; c.height = img.height;
      const g = c.getContext("2d");
      g.drawImage(img, 0, 0);
      const d = g.getImageData(0, 0, c.width, c.height).data;
      let dark = 0, light = 0;
      for (let i = 0; i < d.length; i += 4) {
        if (d[i] < 110 && d[i + 2] > 170) dark++;
        if (d[i] > 150 && d[i + 2] > 200) light++;
      }
      return { dark, light };
    }, png.toString("base64"));
    check(colours.dark > 0 && colours.light > 0, "the remote run is not striped: " + JSON.stringify(colours));
    await t.shot(p, "day-remote-1280");
    // A click on it plays that minute, the bytes coming from the store.
    await p.mouse.click(box.x + Math.min(box.width / 2, 40), box.y + box.height / 2);
    await p.waitForFunction(() => { const v = document.querySelector("video"); return !v.paused && v.readyState >= 2; }, null, { timeout: 30000 })
      .catch(async (e) => {
        const s = await p.evaluate(() => { const v = document.querySelector("video"); return { src: v.currentSrc, paused: v.paused, ready: v.readyState, network: v.networkState, error: v.error && (v.error.code + " " + v.error.message), playhead: document.getElementById("day").dataset.playhead }; });
        // What the store gave for it, fetched as the page would (cookies, redirects).
        let got = "";
        try {
          const r = await p.request.get(s.src);
          const body = await r.body();
          got = r.status() + " " + r.headers()["content-type"] + ", " + body.length + " bytes from " + r.url().split("?")[0] + (r.ok() ? "" : ": " + body.toString().slice(0, 200));
        } catch (x) {
          got = "fetch failed: " + x.message;
        }
        t.fail("the remote minute did not play within 30 s: " + JSON.stringify(s) + "; the store gave " + got + " (" + e.message + ")");
      });
    const src = await p.evaluate(() => document.querySelector("video").currentSrc);
    check(src.includes(".preview."), "playing " + src);
    // Moving, as the person sees it (a screenshot: the picture comes from another origin).
    const v = p.locator("video");
    const a = await v.screenshot();
    await p.waitForTimeout(1000);
    const b = await v.screenshot();
    check(!a.equals(b), "the remote minute's picture did not change in 1 s of playing");
    const top = await p.evaluate(() => {
      const v = document.querySelector("video");
      const r = v.getBoundingClientRect();
      return document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2) === v;
    });
    check(top, "the video is not on top");
  }],
]);
await browser.close();
