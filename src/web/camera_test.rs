//! `POST /api/1/camera-test`: the config page's "Test" button. Takes a camera's URL (and
//! sub URL, user, password) as typed, splits credentials out of a pasted URL, and answers
//! what each stream is ([`crate::probe`]) or why it cannot be recorded. One test at a time;
//! a saved password is used only for the address it was saved for, and never sent back.

use super::api::envelope;
use super::ctx::Ctx;
use super::reply::Reply;
use crate::config::{Camera, Secret, Transport};
use crate::error::{Error, ErrorKind, Result};
use crate::probe::{self, Probe};
use base64::Engine as _;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicBool, Ordering};

/// A test is running.
static BUSY: AtomicBool = AtomicBool::new(false);

/// Frees [`BUSY`] on drop.
struct Running;

impl Drop for Running {
    fn drop(&mut self) {
        BUSY.store(false, Ordering::SeqCst);
    }
}

/// A URL as typed, with any `user:password@` taken out of it.
#[derive(Debug, PartialEq)]
pub struct Split {
    /// The URL without credentials.
    pub url: url::Url,
    /// The user name that was in it.
    pub username: Option<String>,
    /// The password that was in it.
    pub password: Option<String>,
}

/// Parses an RTSP URL as a person pastes it (`rtsp://admin:pw@192.168.1.20/...`).
pub fn split(typed: &str) -> Result<Split> {
    let shown = crate::fmt::redact_url(typed);
    let mut url = url::Url::parse(typed.trim())
        .map_err(|e| Error::invalid(format!("{shown:?} is not a URL: {e}")))?;
    if url.scheme() != "rtsp" {
        return Err(Error::invalid(format!("{shown:?} must start with rtsp://")));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(Error::invalid(format!("{shown:?} has no host")));
    }
    let decode = |s: &str| percent_decode(s);
    let username = Some(decode(url.username())).filter(|u| !u.is_empty());
    let password = url.password().map(decode);
    let _ = url.set_username("");
    let _ = url.set_password(None);
    Ok(Split {
        url,
        username,
        password,
    })
}

/// `%XX` escapes decoded (credentials in URLs are percent-encoded).
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%'
            && let (Some(h), Some(l)) = (
                b.get(i + 1).and_then(|&c| hex(c)),
                b.get(i + 2).and_then(|&c| hex(c)),
            )
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A probe's answer as the page shows it.
fn probe_json(r: Result<Probe>) -> Value {
    match r {
        Ok(p) => json!({
            "ok": true,
            "codec": p.codec,
            "codec_string": p.codec_string,
            "width": p.width,
            "height": p.height,
            "fps": p.fps.map(|f| (f * 10.0).round() / 10.0),
            "gop_s": p.gop_s.map(|g| (g * 100.0).round() / 100.0),
            "transport": p.transport,
            "others": p.others,
            "audio": p.others.iter().any(|o| o.starts_with("audio")),
            "picture": p.picture.map(|j| format!("data:image/jpeg;base64,{}", base64::engine::general_purpose::STANDARD.encode(j))),
        }),
        // Already in pinvr's words (source/rtsp.rs).
        Err(e) => json!({ "ok": false, "error": e.to_string() }),
    }
}

/// Answers a test of the camera described by `body`.
pub fn test(ctx: &Ctx, body: &Value) -> Result<Reply> {
    let field = |k: &str| {
        body.get(k)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
    };
    let main = split(field("url").ok_or_else(|| Error::invalid("url is needed"))?)?;
    let sub = field("sub_url").map(split).transpose()?;
    let username = field("username")
        .map(str::to_owned)
        .or(main.username.clone());
    let mut password = field("password")
        .map(str::to_owned)
        .or(main.password.clone());
    // "Blank keeps it": the saved password of the camera being edited, for its own
    // addresses only (a test is not a way to send it elsewhere).
    let loaded = ctx.app.loaded();
    if password.is_none()
        && let Some(saved) =
            field("camera").and_then(|id| loaded.config.cameras.iter().find(|c| c.id == id))
        && let Some(pw) = &saved.password
    {
        let places: Vec<&url::Url> = saved.url_and_sub();
        let same = |u: &url::Url| {
            places.iter().any(|p| {
                p.host_str() == u.host_str()
                    && p.port_or_known_default() == u.port_or_known_default()
            })
        };
        if same(&main.url) && sub.as_ref().is_none_or(|s| same(&s.url)) {
            password = Some(pw.expose().to_owned());
        } else {
            return Err(Error::invalid(
                "type the camera's password: the saved one is only sent to the camera's own address",
            ));
        }
    }
    if BUSY.swap(true, Ordering::SeqCst) {
        return Err(Error::new(
            ErrorKind::Busy,
            "a camera test is running already: try again in a few seconds",
        ));
    }
    let _running = Running;
    let transport = match field("transport") {
        Some("udp") => Transport::Udp,
        _ => Transport::Tcp,
    };
    let cam = |url: &url::Url| Camera {
        id: "test".into(),
        url: url.clone(),
        sub_url: None,
        sub_of: None,
        username: username.clone(),
        password: password.clone().map(Secret),
        enabled: true,
        transport,
        dir: std::env::temp_dir(),
        max_age_days: None,
    };
    let timeout = loaded
        .config
        .retry
        .connect_timeout
        .min(std::time::Duration::from_secs(15));
    let main_probe = probe_json(probe::probe(&cam(&main.url), timeout));
    let sub_probe = sub
        .as_ref()
        .map(|s| probe_json(probe::probe(&cam(&s.url), timeout)));
    Ok(envelope(json!({
        "url": main.url.as_str(),
        "sub_url": sub.as_ref().map(|s| s.url.as_str()),
        "username": username,
        "password_in_url": main.password.is_some(),
        "main": main_probe,
        "sub": sub_probe,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pasted_credentials_are_split_out() {
        let s = split("rtsp://admin:p%40ss:w@192.168.1.20:554/Streaming/Channels/101").unwrap();
        assert_eq!(
            s.url.as_str(),
            "rtsp://192.168.1.20:554/Streaming/Channels/101"
        );
        assert_eq!(s.username.as_deref(), Some("admin"));
        assert_eq!(s.password.as_deref(), Some("p@ss:w"));
        assert!(split("http://x/").is_err());
        let e = split("rtsp://admin:hunter2@").unwrap_err().to_string();
        assert!(!e.contains("hunter2"), "{e}");
    }
}
