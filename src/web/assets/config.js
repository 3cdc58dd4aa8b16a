// The config page's camera helpers: a pasted URL with credentials is split into the user
// and password fields; an address and a vendor fill in the usual main and sub paths; an id
// is suggested from the address; "Test" asks pinvr to connect (nothing is saved) and shows
// the picture and what the stream is, or why it cannot be recorded.
"use strict";

const form = document.querySelector('form[action="/config"]');
const csrf = form ? form.querySelector("input[name=csrf]").value : "";
const field = (p, k) => form.querySelector('[name="' + p + k + '"]');
const el = (tag, text, cls) => {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
};

function status(p, text) {
  const s = form.querySelector('[data-test-state="' + p + '"]');
  if (s) s.textContent = text;
}

// An id from the camera's address: "garage" from garage.lan, "cam-20" from 192.168.1.20.
function suggestId(p, host) {
  const id = field(p, "id");
  if (!id || id.value.trim() || !host) return;
  const ip = /^[0-9.]+$/.test(host) ? host.split(".").pop() : null;
  const name = ip ? "cam-" + ip : host.split(".")[0].toLowerCase().replace(/[^a-z0-9_-]/g, "-");
  id.value = name.slice(0, 32);
}

// rtsp://user:pass@host/... pasted: the credentials go to their fields, the URL keeps the rest.
function splitPasted(p, key) {
  const u = field(p, key);
  let url;
  try {
    url = new URL(u.value.trim());
  } catch (_) {
    return;
  }
  if (url.protocol !== "rtsp:") return;
  if (key === "url") suggestId(p, url.hostname);
  if (!url.username && !url.password) return;
  if (url.username) field(p, "username").value = decodeURIComponent(url.username);
  if (url.password) field(p, "password").value = decodeURIComponent(url.password);
  url.username = "";
  url.password = "";
  u.value = url.toString();
  status(p, "The user name and password were taken out of the URL into their fields.");
}

function fillVendor(p) {
  const addr = form.querySelector('[data-addr="' + p + '"]').value.trim();
  const opt = form.querySelector('[data-vendor="' + p + '"]').selectedOptions[0];
  if (!addr || !opt || !opt.dataset.main) return;
  const host = addr.includes(":") ? addr : addr + ":554";
  field(p, "url").value = "rtsp://" + host + opt.dataset.main;
  field(p, "sub_url").value = "rtsp://" + host + opt.dataset.sub;
  suggestId(p, addr.split(":")[0]);
  status(p, opt.textContent + "'s usual paths; press Test to check them.");
}

// One stream's answer: a picture (H.264) and its facts, or why not.
function facts(title, r) {
  const box = el("div", undefined, "teststream");
  box.append(el("h4", title));
  if (!r.ok) {
    box.append(el("p", r.error, "error"));
    return box;
  }
  if (r.picture) {
    const img = el("img", undefined, "testpic");
    img.src = r.picture;
    img.alt = title + " picture";
    box.append(img);
  } else {
    box.append(el("p", "No picture: " + r.codec + " is not decoded here; a sub stream gives previews.", "muted"));
  }
  const dl = el("dl", undefined, "testfacts");
  const row = (k, v) => {
    dl.append(el("dt", k), el("dd", v));
  };
  row("codec", r.codec + " (" + r.codec_string + ")");
  row("size", r.width + "×" + r.height);
  row("frame rate", r.fps ? r.fps + " fps" : "unknown");
  row("key frame every", r.gop_s ? r.gop_s + " s" : "more than 4 s");
  row("transport", r.transport.toUpperCase());
  row("audio", r.audio ? "yes (" + r.others.filter((o) => o.startsWith("audio")).join(", ") + "), not recorded" : "none");
  box.append(dl);
  return box;
}

async function test(p) {
  const out = form.querySelector('[data-test-result="' + p + '"]');
  const body = {
    url: field(p, "url").value,
    sub_url: field(p, "sub_url").value,
    username: field(p, "username").value,
    password: field(p, "password").value,
    transport: field(p, "transport").value,
    camera: field(p, "orig").value,
  };
  status(p, "testing… (up to 15 s per stream)");
  out.hidden = true;
  out.replaceChildren();
  let r;
  try {
    r = await fetch("/api/1/camera-test", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(body),
    });
  } catch (e) {
    status(p, "pinvr did not answer: " + e.message);
    return;
  }
  const text = await r.text();
  if (!r.ok) {
    status(p, text.trim() || "pinvr answered " + r.status);
    return;
  }
  const a = JSON.parse(text).payload;
  if (a.url !== body.url) field(p, "url").value = a.url;
  if (a.username && !body.username) field(p, "username").value = a.username;
  out.append(facts("Main stream", a.main));
  if (a.sub) out.append(facts("Sub stream", a.sub));
  out.hidden = false;
  const good = a.main.ok && (!a.sub || a.sub.ok);
  out.dataset.ok = String(good);
  status(p, good ? "It works: save to record it." : "See below.");
}

if (form) {
  for (const b of form.querySelectorAll("[data-test]")) {
    const p = b.dataset.test;
    b.addEventListener("click", () => test(p));
    for (const key of ["url", "sub_url"]) {
      const f = field(p, key);
      if (f) f.addEventListener("change", () => splitPasted(p, key));
    }
    const addr = form.querySelector('[data-addr="' + p + '"]');
    if (addr) {
      addr.addEventListener("change", () => fillVendor(p));
      form.querySelector('[data-vendor="' + p + '"]').addEventListener("change", () => fillVendor(p));
    }
  }
}
