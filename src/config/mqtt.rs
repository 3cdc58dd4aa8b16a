//! The `mqtt` section: the broker to tell Home Assistant (and anyone else) what the
//! recorder is doing. Absent: off.

use super::secret::Secret;
use serde::{Deserialize, Serialize};

/// Default topic prefix.
pub const DEFAULT_PREFIX: &str = "pinvr";

/// `mqtt` as written in the file.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMqtt {
    /// `mqtt://host[:port]` (port 1883 by default).
    pub url: String,
    /// User name at the broker; default none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Password at the broker; default none. Never logged or sent to a browser.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<Secret>,
    /// Topic prefix; default `pinvr`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// Publish Home Assistant discovery configs under `homeassistant/`; default true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discovery: Option<bool>,
}

/// Validated `mqtt`.
#[derive(Clone, Debug, PartialEq)]
pub struct Mqtt {
    /// Broker host.
    pub host: String,
    /// Broker port.
    pub port: u16,
    /// User name.
    pub username: Option<String>,
    /// Password.
    pub password: Option<Secret>,
    /// Topic prefix, without a trailing `/`.
    pub prefix: String,
    /// Home Assistant discovery.
    pub discovery: bool,
}

/// Checks `raw`; errors are `(field, message)` pairs.
pub fn validate(raw: &RawMqtt) -> Result<Mqtt, Vec<(&'static str, String)>> {
    let mut errors = Vec::new();
    let shown = crate::fmt::redact_url(&raw.url);
    let (mut host, mut port) = (String::new(), 1883);
    match url::Url::parse(&raw.url) {
        Err(e) => errors.push(("mqtt.url", format!("{shown:?} is not a URL: {e}"))),
        Ok(u) if u.scheme() == "mqtts" => errors.push((
            "mqtt.url",
            "mqtts:// (TLS) is not supported: use mqtt:// to a broker on the LAN".into(),
        )),
        Ok(u) if u.scheme() != "mqtt" => {
            errors.push(("mqtt.url", format!("{shown:?} must start with mqtt://")))
        }
        Ok(u) if !u.username().is_empty() || u.password().is_some() => errors.push((
            "mqtt.url",
            "must not contain a user name or password; use mqtt.username and mqtt.password".into(),
        )),
        Ok(u) if u.path().len() > 1 || u.query().is_some() => errors.push((
            "mqtt.url",
            format!("{shown:?} must be mqtt://host[:port] (no path)"),
        )),
        Ok(u) => match u.host_str() {
            Some(h) if !h.is_empty() => {
                host = h.trim_start_matches('[').trim_end_matches(']').to_owned();
                port = u.port().unwrap_or(1883);
            }
            _ => errors.push(("mqtt.url", format!("{shown:?} has no host"))),
        },
    }
    let prefix = raw.prefix.clone().unwrap_or_else(|| DEFAULT_PREFIX.into());
    let ok = !prefix.is_empty()
        && prefix.len() <= 64
        && !prefix.starts_with('/')
        && !prefix.ends_with('/')
        && prefix
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-/".contains(&b));
    if !ok {
        errors.push((
            "mqtt.prefix",
            format!("{prefix:?} must be letters, digits, _ - and inner /, at most 64"),
        ));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Mqtt {
        host,
        port,
        username: raw.username.clone().filter(|u| !u.is_empty()),
        password: raw.password.clone().filter(|p| !p.0.is_empty()),
        prefix,
        discovery: raw.discovery.unwrap_or(true),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(url: &str) -> RawMqtt {
        RawMqtt {
            url: url.into(),
            ..Default::default()
        }
    }

    #[test]
    fn takes_host_and_port() {
        let m = validate(&raw("mqtt://ha.lan")).unwrap();
        assert_eq!(
            (m.host.as_str(), m.port, m.prefix.as_str(), m.discovery),
            ("ha.lan", 1883, "pinvr", true)
        );
        assert_eq!(
            validate(&raw("mqtt://127.0.0.1:18830")).unwrap().port,
            18830
        );
    }

    #[test]
    fn refuses_what_it_cannot_use_without_showing_secrets() {
        for (url, says) in [
            ("mqtts://ha.lan", "TLS"),
            ("http://ha.lan", "mqtt://"),
            ("mqtt://me:hunter2@ha.lan", "mqtt.username"),
            ("mqtt://ha.lan/x", "no path"),
            ("ha.lan", "not a URL"),
        ] {
            let e = validate(&raw(url)).unwrap_err();
            assert!(e[0].1.contains(says), "{url}: {e:?}");
            assert!(!e[0].1.contains("hunter2"));
        }
        let mut r = raw("mqtt://ha.lan");
        r.prefix = Some("a/#".into());
        assert_eq!(validate(&r).unwrap_err()[0].0, "mqtt.prefix");
    }
}
