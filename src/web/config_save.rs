//! Saving the config form: what was typed becomes a raw config on top of the one in force
//! (kept passwords), is checked by the same rules as the file, and saved atomically; the
//! recorder applies it without a restart. A camera whose address changed does not keep
//! its saved password silently: the form asks for it again, or for consent to send it to
//! the new address (else anyone could point a camera at their own server and read it).

use super::auth::Who;
use super::config_form::{FieldErrors, html};
use super::ctx::Ctx;
use super::form_fields::SEND_PASSWORD;
use super::reply::Reply;
use super::request::Request;
use crate::config::{self, RawCamera, RawConfig, RawReaper, Secret, password};
use crate::error::Result;
use std::collections::HashMap;

/// `POST /config`.
pub fn save(ctx: &Ctx, _rq: &Request, who: &Who, form: &HashMap<String, String>) -> Result<Reply> {
    let app = &ctx.app;
    let old = app.loaded().raw;
    let (raw, errors) = from_form(form, &old);
    if !errors.is_empty() {
        // Show what was typed (never passwords) with the errors beside it.
        return Ok(html(ctx, &raw, &errors, who.csrf(), "", ""));
    }
    let password_changed = raw.web.admin_password != old.web.admin_password;
    let config = config::save(&app.config_path, &raw)?;
    app.set(raw, config);
    log::info!("config saved from the web form");
    if password_changed && let Some(s) = &who.session {
        // Everyone else logged in with the old password is logged out.
        ctx.auth.sessions.remove_others(&s.id);
        log::info!("web: the admin password was changed; other sessions ended");
    }
    Ok(Reply::redirect("/config?saved=1"))
}

/// True if `a` and `b` name the same host and port (the place a password is sent to).
fn same_place(a: &str, b: &str) -> bool {
    match (url::Url::parse(a), url::Url::parse(b)) {
        (Ok(a), Ok(b)) => {
            a.host_str() == b.host_str() && a.port_or_known_default() == b.port_or_known_default()
        }
        _ => false,
    }
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
    let admin_password = match form.get("web.admin_password").filter(|p| !p.is_empty()) {
        Some(p) => match password::weakness(p) {
            Some(why) => {
                errors.insert("web.admin_password".into(), format!("the password {why}"));
                old.web.admin_password.clone()
            }
            None => Some(Secret(password::hash(p))),
        },
        None => old.web.admin_password.clone(),
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
        // Not on the form: kept as the file has it.
        chunk_sync_s: old.chunk_sync_s,
        offload: old.offload.clone(),
        mqtt: super::config_mqtt::parse(form, old.mqtt.as_ref()),
        ..Default::default()
    };
    raw.web.listen = text("web.listen");
    raw.web.admin_password = admin_password;
    raw.web.anonymous_view = Some(form.contains_key("web.anonymous_view"));
    raw.web.hosts = text("web.hosts")
        .map(|h| {
            h.split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default();
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
        let before = old.cameras.iter().find(|c| c.id == orig);
        // A pasted rtsp://user:password@host/... is split into the fields, not refused.
        let (url, url_user, url_password) = match super::camera_test::split(&url) {
            Ok(s) if s.username.is_some() || s.password.is_some() => {
                (s.url.to_string(), s.username, s.password)
            }
            _ => (url, None, None),
        };
        let typed = text(&format!("{p}password")).or(url_password).map(Secret);
        let mut kept = before.and_then(|c| c.password.clone());
        if typed.is_none()
            && kept.is_some()
            && before.is_some_and(|c| !same_place(&c.url, &url))
            && !form.contains_key(&format!("{p}{SEND_PASSWORD}"))
        {
            errors.insert(
                format!("{p}password"),
                "the address changed: type the camera's password again, or tick the box to send the saved one to the new address".into(),
            );
            errors.insert(format!("{p}{SEND_PASSWORD}"), String::new());
            kept = None;
        }
        let sub_url = text(&format!("{p}sub_url"));
        // The saved password goes only where it went before: a sub stream on another host
        // needs it typed again, as a changed main address does.
        if typed.is_none()
            && kept.is_some()
            && let (Some(b), Some(s)) = (before, sub_url.as_deref())
            && !same_place(&b.url, s)
            && !b.sub_url.as_deref().is_some_and(|o| same_place(o, s))
            && !form.contains_key(&format!("{p}{SEND_PASSWORD}"))
        {
            errors.insert(
                format!("{p}password"),
                "the sub stream is on another address: type the camera's password again, or tick the box to send the saved one there".into(),
            );
            errors.insert(format!("{p}{SEND_PASSWORD}"), String::new());
            kept = None;
        }
        raw.cameras.push(RawCamera {
            id,
            url,
            sub_url,
            username: text(&format!("{p}username")).or(url_user),
            password: typed.or(kept),
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
