//! The MQTT part of the config page: its fields, and the `mqtt` section they make.
//! The broker's password is never sent to the browser; a blank field keeps it.

use super::form_fields::{FieldErrors, input};
use crate::config::{RawMqtt, Secret};
use std::collections::HashMap;

/// The fieldset for `raw` (the file's `mqtt`, if any).
pub fn fields(raw: Option<&RawMqtt>, errors: &FieldErrors) -> String {
    let m = raw.cloned().unwrap_or_default();
    let mut b = String::from("<fieldset><legend>Home Assistant (MQTT)</legend>");
    b.push_str(&format!(
        "<label class=\"check\"><input type=\"checkbox\" name=\"mqtt.enabled\"{}> tell an MQTT broker what the recorder does (camera states, snapshots, tags, disk)</label>",
        if raw.is_some() { " checked" } else { "" }
    ));
    b.push_str(&input(
        "mqtt.url",
        "Broker",
        &m.url,
        errors,
        "text",
        "mqtt://homeassistant.lan:1883",
    ));
    b.push_str(&input(
        "mqtt.username",
        "User",
        m.username.as_deref().unwrap_or(""),
        errors,
        "text",
        "",
    ));
    let ph = if m.password.is_some() {
        "unchanged"
    } else {
        ""
    };
    b.push_str(&input(
        "mqtt.password",
        "Password (blank keeps it)",
        "",
        errors,
        "secret",
        ph,
    ));
    b.push_str(&input(
        "mqtt.prefix",
        "Topic prefix",
        m.prefix.as_deref().unwrap_or(""),
        errors,
        "text",
        crate::config::MQTT_DEFAULT_PREFIX,
    ));
    b.push_str(&format!(
        "<label class=\"check\"><input type=\"checkbox\" name=\"mqtt.discovery\"{}> Home Assistant discovery (the cameras appear in Home Assistant by themselves)</label>",
        if m.discovery.unwrap_or(true) { " checked" } else { "" }
    ));
    b.push_str("</fieldset>");
    b
}

/// The `mqtt` section the form asks for; `old` is the file's, whose password a blank
/// field keeps.
pub fn parse(form: &HashMap<String, String>, old: Option<&RawMqtt>) -> Option<RawMqtt> {
    if !form.contains_key("mqtt.enabled") {
        return None;
    }
    let text = |k: &str| {
        form.get(k)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    Some(RawMqtt {
        url: text("mqtt.url").unwrap_or_default(),
        username: text("mqtt.username"),
        password: text("mqtt.password")
            .map(Secret)
            .or_else(|| old.and_then(|m| m.password.clone())),
        prefix: text("mqtt.prefix"),
        discovery: Some(form.contains_key("mqtt.discovery")),
    })
}
