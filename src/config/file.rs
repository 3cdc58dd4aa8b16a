//! Reading and writing the configuration file. Saving is atomic (temporary file, fsync,
//! rename) and keeps the previous version as `<file>.bak`.

use super::{Config, RawConfig, validate};
use crate::error::{Error, IoContext, Result};
use crate::fsutil;
use std::path::Path;

/// Parses JSON text into the raw model; errors name the field path, line and column.
pub fn parse(text: &str) -> Result<RawConfig> {
    let mut de = serde_json::Deserializer::from_str(text);
    let raw: RawConfig = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if path == "." || path.is_empty() {
            Error::invalid(inner.to_string())
        } else {
            Error::invalid(format!("{path}: {inner}"))
        }
    })?;
    de.end().map_err(|e| Error::invalid(e.to_string()))?;
    Ok(raw)
}

/// Reads, parses and validates the file at `path`.
pub fn load(path: &Path) -> Result<(RawConfig, Config)> {
    let text = std::fs::read_to_string(path).ctx(format_args!("reading {}", path.display()))?;
    let raw = parse(&text).map_err(|e| e.context(path.display()))?;
    let config = validate(&raw).map_err(|e| e.context(path.display()))?;
    Ok((raw, config))
}

/// Validates `raw`, then writes it to `path` atomically, keeping the old file as `.bak`.
/// Nothing is written if validation fails.
pub fn save(path: &Path, raw: &RawConfig) -> Result<Config> {
    let config = validate(raw)?;
    let mut text = serde_json::to_string_pretty(raw)
        .map_err(|e| Error::invalid(format!("serialising config: {e}")))?;
    text.push('\n');
    if path.exists() {
        let bak = fsutil::with_suffix(path, ".bak");
        std::fs::copy(path, &bak).ctx(format_args!("copying {} to .bak", path.display()))?;
    }
    fsutil::write_bytes_atomic(path, text.as_bytes())?;
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        match parse(text).and_then(|r| validate(&r)) {
            Ok(_) => panic!("accepted {text}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn minimal_file_takes_defaults() {
        let raw = parse(r#"{"cameras":[{"id":"front","url":"rtsp://10.0.0.2/s"}]}"#).unwrap();
        let c = validate(&raw).unwrap();
        assert_eq!(c.data_dir, Path::new("/data/pinvr"));
        assert_eq!(c.archive_dir, Path::new("/data/pinvr/archive"));
        assert_eq!(c.cameras[0].dir, Path::new("/data/pinvr/front"));
        assert_eq!(c.retry.connect_timeout.as_secs(), 30);
        assert_eq!(c.retry.gap_timeout.as_secs(), 5);
        assert!(c.reaper.is_none());
        assert!(c.cameras[0].enabled);
        assert_eq!(c.web.listen.port(), 8080);
    }

    #[test]
    fn design_example_is_valid() {
        let text = r#"{
          "data_dir": "/data/pinvr", "archive_dir": "/data/pinvr/archive",
          "web": { "listen": "0.0.0.0:8080", "admin_password": null },
          "retry": { "connect_timeout_s": 30, "gap_timeout_s": 5,
                     "retry_delay_s": 2, "retry_max_delay_s": 60 },
          "reaper": { "min_free_percent": 10, "min_free_bytes": 1073741824,
                      "max_age_days": null, "interval_s": 30 },
          "cameras": [
            { "id": "front", "url": "rtsp://192.168.1.20:554/stream1",
              "username": "admin", "password": "secret",
              "enabled": true, "transport": "tcp", "dir": null } ] }"#;
        let c = validate(&parse(text).unwrap()).unwrap();
        assert_eq!(c.reaper.unwrap().min_free_bytes, 1 << 30);
        assert!(!format!("{c:?}").contains("secret"));
    }

    #[test]
    fn errors_name_the_field() {
        let e = err(
            r#"{"cameras":[{"id":"a","url":"rtsp://h/"},{"id":"Front Door","url":"rtsp://h/"}]}"#,
        );
        assert_eq!(
            e,
            r#"cameras[1].id: "Front Door" must match [a-z0-9_-]{1,32}"#
        );
        let e = err(r#"{"cameras":[{"id":"a","url":"rtsp://h/","colour":1}]}"#);
        assert!(
            e.starts_with("cameras[0].colour: unknown field `colour`"),
            "{e}"
        );
        let e = err(r#"{"retry":{"gap_timeout_s":-1}}"#);
        assert!(e.starts_with("retry.gap_timeout_s: -1 must be"), "{e}");
        let e = err(r#"{"retry":{"gap_timeout_s":"5"}}"#);
        assert!(e.starts_with("retry.gap_timeout_s: invalid type"), "{e}");
        let e = err(r#"{"cameras":[{"id":"a","url":"http://h/"}]}"#);
        assert!(e.starts_with("cameras[0].url:"), "{e}");
        let e = err(r#"{"cameras":[{"id":"a","url":"rtsp://u:p@h/"}]}"#);
        assert!(e.contains("must not contain a user name"), "{e}");
        let e = err(r#"{"cameras":[{"id":"a","url":"rtsp://h/"},{"id":"a","url":"rtsp://h/"}]}"#);
        assert!(
            e.contains("cameras[1].id") && e.contains("earlier camera"),
            "{e}"
        );
        let e = err(r#"{"web":{"listen":"8080"}}"#);
        assert!(e.starts_with("web.listen:"), "{e}");
        let e = err(r#"{"cameras":[{"id":"a"}]}"#);
        assert!(e.contains("missing field `url`"), "{e}");
        let e = err(r#"{} x"#);
        assert!(e.contains("trailing"), "{e}");
    }

    #[test]
    fn random_text_never_panics() {
        let mut s: u64 = 0x2545_f491_4f6c_dd1d;
        let alphabet = br#"{}[]:,"0123456789.-eE truefalsnul\cameras id url data_dir web retry"#;
        for _ in 0..20_000 {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            let len = (s % 80) as usize;
            let text: String = (0..len)
                .map(|i| {
                    let k = (s.rotate_left(i as u32 * 7) % alphabet.len() as u64) as usize;
                    alphabet[k] as char
                })
                .collect();
            let _ = parse(&text).and_then(|r| validate(&r));
        }
    }

    #[test]
    fn save_is_atomic_and_keeps_a_backup() {
        let dir = std::env::temp_dir().join(format!("pinvr-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("pinvr.json");
        std::fs::write(&path, "{}\n").unwrap();
        let mut raw = RawConfig::default();
        raw.cameras.push(super::super::RawCamera {
            id: "Bad Id".into(),
            url: "rtsp://h/".into(),
            ..Default::default()
        });
        assert!(save(&path, &raw).is_err());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{}\n");
        raw.cameras[0].id = "good".into();
        save(&path, &raw).unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.join("pinvr.json.bak")).unwrap(),
            "{}\n"
        );
        let (again, _) = load(&path).unwrap();
        assert_eq!(again, raw);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
