//! The `offload` section: an S3-compatible object store (SeaweedFS, MinIO, Garage, Ceph RGW,
//! AWS S3, B2) that every finished minute and archive is copied to. Absent: off.

use super::secret::Secret;
use serde::{Deserialize, Serialize};

/// `offload` as written in the file.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOffload {
    /// `http://host[:port]` or `https://host[:port]` of the store's S3 API (path-style
    /// requests).
    pub endpoint: String,
    /// The bucket (it must exist).
    pub bucket: String,
    /// The region requests are signed for; default `us-east-1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Access key id.
    pub access_key: String,
    /// Secret key. Never logged or sent to a browser.
    pub secret_key: Secret,
    /// Prefix of every object's key (`site1/`); default none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// Keep minutes on the local disk this many days once uploaded; default 7. 0: delete
    /// each minute's local copy as soon as it is uploaded (needs a `reaper` section).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_local_days: Option<u32>,
    /// Upload at most this many megabits per second; default 20.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_mbit: Option<f64>,
    /// With `https://`: a PEM file of the certificate authority that signed the store's
    /// certificate (a NAS with its own); default: the public authorities built into pinvr
    /// (Mozilla's list; the appliance has no system store).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<String>,
}

/// Validated `offload`.
#[derive(Clone, Debug, PartialEq)]
pub struct Offload {
    /// The store's endpoint.
    pub endpoint: url::Url,
    /// Bucket.
    pub bucket: String,
    /// Signing region.
    pub region: String,
    /// Access key id.
    pub access_key: String,
    /// Secret key.
    pub secret_key: Secret,
    /// Key prefix (empty, or ending in `/`).
    pub prefix: String,
    /// Days to keep uploaded minutes locally.
    pub keep_local_days: u32,
    /// Upload rate limit in bytes per second.
    pub max_bytes_per_s: f64,
    /// The PEM certificates of `ca_file`, read when the config was.
    pub ca_pem: Option<Vec<u8>>,
}

/// Checks `raw`; errors are `(field, message)` pairs. Messages never hold the secret.
pub fn validate(raw: &RawOffload) -> Result<Offload, Vec<(&'static str, String)>> {
    let mut errors = Vec::new();
    let shown = crate::fmt::redact_url(&raw.endpoint);
    let endpoint = match url::Url::parse(&raw.endpoint) {
        Err(e) => {
            errors.push(("offload.endpoint", format!("{shown:?} is not a URL: {e}")));
            None
        }
        Ok(u) if u.scheme() != "http" && u.scheme() != "https" => {
            errors.push((
                "offload.endpoint",
                format!("{shown:?} must start with http:// or https://"),
            ));
            None
        }
        Ok(u) if !u.username().is_empty() || u.password().is_some() => {
            errors.push((
                "offload.endpoint",
                "must not contain a user name or password; use access_key and secret_key".into(),
            ));
            None
        }
        Ok(u) if u.host_str().is_none_or(str::is_empty) => {
            errors.push(("offload.endpoint", format!("{shown:?} has no host")));
            None
        }
        Ok(u) => Some(u),
    };
    // S3 bucket names: 3 to 63 of a-z 0-9 . -, starting and ending with a letter or digit.
    let b = raw.bucket.as_bytes();
    let bucket_ok = (3..=63).contains(&b.len())
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'.' || *c == b'-')
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric();
    if !bucket_ok {
        errors.push((
            "offload.bucket",
            format!(
                "{:?} is not a bucket name (3 to 63 of a-z 0-9 . -)",
                raw.bucket
            ),
        ));
    }
    if raw.access_key.is_empty() || raw.secret_key.0.is_empty() {
        errors.push((
            "offload.access_key",
            "access_key and secret_key are needed".into(),
        ));
    }
    let mut prefix = raw.prefix.clone().unwrap_or_default();
    if prefix.starts_with('/') || prefix.contains("..") || prefix.len() > 200 {
        errors.push((
            "offload.prefix",
            format!("{prefix:?} must not start with / or hold .., at most 200 characters"),
        ));
    }
    if !prefix.is_empty() && !prefix.ends_with('/') {
        prefix.push('/');
    }
    let mbit = raw.max_mbit.unwrap_or(20.0);
    if !(mbit > 0.0 && mbit <= 10_000.0) {
        errors.push((
            "offload.max_mbit",
            format!("{mbit} must be more than 0 and at most 10000"),
        ));
    }
    let ca_pem = match raw.ca_file.as_deref() {
        None => None,
        Some(_) if !raw.endpoint.starts_with("https://") => {
            errors.push(("offload.ca_file", "is for an https:// endpoint only".into()));
            None
        }
        Some(f) => match std::fs::read(f) {
            Ok(pem) if String::from_utf8_lossy(&pem).contains("-----BEGIN CERTIFICATE-----") => {
                Some(pem)
            }
            Ok(_) => {
                errors.push((
                    "offload.ca_file",
                    format!("{f} holds no PEM certificate (-----BEGIN CERTIFICATE-----)"),
                ));
                None
            }
            Err(e) => {
                errors.push(("offload.ca_file", format!("cannot read {f}: {e}")));
                None
            }
        },
    };
    match (endpoint, errors.is_empty()) {
        (Some(endpoint), true) => Ok(Offload {
            endpoint,
            bucket: raw.bucket.clone(),
            region: raw.region.clone().unwrap_or_else(|| "us-east-1".into()),
            access_key: raw.access_key.clone(),
            secret_key: raw.secret_key.clone(),
            prefix,
            keep_local_days: raw.keep_local_days.unwrap_or(7),
            max_bytes_per_s: mbit * 1e6 / 8.0,
            ca_pem,
        }),
        _ => Err(errors),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw() -> RawOffload {
        RawOffload {
            endpoint: "http://127.0.0.1:8333".into(),
            bucket: "pinvr".into(),
            access_key: "key".into(),
            secret_key: Secret("very-secret".into()),
            ..RawOffload::default()
        }
    }

    #[test]
    fn defaults_and_refusals() {
        let o = validate(&raw()).unwrap();
        assert_eq!((o.keep_local_days, o.prefix.as_str()), (7, ""));
        assert_eq!(o.max_bytes_per_s, 2_500_000.0);
        let with = |f: fn(&mut RawOffload)| {
            let mut r = raw();
            f(&mut r);
            validate(&r).unwrap_err()
        };
        assert_eq!(with(|r| r.bucket = "No_Such".into())[0].0, "offload.bucket");
        assert_eq!(
            with(|r| r.endpoint = "ftp://s3.amazonaws.com".into())[0].0,
            "offload.endpoint"
        );
        assert!(
            with(|r| r.ca_file = Some("/etc/hostname".into()))[0]
                .1
                .contains("https")
        );
        let mut r = raw();
        r.endpoint = "https://s3.amazonaws.com".into();
        assert_eq!(validate(&r).unwrap().ca_pem, None);
        r.ca_file = Some("/nonexistent/ca.pem".into());
        assert!(
            validate(&r).unwrap_err()[0]
                .1
                .contains("cannot read /nonexistent/ca.pem")
        );
        let e = with(|r| r.endpoint = "http://key:very-secret@host".into());
        assert!(!format!("{e:?}").contains("very-secret"), "{e:?}");
        assert_eq!(with(|r| r.max_mbit = Some(0.0))[0].0, "offload.max_mbit");
        let mut r = raw();
        r.prefix = Some("site1".into());
        assert_eq!(validate(&r).unwrap().prefix, "site1/");
    }
}
