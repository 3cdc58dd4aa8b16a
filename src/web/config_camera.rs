//! The config page's cameras: one fieldset row per camera and a blank one to add a camera,
//! each with a "Test" button (config.js asks `/api/1/camera-test` and shows the picture and
//! the stream's facts); the new camera's row also takes a pasted URL with credentials (split
//! into the user and password fields) or an address and a vendor (their usual paths).

use super::form_fields::{FieldErrors, SEND_PASSWORD, input};
use super::html::esc;
use crate::config::{RawCamera, RawConfig};

/// Vendors' usual RTSP paths: (name, main stream, sub stream), port 554.
pub const VENDORS: &[(&str, &str, &str)] = &[
    (
        "Hikvision",
        "/Streaming/Channels/101",
        "/Streaming/Channels/102",
    ),
    (
        "Dahua / Amcrest",
        "/cam/realmonitor?channel=1&subtype=0",
        "/cam/realmonitor?channel=1&subtype=1",
    ),
    ("Reolink", "/h264Preview_01_main", "/h264Preview_01_sub"),
    (
        "Axis",
        "/axis-media/media.amp",
        "/axis-media/media.amp?resolution=640x360",
    ),
    ("Uniview", "/unicast/c1/s0/live", "/unicast/c1/s1/live"),
    ("TP-Link Tapo", "/stream1", "/stream2"),
    ("ONVIF (generic)", "/onvif1", "/onvif2"),
];

/// The vendor picker (new camera only) and the Test button with its result area.
fn helpers(p: &str, new: bool) -> String {
    let mut b = String::new();
    if new {
        b.push_str(&format!(
            "<div class=\"addhelp\"><label>Or: camera address<input type=\"text\" data-addr=\"{p}\" placeholder=\"192.168.1.20\" autocomplete=\"off\"></label>\
             <label>Vendor<select data-vendor=\"{p}\"><option value=\"\">choose…</option>"
        ));
        for (name, main, sub) in VENDORS {
            b.push_str(&format!(
                "<option data-main=\"{}\" data-sub=\"{}\">{}</option>",
                esc(main),
                esc(sub),
                esc(name)
            ));
        }
        b.push_str("</select></label><p class=\"muted\">A pasted URL with <code>user:password@</code> in it is split into the fields below. ONVIF cameras differ: their own app or manual names the paths.</p></div>");
    }
    b.push_str(&format!(
        "<p><button type=\"button\" class=\"button small\" data-test=\"{p}\">Test</button> \
         <span class=\"testing muted\" data-test-state=\"{p}\" role=\"status\"></span></p>\
         <div class=\"testresult\" data-test-result=\"{p}\" hidden></div>"
    ));
    b
}

/// The cameras fieldset of the config form.
pub fn fields(raw: &RawConfig, errors: &FieldErrors) -> String {
    let mut b = String::new();
    b.push_str("<fieldset><legend>Cameras</legend>");
    let blank = RawCamera::default();
    for (i, c) in raw
        .cameras
        .iter()
        .chain(std::iter::once(&blank))
        .enumerate()
    {
        let p = format!("cam.{i}.");
        b.push_str(&format!(
            "<div class=\"camera\"><h3>{}</h3>",
            if c.id.is_empty() {
                "Add a camera".into()
            } else {
                esc(&c.id)
            }
        ));
        b.push_str(&format!(
            "<input type=\"hidden\" name=\"{p}orig\" value=\"{}\">",
            esc(&c.id)
        ));
        b.push_str(&input(
            &format!("{p}id"),
            "Id (a-z 0-9 _ -)",
            &c.id,
            errors,
            "text",
            "front",
        ));
        b.push_str(&input(
            &format!("{p}url"),
            "RTSP URL",
            &c.url,
            errors,
            "text",
            "rtsp://192.168.1.20:554/stream1",
        ));
        b.push_str(&input(
            &format!("{p}sub_url"),
            "Sub stream URL (optional: previews, live grid, change search)",
            c.sub_url.as_deref().unwrap_or(""),
            errors,
            "text",
            "rtsp://192.168.1.20:554/stream2",
        ));
        b.push_str(&helpers(&p, c.id.is_empty()));
        b.push_str(&input(
            &format!("{p}username"),
            "User",
            c.username.as_deref().unwrap_or(""),
            errors,
            "text",
            "",
        ));
        let ph = if c.password.is_some() {
            "unchanged"
        } else {
            ""
        };
        b.push_str(&input(
            &format!("{p}password"),
            "Password (blank keeps it)",
            "",
            errors,
            "secret",
            ph,
        ));
        let transport = c.transport.as_deref().unwrap_or("tcp");
        b.push_str(&format!(
            "<label>Transport<select name=\"{p}transport\"><option{}>tcp</option><option{}>udp</option></select>{}</label>",
            if transport == "tcp" { " selected" } else { "" },
            if transport == "udp" { " selected" } else { "" },
            errors.get(&format!("{p}transport")).map_or(String::new(), |e| format!("<span class=\"ferr\">{}</span>", esc(e)))
        ));
        b.push_str(&input(
            &format!("{p}dir"),
            "Folder (blank: default)",
            c.dir.as_deref().unwrap_or(""),
            errors,
            "text",
            "",
        ));
        b.push_str(&input(
            &format!("{p}max_age_days"),
            "Delete after (days; blank: the global limit)",
            &c.max_age_days.map_or(String::new(), |d| d.to_string()),
            errors,
            "text",
            "",
        ));
        b.push_str(&format!(
            "<label class=\"check\"><input type=\"checkbox\" name=\"{p}enabled\"{}> record</label>",
            if c.enabled.unwrap_or(true) {
                " checked"
            } else {
                ""
            }
        ));
        if errors.contains_key(&format!("{p}{SEND_PASSWORD}")) {
            b.push_str(&format!("<label class=\"check\"><input type=\"checkbox\" name=\"{p}{SEND_PASSWORD}\"> send the saved password to the new address</label>"));
        }
        if !c.id.is_empty() {
            b.push_str(&format!("<label class=\"check\"><input type=\"checkbox\" name=\"{p}delete\"> remove this camera</label>"));
        }
        b.push_str("</div>");
    }
    b
}
