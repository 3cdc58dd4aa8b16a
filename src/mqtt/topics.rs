//! What pinvr publishes and where (`<prefix>` is `mqtt.prefix`, `pinvr` by default):
//!
//! | topic | payload | retained |
//! |---|---|---|
//! | `<prefix>/available` | `online`; `offline` (the will, or at a clean stop) | yes |
//! | `<prefix>/<camera>/state` | `recording`, `connecting`, `retrying`, `disabled` | yes |
//! | `<prefix>/<camera>/snapshot` | the newest minute's preview JPEG, once a minute | yes |
//! | `<prefix>/<camera>/change` | a tag added, as JSON (`tags.json`'s form) | no |
//! | `<prefix>/disk_free_bytes` | free bytes where recordings go | yes |
//! | `<prefix>/clock` | `synchronized`, `unsynchronized`, `unknown` | yes |
//!
//! With discovery, Home Assistant's configs go under `homeassistant/`: per camera an MQTT
//! camera (from the snapshot topic) and a "recording" binary sensor, and for the recorder a
//! disk-free sensor and a clock binary sensor, all on one device per pinvr (its prefix).

use serde_json::{Value, json};

/// Home Assistant's discovery prefix.
pub const DISCOVERY: &str = "homeassistant";

/// Topic names for one prefix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Topics {
    /// The prefix.
    pub prefix: String,
}

impl Topics {
    /// `<prefix>/available`.
    pub fn available(&self) -> String {
        format!("{}/available", self.prefix)
    }

    /// `<prefix>/<camera>/<what>`.
    pub fn camera(&self, camera: &str, what: &str) -> String {
        format!("{}/{camera}/{what}", self.prefix)
    }

    /// `<prefix>/<what>`.
    pub fn recorder(&self, what: &str) -> String {
        format!("{}/{what}", self.prefix)
    }

    /// The device's id in Home Assistant: the prefix, made safe.
    fn node(&self) -> String {
        let p: String = self
            .prefix
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        format!("pinvr_{p}")
    }

    /// The device every entity belongs to.
    fn device(&self) -> Value {
        json!({
            "identifiers": [self.node()],
            "name": format!("pinvr {}", self.prefix),
            "manufacturer": "pinvr",
            "model": "network video recorder",
            "sw_version": env!("CARGO_PKG_VERSION"),
        })
    }

    /// Discovery configs for camera `id`: (topic, payload).
    pub fn camera_discovery(&self, id: &str) -> Vec<(String, Value)> {
        let node = self.node();
        vec![
            (
                format!("{DISCOVERY}/camera/{node}/{id}/config"),
                json!({
                    "name": id,
                    "unique_id": format!("{node}_{id}_camera"),
                    "topic": self.camera(id, "snapshot"),
                    "availability_topic": self.available(),
                    "device": self.device(),
                }),
            ),
            (
                format!("{DISCOVERY}/binary_sensor/{node}/{id}_recording/config"),
                json!({
                    "name": format!("{id} recording"),
                    "unique_id": format!("{node}_{id}_recording"),
                    "state_topic": self.camera(id, "state"),
                    "value_template": "{{ 'ON' if value == 'recording' else 'OFF' }}",
                    "device_class": "running",
                    "availability_topic": self.available(),
                    "device": self.device(),
                }),
            ),
        ]
    }

    /// Discovery configs of the recorder itself.
    pub fn recorder_discovery(&self) -> Vec<(String, Value)> {
        let node = self.node();
        vec![
            (
                format!("{DISCOVERY}/sensor/{node}/disk_free/config"),
                json!({
                    "name": "disk free",
                    "unique_id": format!("{node}_disk_free"),
                    "state_topic": self.recorder("disk_free_bytes"),
                    "unit_of_measurement": "B",
                    "device_class": "data_size",
                    "state_class": "measurement",
                    "availability_topic": self.available(),
                    "device": self.device(),
                }),
            ),
            (
                format!("{DISCOVERY}/binary_sensor/{node}/clock/config"),
                json!({
                    "name": "clock synchronized",
                    "unique_id": format!("{node}_clock"),
                    "state_topic": self.recorder("clock"),
                    "value_template": "{{ 'ON' if value == 'synchronized' else 'OFF' }}",
                    "availability_topic": self.available(),
                    "device": self.device(),
                }),
            ),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discovery_has_what_home_assistant_requires() {
        let t = Topics {
            prefix: "site/one".into(),
        };
        let all: Vec<_> = t
            .camera_discovery("front")
            .into_iter()
            .chain(t.recorder_discovery())
            .collect();
        assert_eq!(all.len(), 4);
        for (topic, v) in &all {
            assert!(topic.starts_with("homeassistant/") && topic.ends_with("/config"));
            assert!(topic.contains("/pinvr_site_one/"), "{topic}");
            for k in ["name", "unique_id", "device", "availability_topic"] {
                assert!(v.get(k).is_some(), "{topic} lacks {k}");
            }
            assert!(v.get("state_topic").or(v.get("topic")).is_some(), "{topic}");
        }
        assert_eq!(all[0].1["topic"], "site/one/front/snapshot");
    }
}
