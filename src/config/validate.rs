//! Raw to validated configuration: defaults filled in, every rule checked, each failure
//! reported with the field's path.

use super::{Camera, Config, RawConfig, Reaper, Retry, Transport, Web};
use crate::error::{Error, Result};
use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Duration;

/// Checks `raw` and fills in defaults. The error lists every problem, one per line.
pub fn validate(raw: &RawConfig) -> Result<Config> {
    // Every problem is collected (not just the first), so one edit can fix them all.
    let errors = std::cell::RefCell::new(Vec::new());
    let err = |field: &str, msg: String| errors.borrow_mut().push(format!("{field}: {msg}"));

    let data_dir = PathBuf::from(raw.data_dir.as_deref().unwrap_or(super::DEFAULT_DATA_DIR));
    if data_dir.as_os_str().is_empty() {
        err("data_dir", "must not be empty".into());
    }
    let archive_dir = match raw.archive_dir.as_deref() {
        Some("") => {
            err("archive_dir", "must not be empty".into());
            PathBuf::new()
        }
        Some(d) => PathBuf::from(d),
        None => data_dir.join("archive"),
    };

    let listen_s = raw.web.listen.as_deref().unwrap_or(super::DEFAULT_LISTEN);
    let listen = listen_s.parse().unwrap_or_else(|_| {
        err(
            "web.listen",
            format!("{listen_s:?} is not an address:port such as 0.0.0.0:8080"),
        );
        ([0, 0, 0, 0], 8080).into()
    });
    if raw
        .web
        .admin_password
        .as_ref()
        .is_some_and(|p| p.0.is_empty())
    {
        err(
            "web.admin_password",
            "must not be empty (use null to set it from the web UI)".into(),
        );
    }
    let mut hosts = Vec::new();
    for (i, h) in raw.web.hosts.iter().enumerate() {
        let ok = !h.is_empty()
            && h.len() <= 253
            && h.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
        if ok {
            hosts.push(h.to_ascii_lowercase());
        } else {
            err(
                &format!("web.hosts[{i}]"),
                format!("{h:?} is not a host name"),
            );
        }
    }

    let d = Retry::default();
    let secs = |field: &str, v: Option<f64>, default: Duration, max: f64| match v {
        None => default,
        Some(s) if s > 0.0 && s <= max => Duration::from_secs_f64(s),
        Some(s) => {
            err(field, format!("{s} must be more than 0 and at most {max}"));
            default
        }
    };
    let r = &raw.retry;
    let retry = Retry {
        connect_timeout: secs(
            "retry.connect_timeout_s",
            r.connect_timeout_s,
            d.connect_timeout,
            3600.0,
        ),
        gap_timeout: secs(
            "retry.gap_timeout_s",
            r.gap_timeout_s,
            d.gap_timeout,
            3600.0,
        ),
        retry_delay: secs(
            "retry.retry_delay_s",
            r.retry_delay_s,
            d.retry_delay,
            86_400.0,
        ),
        retry_max_delay: secs(
            "retry.retry_max_delay_s",
            r.retry_max_delay_s,
            d.retry_max_delay,
            86_400.0,
        ),
    };
    if retry.retry_max_delay < retry.retry_delay {
        err(
            "retry.retry_max_delay_s",
            "must not be less than retry.retry_delay_s".into(),
        );
    }

    let reaper = raw.reaper.as_ref().map(|r| {
        let pct = r.min_free_percent.unwrap_or(10.0);
        if !(0.0..=99.0).contains(&pct) {
            err(
                "reaper.min_free_percent",
                format!("{pct} must be between 0 and 99"),
            );
        }
        if r.max_age_days == Some(0) {
            err(
                "reaper.max_age_days",
                "must be at least 1 (use null for no age limit)".into(),
            );
        }
        Reaper {
            min_free_percent: pct,
            min_free_bytes: r.min_free_bytes.unwrap_or(1 << 30),
            max_age_days: r.max_age_days,
            interval: secs(
                "reaper.interval_s",
                r.interval_s,
                Duration::from_secs(30),
                86_400.0,
            ),
        }
    });

    let chunk_sync = match raw.chunk_sync_s {
        None => Some(Duration::from_secs(5)),
        Some(0.0) => None,
        Some(s) if s > 0.0 && s <= 600.0 => Some(Duration::from_secs_f64(s)),
        Some(s) => {
            err(
                "chunk_sync_s",
                format!("{s} must be 0 (off) or more than 0 and at most 600"),
            );
            None
        }
    };

    let mut seen = HashSet::new();
    let mut cameras = Vec::new();
    for (i, c) in raw.cameras.iter().enumerate() {
        let at = |f: &str| format!("cameras[{i}].{f}");
        if !valid_id(&c.id) {
            err(
                &at("id"),
                format!("{:?} must match [a-z0-9_-]{{1,32}}", c.id),
            );
        } else if !seen.insert(c.id.clone()) {
            err(
                &at("id"),
                format!("{:?} is used by an earlier camera", c.id),
            );
        }
        let url = match check_url(&c.url) {
            Ok(u) => u,
            Err(msg) => {
                err(&at("url"), msg);
                continue;
            }
        };
        let sub_url = match c
            .sub_url
            .as_deref()
            .filter(|s| !s.is_empty())
            .map(check_url)
        {
            None => None,
            Some(Ok(u)) => Some(u),
            Some(Err(msg)) => {
                err(&at("sub_url"), msg);
                None
            }
        };
        let transport = match c.transport.as_deref() {
            None | Some("tcp") => Transport::Tcp,
            Some("udp") => Transport::Udp,
            Some(t) => {
                err(
                    &at("transport"),
                    format!("{t:?} must be \"tcp\" or \"udp\""),
                );
                Transport::Tcp
            }
        };
        if c.max_age_days == Some(0) {
            err(
                &at("max_age_days"),
                "must be at least 1 (use null for no limit)".into(),
            );
        }
        if c.dir.as_deref() == Some("") {
            err(
                &at("dir"),
                "must not be empty (use null for the default)".into(),
            );
        }
        cameras.push(Camera {
            id: c.id.clone(),
            url,
            sub_url,
            sub_of: None,
            username: c.username.clone().filter(|u| !u.is_empty()),
            password: c.password.clone().filter(|p| !p.0.is_empty()),
            enabled: c.enabled.unwrap_or(true),
            transport,
            dir: c
                .dir
                .as_deref()
                .map_or_else(|| data_dir.join(&c.id), PathBuf::from),
            max_age_days: c.max_age_days,
        });
    }

    let mqtt = raw
        .mqtt
        .as_ref()
        .and_then(|m| section(super::mqtt::validate(m), &err));
    let offload = raw
        .offload
        .as_ref()
        .and_then(|o| section(super::offload::validate(o), &err));

    let errors = errors.into_inner();
    if !errors.is_empty() {
        return Err(Error::invalid(errors.join("\n")));
    }
    Ok(Config {
        data_dir,
        archive_dir,
        chunk_sync,
        web: Web {
            listen,
            admin_password: raw.web.admin_password.clone(),
            anonymous_view: raw.web.anonymous_view.unwrap_or(false),
            hosts,
        },
        retry,
        reaper,
        cameras,
        mqtt,
        offload,
    })
}

/// An optional section validated on its own: its value, or its errors added to the others.
fn section<T>(
    r: std::result::Result<T, Vec<(&'static str, String)>>,
    err: &dyn Fn(&str, String),
) -> Option<T> {
    r.map_err(|es| es.into_iter().for_each(|(f, msg)| err(f, msg)))
        .ok()
}

/// True for camera ids safe in paths and URLs: `[a-z0-9_-]{1,32}`.
pub fn valid_id(id: &str) -> bool {
    (1..=32).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

fn check_url(s: &str) -> std::result::Result<url::Url, String> {
    // Messages show the URL without any user name or password in it.
    let shown = crate::fmt::redact_url(s);
    let u = url::Url::parse(s).map_err(|e| format!("{shown:?} is not a URL: {e}"))?;
    if u.scheme() != "rtsp" {
        return Err(format!("{shown:?} must start with rtsp://"));
    }
    if u.host_str().is_none_or(str::is_empty) {
        return Err(format!("{shown:?} has no host"));
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err("must not contain a user name or password; use username and password".into());
    }
    Ok(u)
}
