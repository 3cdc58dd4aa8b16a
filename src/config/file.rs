//! Reading and writing the configuration file. Reading is bounded (a file over 1 MiB is
//! refused unread) and errors never show a secret: a bad value of a password field is
//! named without its value, and URLs lose their user name and password. Saving is atomic
//! (temporary file, fsync, rename), keeps the previous version as `<file>.bak`, and both
//! are readable by their owner only. A password typed in clear into the file is replaced
//! by its hash the first time the file is read.

use super::{Config, RawConfig, Secret, password, validate};
use crate::error::{Error, IoContext, Result};
use crate::fsutil;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// Largest config file read.
pub const MAX_FILE: u64 = 1 << 20;

/// Fields whose values are secrets: an error about one never shows its value.
const SECRET_FIELDS: &[&str] = &["password", "admin_password", "secret_key", "access_key"];

/// Parses JSON into the raw model; errors name the field path, line and column.
pub fn parse(text: &[u8]) -> Result<RawConfig> {
    let mut de = serde_json::Deserializer::from_slice(text);
    let raw: RawConfig = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let field = path.rsplit('.').next().unwrap_or_default();
        let field = field.split('[').next().unwrap_or_default();
        if SECRET_FIELDS.contains(&field) {
            Error::invalid(format!(
                "{path}: must be a string (the value is not shown: it is a secret) at line {} column {}",
                inner.line(),
                inner.column()
            ))
        } else if path == "." || path.is_empty() {
            Error::invalid(inner.to_string())
        } else {
            Error::invalid(format!("{path}: {inner}"))
        }
    })?;
    de.end().map_err(|e| Error::invalid(e.to_string()))?;
    Ok(raw)
}

/// Reads the file at `path`, at most [`MAX_FILE`] bytes.
fn read(path: &Path) -> Result<Vec<u8>> {
    let f = std::fs::File::open(path).ctx(format_args!("reading {}", path.display()))?;
    let len = f
        .metadata()
        .ctx(format_args!("reading {}", path.display()))?
        .len();
    if len > MAX_FILE {
        return Err(Error::invalid(format!(
            "{}: {len} bytes, more than the {MAX_FILE} a config file may have",
            path.display()
        )));
    }
    let mut text = Vec::new();
    f.take(MAX_FILE + 1)
        .read_to_end(&mut text)
        .ctx(format_args!("reading {}", path.display()))?;
    Ok(text)
}

/// Reads, parses and validates the file at `path`. An admin password in clear is replaced
/// by its hash, in the file too.
pub fn load(path: &Path) -> Result<(RawConfig, Config)> {
    let text = read(path)?;
    let mut raw = parse(&text).map_err(|e| e.context(path.display()))?;
    validate(&raw).map_err(|e| e.context(path.display()))?;
    if let Some(p) = &raw.web.admin_password
        && !password::is_hash(p.expose())
    {
        raw.web.admin_password = Some(Secret(password::hash(p.expose())));
        // The previous copy held the password in clear: it is replaced too.
        write(path, &raw, false)?;
        log::warn!(
            "{}: web.admin_password was written in clear; it is replaced by its hash",
            path.display()
        );
    }
    let config = validate(&raw).map_err(|e| e.context(path.display()))?;
    Ok((raw, config))
}

/// The `web` section of a file that does not load as a whole (another section is invalid),
/// if that section itself is readable: so the web UI keeps its address and its password.
/// A password in clear there is hashed, in the file too.
pub fn salvage_web(path: &Path) -> Option<super::RawWeb> {
    let text = read(path).ok()?;
    let v: serde_json::Value = serde_json::from_slice(&text).ok()?;
    let mut web: super::RawWeb = serde_json::from_value(v.get("web")?.clone()).ok()?;
    let probe = RawConfig {
        web: web.clone(),
        ..Default::default()
    };
    validate(&probe).ok()?;
    if let Some(p) = &web.admin_password
        && !password::is_hash(p.expose())
    {
        let hash = password::hash(p.expose());
        if patch_admin_password(path, &hash, false).is_ok() {
            log::warn!(
                "{}: web.admin_password was written in clear; it is replaced by its hash",
                path.display()
            );
        }
        web.admin_password = Some(Secret(hash));
    }
    Some(web)
}

/// Sets `web.admin_password` in a file that does not load as a whole, leaving the rest of
/// it as it is (the user fixes it later); the old file is kept as `.bak` unless it held
/// the password in clear (`keep_old` false: the `.bak` is the new file too).
pub fn patch_admin_password(path: &Path, hash: &str, keep_old: bool) -> Result<()> {
    let text = read(path)?;
    let mut v: serde_json::Value = serde_json::from_slice(&text)
        .map_err(|e| Error::invalid(format!("{}: not JSON: {e}", path.display())))?;
    let obj = v
        .as_object_mut()
        .ok_or_else(|| Error::invalid(format!("{}: not a JSON object", path.display())))?;
    let web = obj
        .entry("web")
        .or_insert_with(|| serde_json::json!({}))
        .as_object_mut()
        .ok_or_else(|| Error::invalid(format!("{}: web is not an object", path.display())))?;
    web.insert("admin_password".into(), hash.into());
    let mut out = serde_json::to_string_pretty(&v).expect("a JSON value serialises");
    out.push('\n');
    let old = if keep_old { &text[..] } else { out.as_bytes() };
    fsutil::write_private(&fsutil::with_suffix(path, ".bak"), old)?;
    fsutil::write_private(path, out.as_bytes())
}

/// Removes what an interrupted save of `path` left (`<file>.tmp`, `<file>.bak.tmp`: never a
/// whole file; on FAT, after a power cut, possibly a directory entry without its
/// clusters, which fsck.fat would call damage). Returns the files removed.
pub fn remove_leftovers(path: &Path) -> Vec<std::path::PathBuf> {
    let bak = crate::fsutil::with_suffix(path, ".bak");
    [crate::fsutil::tmp_path(path), crate::fsutil::tmp_path(&bak)]
        .into_iter()
        .filter(|t| std::fs::remove_file(t).is_ok())
        .collect()
}

/// Validates `raw`, then writes it to `path` atomically, keeping the old file as `.bak`.
/// Nothing is written if validation fails.
pub fn save(path: &Path, raw: &RawConfig) -> Result<Config> {
    let config = validate(raw)?;
    write(path, raw, true)?;
    Ok(config)
}

/// Writes `raw` to `path` (owner-only), and to `path.bak` the old file (`keep_old`) or the
/// new one.
fn write(path: &Path, raw: &RawConfig, keep_old: bool) -> Result<()> {
    let mut text = serde_json::to_string_pretty(raw)
        .map_err(|e| Error::invalid(format!("serialising config: {e}")))?;
    text.push('\n');
    let bak = fsutil::with_suffix(path, ".bak");
    if keep_old {
        if let Ok(old) = read(path) {
            fsutil::write_private(&bak, &old)?;
        }
    } else {
        fsutil::write_private(&bak, text.as_bytes())?;
    }
    fsutil::write_private(path, text.as_bytes())
}

/// Notices changes of the config file by its metadata (inode, size, modification time)
/// rather than by reading it; a file modified in the last few seconds is also compared by
/// content, since FAT keeps modification times to 2 s.
#[derive(Debug, Default)]
pub struct Watch {
    /// (device, inode, size, mtime in ns) last seen; `None` if the file was missing.
    stamp: Option<(u64, u64, u64, i128)>,
    /// Its content when last looked at, kept only while the file is recent.
    text: Option<Vec<u8>>,
}

impl Watch {
    /// A watch that takes the file's current state as seen.
    pub fn new(path: &Path) -> Watch {
        let mut w = Watch::default();
        w.changed(path);
        w
    }

    /// True if the file changed (appeared, vanished or was modified) since the last call.
    pub fn changed(&mut self, path: &Path) -> bool {
        let meta = std::fs::metadata(path).ok();
        let stamp = meta.as_ref().map(|m| {
            let mtime = i128::from(m.mtime()) * 1_000_000_000 + i128::from(m.mtime_nsec());
            (m.dev(), m.ino(), m.len(), mtime)
        });
        let recent = meta
            .as_ref()
            .and_then(|m| m.modified().ok())
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age.as_secs() < 4);
        let text = if recent { read(path).ok() } else { None };
        let changed = stamp != self.stamp || (recent && self.text.is_some() && text != self.text);
        self.stamp = stamp;
        self.text = text;
        changed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        match parse(text.as_bytes()).and_then(|r| validate(&r)) {
            Ok(_) => panic!("accepted {text}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn an_interrupted_saves_leftovers_are_removed_and_nothing_else() {
        let dir = std::env::temp_dir().join(format!("pinvr-leftovers-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("pinvr.json");
        for f in [
            "pinvr.json",
            "pinvr.json.bak",
            "pinvr.json.tmp",
            "pinvr.json.bak.tmp",
        ] {
            std::fs::write(dir.join(f), "{}").unwrap();
        }
        let removed = remove_leftovers(&path);
        assert_eq!(removed.len(), 2, "{removed:?}");
        assert!(path.exists() && dir.join("pinvr.json.bak").exists());
        assert!(!dir.join("pinvr.json.tmp").exists() && !dir.join("pinvr.json.bak.tmp").exists());
        assert!(remove_leftovers(&path).is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn minimal_file_takes_defaults() {
        let raw = parse(br#"{"cameras":[{"id":"front","url":"rtsp://10.0.0.2/s"}]}"#).unwrap();
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
        let c = validate(&parse(text.as_bytes()).unwrap()).unwrap();
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
            let _ = parse(text.as_bytes()).and_then(|r| validate(&r));
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
        use std::os::unix::fs::PermissionsExt;
        for f in ["pinvr.json", "pinvr.json.bak"] {
            let mode = std::fs::metadata(dir.join(f)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{f}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn errors_never_show_secrets() {
        let e = err(r#"{"cameras":[{"id":"a","url":"rtsp://h/","password":87654321}]}"#);
        assert!(
            e.starts_with("cameras[0].password: must be a string"),
            "{e}"
        );
        assert!(!e.contains("87654321"), "{e}");
        let e = err(r#"{"web":{"admin_password":{"x":"hunter22"}}}"#);
        assert!(!e.contains("hunter22"), "{e}");
        for url in [
            "rtsp://admin:hunter22@",
            "http://admin:hunter22@h/",
            "rtsp://u:hunter22@ /x",
        ] {
            let e = err(&format!(r#"{{"cameras":[{{"id":"a","url":"{url}"}}]}}"#));
            assert!(!e.contains("hunter22") && !e.contains("admin"), "{e}");
        }
    }

    #[test]
    fn a_clear_admin_password_is_hashed_on_first_read_and_huge_files_are_refused() {
        let dir = std::env::temp_dir().join(format!("pinvr-cfg2-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("pinvr.json");
        std::fs::write(&path, r#"{"web":{"admin_password":"open sesame"}}"#).unwrap();
        let (raw, config) = load(&path).unwrap();
        let stored = raw.web.admin_password.unwrap().0;
        assert!(password::is_hash(&stored));
        assert!(password::verify("open sesame", &stored));
        assert_eq!(config.web.admin_password.unwrap().0, stored);
        for f in ["pinvr.json", "pinvr.json.bak"] {
            let text = std::fs::read_to_string(dir.join(f)).unwrap();
            assert!(
                !text.contains("open sesame") && text.contains("$argon2id$"),
                "{f}: {text}"
            );
        }
        // Read again: the hash stays as it is.
        let (again, _) = load(&path).unwrap();
        assert_eq!(again.web.admin_password.unwrap().0, stored);
        let big = dir.join("big.json");
        std::fs::write(&big, vec![b' '; (MAX_FILE + 1) as usize]).unwrap();
        let e = load(&big).unwrap_err().to_string();
        assert!(e.contains("more than the 1048576"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_watch_sees_saves_and_nothing_else() {
        let dir = std::env::temp_dir().join(format!("pinvr-cfg3-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("pinvr.json");
        std::fs::write(&path, "{}").unwrap();
        let mut w = Watch::new(&path);
        assert!(!w.changed(&path));
        // Same size, same second: seen by content while the file is recent.
        std::fs::write(&path, "[]").unwrap();
        assert!(w.changed(&path));
        assert!(!w.changed(&path));
        save(&path, &RawConfig::default()).unwrap();
        assert!(w.changed(&path));
        std::fs::remove_file(&path).unwrap();
        assert!(w.changed(&path));
        assert!(!w.changed(&path));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
