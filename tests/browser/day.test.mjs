// The day view used as a person would, at 1280x800 and on a 390x844 phone, in Berlin time,
// on the fixture of tests/browser.rs: camera "front" recorded 2026-11-23 14:30 to 14:45 UTC
// (15:30 to 15:45 in Berlin), 10 fps, a red box appearing at 14:37:12 UTC and staying;
// camera "gone" has never recorded.
import * as t from "./lib.mjs";

const { check, env } = t;
const DAY = "/camera/front?day=2026-11-23";
const browser = await t.launch();

// The timeline's time at a page x, as a person reads it off the tick labels. Found and
// measured in one evaluation: the page redraws the axis when the camera's tags arrive, and
// with `$$eval` the ticks were sometimes measured after that redraw had detached them (every
// tick at x 0, so the click that followed landed off the timeline).
async function axis(p) {
  const ticks = await p.evaluate(() => [...document.querySelectorAll(".tl-tick")].map((e) => {
    const r = e.getBoundingClientRect();
    return [r.left + r.width / 2, e.textContent];
  }));
  check(ticks.every(([x]) => x > 0), "tick labels not laid out: " + JSON.stringify(ticks));
  check(ticks.length >= 2, "fewer than two tick labels on the timeline");
  const sec = (s) => { const [h, m, x] = s.split(":").map(Number); return h * 3600 + m * 60 + (x || 0); };
  const [a, b] = [ticks[0], ticks[ticks.length - 1]];
  const perSec = (b[0] - a[0]) / (sec(b[1]) - sec(a[1]));
  return { x: (hms) => a[0] + (sec(hms) - sec(a[1])) * perSec, perSec };
}

async function trackBox(p) {
  return p.locator(".tl-track").boundingBox();
}

async function playhead(p) {
  return Number(await p.locator("#day").getAttribute("data-playhead"));
}

async function waitPlayhead(p, cond, what, ms) {
  const deadline = Date.now() + (ms || 10000);
  for (;;) {
    const v = await playhead(p);
    if (cond(v)) return v;
    check(Date.now() < deadline, what + " (playhead " + new Date(v).toISOString() + ")");
    await p.waitForTimeout(50);
  }
}

// Waits for the hover still to be shown; says what the page showed if it never is.
async function stillShown(p, at) {
  try {
    await p.waitForFunction(() => { const i = document.getElementById("hoverimg"); return i.complete && i.naturalWidth > 0; }, null, { timeout: 15000 });
  } catch (e) {
    const s = await p.evaluate(() => {
      const i = document.getElementById("hoverimg");
      return { box: !document.getElementById("hoverbox").hidden, time: document.getElementById("hovertime").textContent, src: i.src, complete: i.complete, width: i.naturalWidth, notice: document.getElementById("notice").textContent };
    });
    throw new Error("no still shown with the pointer at " + at + ": " + JSON.stringify(s) + " (" + e.message + ")");
  }
}

async function loaded(p) {
  await p.waitForFunction(() => Number(document.getElementById("day").dataset.loaded) > 0);
}

let desk, phone, downloaded, storyResult;

await t.run([
  ["desktop: a click on the timeline plays a visible, moving picture", async () => {
    desk = await t.page(browser, "desktop");
    await t.login(desk);
    await desk.goto(env.base + DAY);
    await loaded(desk);
    const ax = await axis(desk);
    const box = await trackBox(desk);
    await desk.mouse.click(ax.x("15:33:00"), box.y + box.height / 2);
    await t.videoOnTopAndMoving(desk, "desktop");
    const at = await playhead(desk);
    check(Math.abs(at - Date.parse("2026-11-23T14:33:00Z")) < 5000, "playing from " + new Date(at).toISOString() + ", not 14:33");
    await t.shot(desk, "day-playing-1280");
  }],
  ["keyboard: space, arrows, J, L, Home move the playhead as the help says", async () => {
    await desk.keyboard.press("Space");
    await desk.waitForFunction(() => document.querySelector("video").paused);
    const p0 = await playhead(desk);
    await desk.keyboard.press("ArrowRight");
    await waitPlayhead(desk, (v) => Math.abs(v - (p0 + 100)) <= 2, "ArrowRight when paused steps one frame");
    await desk.keyboard.press("ArrowLeft");
    await waitPlayhead(desk, (v) => Math.abs(v - p0) <= 2, "ArrowLeft when paused steps back one frame");
    await desk.keyboard.press("l");
    await desk.waitForFunction(() => !document.querySelector("video").paused);
    const p1 = await playhead(desk);
    await desk.keyboard.press("ArrowRight");
    await waitPlayhead(desk, (v) => v >= p1 + 4900, "ArrowRight when playing jumps 5 s");
    const p2 = await playhead(desk);
    await desk.keyboard.press("j");
    await waitPlayhead(desk, (v) => v <= p2 - 9000 && v >= p2 - 11000, "J goes back 10 s");
    await desk.keyboard.press("Home");
    await waitPlayhead(desk, (v) => Math.abs(v - Date.parse("2026-11-23T14:30:00Z")) < 1500, "Home goes to the day's first recording");
    await desk.keyboard.press("?");
    check(await desk.locator("#help").isVisible(), "? shows the keys");
    await desk.keyboard.press("Escape");
    check(!(await desk.locator("#help").isVisible()), "Esc hides the keys");
  }],
  ["zoomed to two minutes, a drag selects 15:36:50 to 15:38:10 and it is drawn and named", async () => {
    const box = await trackBox(desk);
    let ax = await axis(desk);
    await desk.mouse.click(ax.x("15:37:30"), box.y + box.height / 2);
    await desk.keyboard.press("k");
    for (let i = 0; i < 8; i++) await desk.getByRole("button", { name: "zoom in" }).click();
    ax = await axis(desk);
    check(ax.perSec > 5, "zoomed in to " + ax.perSec.toFixed(1) + " px a second");
    const [x1, x2] = [ax.x("15:36:50"), ax.x("15:38:10")];
    const y = box.y + box.height / 2;
    await desk.mouse.move(x1, y);
    await desk.mouse.down();
    await desk.mouse.move((x1 + x2) / 2, y, { steps: 5 });
    await desk.mouse.move(x2, y, { steps: 5 });
    await desk.mouse.up();
    check(await desk.locator("#selfrom").inputValue() === "15:36:50", "start shown as " + await desk.locator("#selfrom").inputValue());
    check(await desk.locator("#selto").inputValue() === "15:38:10", "end shown as " + await desk.locator("#selto").inputValue());
    const band = await desk.locator("#selband").boundingBox();
    check(Math.abs(band.x - x1) <= 3 && Math.abs(band.x + band.width - x2) <= 3, "the drawn selection " + JSON.stringify(band) + " is not at " + x1 + ".." + x2);
    const href = await desk.locator("#download").getAttribute("href");
    check(href.includes("front.range.20261123.143650.to.20261123.143810.mp4"), "download href " + href);
    check((await desk.locator("#seldur").textContent()).startsWith("1 min 20 s"), "duration shown: " + await desk.locator("#seldur").textContent());
    await t.shot(desk, "day-selection-1280");
  }],
  ["hovering shows stills and leaves the selection and playback alone", async () => {
    const before = [await desk.locator("#selfrom").inputValue(), await desk.locator("#selto").inputValue(), await playhead(desk)];
    const box = await trackBox(desk);
    for (let i = 1; i < 10; i++) await desk.mouse.move(box.x + (box.width * i) / 10, box.y + box.height / 2, { steps: 3 });
    check(await desk.locator("#hoverbox").isVisible(), "no still while hovering");
    await desk.waitForFunction(() => document.getElementById("hoverimg").naturalWidth > 0);
    await t.shot(desk, "day-hover-1280");
    const after = [await desk.locator("#selfrom").inputValue(), await desk.locator("#selto").inputValue(), await playhead(desk)];
    check(JSON.stringify(before) === JSON.stringify(after), "hovering changed " + JSON.stringify(before) + " to " + JSON.stringify(after));
    await desk.mouse.move(box.x + box.width / 2, box.y - 200);
  }],
  ["the download is the selection", async () => {
    const [dl] = await Promise.all([desk.waitForEvent("download"), desk.locator("#download").click()]);
    downloaded = env.downloads + "/selection.mp4";
    await dl.saveAs(downloaded);
    check(dl.suggestedFilename().includes("15.36.50 to 15.38.10"), "named " + dl.suggestedFilename());
    return { file: downloaded, name: dl.suggestedFilename() };
  }],
  ["a minute recorded twice is named below the timeline, and its second recording downloads", async () => {
    const note = desk.locator("#repeats");
    check(await note.isVisible(), "no line for the minute recorded twice");
    check((await note.textContent()).startsWith("Recorded twice"), "the line says " + (await note.textContent()));
    const links = note.locator("a");
    check((await links.count()) === 1, (await links.count()) + " links");
    // Berlin time, as the page shows: the repeat runs 14:44:20 to 14:45:20 UTC.
    check((await links.first().textContent()) === "15:44:20\u201315:45:20", "the link says " + (await links.first().textContent()));
    const [dl] = await Promise.all([desk.waitForEvent("download"), links.first().click()]);
    await dl.saveAs(env.downloads + "/repeat.mp4");
  }],
  ["archiving the selection, and deleting the archive only after a yes", async () => {
    await desk.getByRole("button", { name: "Archive…" }).click();
    await desk.getByLabel("Note for the archive").fill("the red box");
    await desk.getByRole("button", { name: "Keep it" }).click();
    await desk.waitForFunction(() => document.getElementById("archived").textContent.startsWith("kept"));
    await desk.goto(env.base + "/archives");
    check(await desk.getByText("the red box").isVisible(), "the archive is not listed");
    desk.once("dialog", (d) => d.dismiss());
    await desk.getByRole("button", { name: "Delete" }).click();
    check(await desk.getByText("the red box").isVisible(), "deleted without a yes");
    desk.once("dialog", (d) => d.accept());
    await Promise.all([desk.waitForURL(/\/archives/), desk.getByRole("button", { name: "Delete" }).click()]);
    check(await desk.getByText("the red box").count() === 0, "not deleted after a yes");
  }],
  ["the user's story: find when the box appeared, watch who did it, take it", async () => {
    const started = Date.now();
    let clicks = 0;
    const p = await t.page(browser, "desktop");
    await t.login(p);
    await p.goto(env.base + DAY);
    clicks++;
    await loaded(p);
    // Sweep the pointer over the timeline looking at the stills, as a person does, until
    // the box is there: the box shows red in the lower right of the picture.
    const ax = await axis(p);
    const box = await trackBox(p);
    const y = box.y + box.height / 2;
    let found = null;
    for (let m = 30; m < 45; m++) {
      await p.mouse.move(ax.x("15:" + m + ":20"), y, { steps: 2 });
      await stillShown(p, "15:" + m + ":20");
      const red = await p.evaluate(() => {
        const i = document.getElementById("hoverimg");
        const c = document.createElement("canvas");
        c.width = i.naturalWidth; c.height = i.naturalHeight;
        const g = c.getContext("2d");
        g.drawImage(i, 0, 0);
        const d = g.getImageData(Math.round(c.width * 0.8), Math.round(c.height * 0.75), 1, 1).data;
        return d[0] > 180 && d[1] < 80 && d[2] < 80;
      });
      if (red) { found = m; break; }
    }
    check(found === 38, "the first still with the box is 15:" + found + ", not 15:38");
    // It appeared during the minute before: play it and watch.
    await p.mouse.click(ax.x("15:37:00"), y);
    clicks++;
    await p.waitForFunction(() => {
      const v = document.querySelector("video");
      if (v.paused || v.readyState < 2) return false;
      const c = document.createElement("canvas");
      c.width = v.videoWidth; c.height = v.videoHeight;
      const g = c.getContext("2d");
      g.drawImage(v, 0, 0);
      const d = g.getImageData(Math.round(c.width * 0.8), Math.round(c.height * 0.75), 1, 1).data;
      return d[0] > 180 && d[1] < 80 && d[2] < 80;
    }, null, { timeout: 30000, polling: 100 });
    const seen = await playhead(p);
    check(Math.abs(seen - Date.parse("2026-11-23T14:37:12Z")) < 1500, "the box was seen at " + new Date(seen).toISOString());
    // Take ten seconds before to ten after: [ and ] at the playhead.
    await p.keyboard.press("j");
    clicks++;
    await p.keyboard.press("[");
    clicks++;
    await p.keyboard.press("L");
    clicks++;
    await waitPlayhead(p, (v) => v > seen + 10000, "playing on past the moment", 30000);
    await p.keyboard.press("]");
    clicks++;
    const [dl] = await Promise.all([p.waitForEvent("download"), p.locator("#download").click()]);
    clicks++;
    await dl.saveAs(env.downloads + "/story.mp4");
    storyResult = { clicks, seconds: (Date.now() - started) / 1000, file: env.downloads + "/story.mp4" };
    await p.context().close();
    return storyResult;
  }],
  ["what changed here: draw the rectangle, the mark appears, it plays from 10 s before", async () => {
    const p = await t.page(browser, "desktop");
    await t.login(p);
    await p.goto(env.base + DAY);
    await loaded(p);
    await p.getByRole("button", { name: "What changed here?" }).click();
    // The box's place on the picture: x 236..292 of 320, y 164..212 of 240.
    const pic = await p.evaluate(() => {
      const v = document.querySelector("video");
      const r = v.getBoundingClientRect();
      const s = Math.min(r.width / v.videoWidth, r.height / v.videoHeight);
      const w = v.videoWidth * s, h = v.videoHeight * s;
      return { x: r.left + (r.width - w) / 2, y: r.top + (r.height - h) / 2, w, h };
    });
    const at = (fx, fy) => [pic.x + fx * pic.w, pic.y + fy * pic.h];
    await p.mouse.move(...at(0.70, 0.64));
    await p.mouse.down();
    await p.mouse.move(...at(0.85, 0.80), { steps: 5 });
    await p.mouse.move(...at(0.95, 0.92), { steps: 5 });
    await p.mouse.up();
    await p.waitForFunction(() => /^1 change/.test(document.getElementById("changestatus").textContent), null, { timeout: 30000 });
    const mark = p.locator(".tl-mark.change");
    check(await mark.count() === 1, "one change mark on the timeline");
    await t.shot(p, "day-change-1280");
    await mark.click();
    const ph = await waitPlayhead(p, (v) => Math.abs(v - Date.parse("2026-11-23T14:37:02Z")) < 1500, "the mark plays from 10 s before the change (14:37:12)");
    await p.waitForFunction(() => !document.querySelector("video").paused);
    // Kept as a tag: it shows on the timeline after a reload.
    await p.getByRole("button", { name: "Tag it" }).click();
    await p.waitForFunction(() => [...document.querySelectorAll(".changelist button")].some((b) => b.textContent === "Tagged"));
    await p.reload();
    await loaded(p);
    await p.waitForFunction(() => document.querySelectorAll(".tl-mark.tag").length === 1);
    await p.context().close();
    return { playhead: new Date(ph).toISOString() };
  }],
  ["a paused video plays on after longer than the server's write timeout", async () => {
    const p = await t.page(browser, "desktop");
    await t.login(p);
    await p.goto(env.base + "/camera/front?at=2026-11-23T14:31:00Z");
    await p.waitForFunction(() => !document.querySelector("video").paused);
    await p.keyboard.press("k");
    const paused = await playhead(p);
    await p.waitForTimeout(35000);
    await p.keyboard.press("l");
    await waitPlayhead(p, (v) => v > paused + 3000, "playing on after a 35 s pause");
    await p.context().close();
  }],
  ["phone: a deep link plays the moment, on top and moving, and nothing sticks out", async () => {
    phone = await t.page(browser, "phone");
    await t.login(phone);
    await phone.goto(env.base + "/camera/front?at=2026-11-23T14:37:20Z");
    await phone.waitForFunction(() => !document.querySelector("video").paused);
    await t.videoOnTopAndMoving(phone, "phone");
    const at = await playhead(phone);
    check(Math.abs(at - Date.parse("2026-11-23T14:37:20Z")) < 3000, "the deep link plays from " + new Date(at).toISOString());
    await t.shot(phone, "day-playing-390");
    const out = await t.overflowing(phone);
    check(out.length === 0, "sticking out on the phone: " + out.join(", "));
    // A tap on the timeline plays from there too.
    const box = await trackBox(phone);
    await phone.tap(".tl-track", { position: { x: box.width * 0.2, y: box.height / 2 } });
    await t.videoOnTopAndMoving(phone, "phone after a tap");
  }],
  ["bad deep links explain themselves in a line", async () => {
    for (const [q, says] of [
      ["?at=yesterday", "is not a time"],
      ["?at=2099-01-01T00:00:00Z", "is in the future"],
      ["?from=2026-11-23T14:40:00Z&to=2026-11-23T14:35:00Z", "ends before it starts"],
      ["?from=2026-11-23T14:40:00Z", "needs both"],
      ["?day=2026-13-45", "is not a day"],
    ]) {
      await desk.goto(env.base + "/camera/front" + q);
      await desk.waitForFunction(() => document.getElementById("day").dataset.loaded !== undefined);
      const n = desk.locator("#notice");
      check(await n.isVisible() && (await n.textContent()).includes(says), q + ": notice " + JSON.stringify(await n.textContent()));
    }
    await desk.goto(env.base + "/camera/front?from=2026-11-23T14:36:00Z&to=2026-11-23T14:36:30Z");
    await desk.waitForFunction(() => document.getElementById("selfrom").value === "15:36:00");
    check(await desk.locator("#selto").inputValue() === "15:36:30", "?from&to selects");
  }],
  ["an offline camera says so, with nothing broken", async () => {
    await desk.goto(env.base + "/camera/gone");
    await desk.waitForFunction(() => !document.getElementById("offline").hidden, null, { timeout: 15000 });
    check((await desk.locator("#offline").textContent()).startsWith("Offline since"), "offline banner");
    check(await desk.locator("#nodata").isVisible(), "no 'nothing recorded' on a camera with nothing");
    const broken = await desk.$$eval("img", (is) => is.filter((i) => i.complete && i.naturalWidth === 0 && i.getAttribute("src")).length);
    check(broken === 0, broken + " broken images");
  }],
  ["every page at both sizes: screenshots, no script error, nothing sticking out on the phone", async () => {
    for (const [size, p] of [["1280", desk], ["390", phone]]) {
      for (const [name, path] of [["overview", "/"], ["day", DAY], ["status", "/status"], ["config", "/config"], ["archives", "/archives"]]) {
        await p.goto(env.base + path);
        await p.waitForLoadState("networkidle");
        await t.shot(p, name + "-" + size);
        if (size === "390") {
          const out = await t.overflowing(p);
          check(out.length === 0, name + " sticks out on the phone: " + out.join(", "));
        }
      }
    }
    const anon = await t.page(browser, "phone");
    await anon.goto(env.base + "/login");
    await t.shot(anon, "login-390");
    check((await t.overflowing(anon)).length === 0, "login sticks out on the phone");
    for (const p of [desk, phone, anon]) check(p.errors.length === 0, p.errors.join("; "));
  }],
]);
await browser.close();
