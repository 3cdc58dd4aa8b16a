//! The config form: every setting of the file, validated by the same rules, errors shown
//! beside their fields, saved atomically (the recorder applies the file without restart).
//! Camera passwords are never sent to the browser: a blank password field keeps the old one.

use super::html::{esc, page};
use crate::app::App;
use crate::config::{self, RawCamera, RawConfig, RawReaper, Secret};
use std::collections::HashMap;

/// Errors by form field name.
pub type FieldErrors = HashMap<String, String>;

fn opt_num(v: Option<f64>) -> String {
    v.map_or(String::new(), |x| x.to_string())
}

fn input(
    name: &str,
    label: &str,
    value: &str,
    errors: &FieldErrors,
    kind: &str,
    hint: &str,
) -> String {
    let err = errors.get(name).map_or(String::new(), |e| {
        format!("<span class=\"ferr\" role=\"alert\">{}</span>", esc(e))
    });
    // These are settings, not a login: browsers must not fill them in. Camera passwords
    // are masked text fields, because browsers take several password inputs in one form
    // for a malformed login form.
    let (kind, mut class) = match kind {
        "secret" => ("text", vec!["secret"]),
        k => (k, vec![]),
    };
    if errors.contains_key(name) {
        class.push("bad");
    }
    let auto = if kind == "password" {
        "new-password"
    } else {
        "off"
    };
    let cls = if class.is_empty() {
        String::new()
    } else {
        format!(" class=\"{}\"", class.join(" "))
    };
    format!(
        "<label>{label}<input{cls} autocomplete=\"{auto}\" spellcheck=\"false\" type=\"{kind}\" name=\"{n}\" value=\"{v}\" placeholder=\"{h}\">{err}</label>",
        n = esc(name),
        v = esc(value),
        h = esc(hint)
    )
}

/// Renders the form for `raw`, with `errors` beside their fields.
pub fn render(app: &App, raw: &RawConfig, errors: &FieldErrors, csrf: &str, note: &str) -> String {
    let loaded = app.loaded();
    let mut b = String::from("<h1>Configuration</h1>");
    b.push_str(&format!(
        "<p class=\"muted\">File: <code>{}</code></p>",
        esc(&app.config_path.display().to_string())
    ));
    if let Some(e) = &loaded.error {
        b.push_str(&format!("<p class=\"error\">The file on disk is invalid, so the last good settings are in use: <code>{}</code></p>", esc(e)));
    }
    if !note.is_empty() {
        b.push_str(&format!("<p class=\"ok\">{}</p>", esc(note)));
    }
    if let Some(e) = errors.get("") {
        b.push_str(&format!("<p class=\"error\">{}</p>", esc(e)));
    }
    b.push_str(&format!("<form method=\"post\" action=\"/config\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">", esc(csrf)));
    b.push_str("<fieldset><legend>Storage</legend>");
    b.push_str(&input(
        "data_dir",
        "Recordings folder",
        raw.data_dir.as_deref().unwrap_or(""),
        errors,
        "text",
        config::DEFAULT_DATA_DIR,
    ));
    b.push_str(&input(
        "archive_dir",
        "Archive folder",
        raw.archive_dir.as_deref().unwrap_or(""),
        errors,
        "text",
        "<recordings>/archive",
    ));
    b.push_str("</fieldset><fieldset><legend>Web</legend>");
    b.push_str(&input(
        "web.listen",
        "Listen address",
        raw.web.listen.as_deref().unwrap_or(""),
        errors,
        "text",
        config::DEFAULT_LISTEN,
    ));
    b.push_str(&input(
        "web.admin_password",
        "Admin password (blank keeps it)",
        "",
        errors,
        "password",
        if raw.web.admin_password.is_some() {
            "set"
        } else {
            "none"
        },
    ));
    b.push_str("<label class=\"check\"><input type=\"checkbox\" name=\"web.clear_password\"> remove the admin password</label>");
    b.push_str("</fieldset><fieldset><legend>Reconnecting</legend>");
    let r = &raw.retry;
    b.push_str(&input(
        "retry.connect_timeout_s",
        "Connect timeout (s)",
        &opt_num(r.connect_timeout_s),
        errors,
        "text",
        "30",
    ));
    b.push_str(&input(
        "retry.gap_timeout_s",
        "Silence timeout (s)",
        &opt_num(r.gap_timeout_s),
        errors,
        "text",
        "5",
    ));
    b.push_str(&input(
        "retry.retry_delay_s",
        "First retry delay (s)",
        &opt_num(r.retry_delay_s),
        errors,
        "text",
        "2",
    ));
    b.push_str(&input(
        "retry.retry_max_delay_s",
        "Longest retry delay (s)",
        &opt_num(r.retry_max_delay_s),
        errors,
        "text",
        "60",
    ));
    b.push_str("</fieldset><fieldset><legend>Disk space</legend>");
    let rp = raw.reaper.clone().unwrap_or_default();
    b.push_str(&format!(
        "<label class=\"check\"><input type=\"checkbox\" name=\"reaper.enabled\"{}> delete the oldest minutes to keep disk space free</label>",
        if raw.reaper.is_some() { " checked" } else { "" }
    ));
    b.push_str(&input(
        "reaper.min_free_percent",
        "Keep free (%)",
        &opt_num(rp.min_free_percent),
        errors,
        "text",
        "10",
    ));
    b.push_str(&input(
        "reaper.min_free_bytes",
        "Keep free (bytes)",
        &rp.min_free_bytes.map_or(String::new(), |v| v.to_string()),
        errors,
        "text",
        "1073741824",
    ));
    b.push_str(&input(
        "reaper.max_age_days",
        "Delete after (days)",
        &rp.max_age_days.map_or(String::new(), |v| v.to_string()),
        errors,
        "text",
        "never",
    ));
    b.push_str(&input(
        "reaper.interval_s",
        "Check every (s)",
        &opt_num(rp.interval_s),
        errors,
        "text",
        "30",
    ));
    b.push_str("</fieldset><fieldset><legend>Cameras</legend>");
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
        b.push_str(&format!(
            "<label class=\"check\"><input type=\"checkbox\" name=\"{p}enabled\"{}> record</label>",
            if c.enabled.unwrap_or(true) {
                " checked"
            } else {
                ""
            }
        ));
        if !c.id.is_empty() {
            b.push_str(&format!("<label class=\"check\"><input type=\"checkbox\" name=\"{p}delete\"> remove this camera</label>"));
        }
        b.push_str("</div>");
    }
    b.push_str("</fieldset><button type=\"submit\">Save and apply</button></form>");
    if loaded.config.web.admin_password.is_some() {
        b.push_str(&format!("<form method=\"post\" action=\"/logout\"><input type=\"hidden\" name=\"csrf\" value=\"{}\"><button type=\"submit\">Log out</button></form>", esc(csrf)));
    }
    page("Configuration", &b)
}

/// Builds a raw config from a submitted form, on top of `old` (for kept passwords), and
/// checks it. Returns what was typed and the errors by field (empty when it is valid).
pub fn from_form(form: &HashMap<String, String>, old: &RawConfig) -> (RawConfig, FieldErrors) {
    let mut errors = FieldErrors::new();
    let text = |k: &str| {
        form.get(k)
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
    };
    let mut num = |k: &str| -> Option<f64> {
        let v = text(k)?;
        match v.parse::<f64>() {
            Ok(x) if x.is_finite() => Some(x),
            _ => {
                errors.insert(k.into(), format!("{v:?} is not a number"));
                None
            }
        }
    };
    let mut raw = RawConfig {
        data_dir: text("data_dir"),
        archive_dir: text("archive_dir"),
        ..Default::default()
    };
    raw.web.listen = text("web.listen");
    raw.web.admin_password = match (
        text("web.admin_password"),
        form.contains_key("web.clear_password"),
    ) {
        (_, true) => None,
        (Some(p), _) => Some(Secret(p)),
        (None, _) => old.web.admin_password.clone(),
    };
    raw.retry.connect_timeout_s = num("retry.connect_timeout_s");
    raw.retry.gap_timeout_s = num("retry.gap_timeout_s");
    raw.retry.retry_delay_s = num("retry.retry_delay_s");
    raw.retry.retry_max_delay_s = num("retry.retry_max_delay_s");
    if form.contains_key("reaper.enabled") {
        let pct = num("reaper.min_free_percent");
        let interval = num("reaper.interval_s");
        let mut int = |k: &str| -> Option<u64> {
            let v = text(k)?;
            v.parse()
                .map_err(|_| errors.insert(k.into(), format!("{v:?} is not a whole number")))
                .ok()
        };
        let bytes = int("reaper.min_free_bytes");
        let days = int("reaper.max_age_days").map(|d| d.min(u64::from(u32::MAX)) as u32);
        raw.reaper = Some(RawReaper {
            min_free_percent: pct,
            min_free_bytes: bytes,
            max_age_days: days,
            interval_s: interval,
        });
    }
    // Camera rows: cam.N.*; the row index of each camera kept, to place its errors.
    let mut rows = Vec::new();
    for i in 0.. {
        let p = format!("cam.{i}.");
        if !form.contains_key(&format!("{p}orig")) {
            break;
        }
        let (id, url) = (
            text(&format!("{p}id")).unwrap_or_default(),
            text(&format!("{p}url")).unwrap_or_default(),
        );
        if form.contains_key(&format!("{p}delete")) || (id.is_empty() && url.is_empty()) {
            continue;
        }
        let orig = text(&format!("{p}orig")).unwrap_or_default();
        let kept = old
            .cameras
            .iter()
            .find(|c| c.id == orig)
            .and_then(|c| c.password.clone());
        raw.cameras.push(RawCamera {
            id,
            url,
            username: text(&format!("{p}username")),
            password: text(&format!("{p}password")).map(Secret).or(kept),
            enabled: Some(form.contains_key(&format!("{p}enabled"))),
            transport: text(&format!("{p}transport")),
            dir: text(&format!("{p}dir")),
            max_age_days: None,
        });
        let key = format!("{p}max_age_days");
        if let Some(v) = text(&key) {
            match v.parse::<u32>() {
                Ok(d) => raw.cameras.last_mut().expect("pushed above").max_age_days = Some(d),
                Err(_) => {
                    errors.insert(key, format!("{v:?} is not a whole number of days"));
                }
            }
        }
        rows.push(i);
    }
    if errors.is_empty()
        && let Err(e) = config::validate(&raw)
    {
        for line in e.to_string().lines() {
            let (field, msg) = line.split_once(": ").unwrap_or(("", line));
            errors.insert(form_field(field, &rows), msg.to_owned());
        }
    }
    (raw, errors)
}

/// Maps a config path (`cameras[1].id`) to its form field (`cam.<row>.id`).
fn form_field(path: &str, rows: &[usize]) -> String {
    if let Some(rest) = path.strip_prefix("cameras[")
        && let Some((n, field)) = rest.split_once("].")
        && let Some(row) = n.parse::<usize>().ok().and_then(|k| rows.get(k))
    {
        return format!("cam.{row}.{field}");
    }
    path.to_owned()
}

/// Saves a valid form's config and makes it the one in force.
pub fn save(app: &App, raw: RawConfig) -> crate::Result<()> {
    let config = config::save(&app.config_path, &raw)?;
    app.set(raw, config);
    Ok(())
}
