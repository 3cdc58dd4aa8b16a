//! The S3 requests pinvr makes, signed with rusty-s3 (presigned URLs, so the body needs no
//! hashing up front) and sent with ureq: put a file (rate-limited), ask an object's size,
//! read a byte range. Errors say what the store answered, never the keys.

use super::throttle::Throttle;
use crate::config::Offload;
use crate::error::{Error, ErrorKind, Result};
use rusty_s3::{Bucket, Credentials, S3Action, UrlStyle};
use std::io::Read;
use std::path::Path;
use std::time::Duration;
use ureq::tls::{Certificate, PemItem, RootCerts, TlsConfig};

/// How long a signed request stays valid.
const SIGNED_FOR: Duration = Duration::from_secs(600);

/// A bucket and the means to reach it.
pub struct Store {
    bucket: Bucket,
    creds: Credentials,
    agent: ureq::Agent,
    /// Key prefix (`site1/`).
    prefix: String,
}

/// A store's failure in words: what it answered (status, its S3 error code) or that it
/// could not be reached.
fn failed(what: &str, e: ureq::Error) -> Error {
    match e {
        ureq::Error::StatusCode(code) => Error::new(
            if code == 403 || code == 401 {
                ErrorKind::Forbidden
            } else {
                ErrorKind::Network
            },
            format!("{what}: the store answered {code}{}", hint(code)),
        ),
        e => {
            let text = e.to_string();
            let hint = if text.to_lowercase().contains("certificate") {
                " (the store's certificate is not trusted: check offload.ca_file)"
            } else {
                ""
            };
            Error::new(ErrorKind::Network, format!("{what}: {text}{hint}"))
        }
    }
}

fn hint(code: u16) -> &'static str {
    match code {
        403 => " (access denied: check access_key and secret_key)",
        404 => " (no such bucket or object)",
        500..=599 => " (a server error; retrying)",
        _ => "",
    }
}

impl Store {
    /// A client for `cfg`'s bucket.
    pub fn new(cfg: &Offload) -> Result<Store> {
        let bucket = Bucket::new(
            cfg.endpoint.clone(),
            UrlStyle::Path,
            cfg.bucket.clone(),
            cfg.region.clone(),
        )
        .map_err(|e| Error::invalid(format!("offload.endpoint: {e}")))?;
        let roots = match &cfg.ca_pem {
            None => RootCerts::WebPki,
            Some(pem) => {
                let certs: Vec<Certificate<'static>> = ureq::tls::parse_pem(pem)
                    .filter_map(|i| match i {
                        Ok(PemItem::Certificate(c)) => Some(c),
                        _ => None,
                    })
                    .collect();
                if certs.is_empty() {
                    return Err(Error::invalid("offload.ca_file: no certificate in it"));
                }
                RootCerts::new_with_certs(&certs)
            }
        };
        let agent = ureq::Agent::config_builder()
            .tls_config(TlsConfig::builder().root_certs(roots).build())
            .timeout_connect(Some(Duration::from_secs(10)))
            .timeout_recv_response(Some(Duration::from_secs(60)))
            .timeout_send_body(Some(Duration::from_secs(120)))
            .max_idle_connections(4)
            .build()
            .into();
        Ok(Store {
            bucket,
            creds: Credentials::new(cfg.access_key.clone(), cfg.secret_key.expose().to_owned()),
            agent,
            prefix: cfg.prefix.clone(),
        })
    }

    /// The object key of `name` (a path relative to the recordings, `/`-separated).
    pub fn key(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    /// Uploads the file at `path` as `key`, at most as fast as `throttle` allows. S3 makes
    /// a PUT visible only once all of it has arrived, so an upload cut short leaves nothing.
    pub fn put_file(&self, key: &str, path: &Path, throttle: &mut Throttle) -> Result<u64> {
        let f = std::fs::File::open(path).map_err(|e| Error::io(path.display(), e))?;
        let len = f
            .metadata()
            .map_err(|e| Error::io(path.display(), e))?
            .len();
        let url = self
            .bucket
            .put_object(Some(&self.creds), key)
            .sign(SIGNED_FOR);
        let mut body = throttle.reader(f);
        self.agent
            .put(url.as_str())
            .header("Content-Length", len.to_string())
            .content_type(content_type(key))
            .send(ureq::SendBody::from_reader(&mut body))
            .map_err(|e| failed(&format!("uploading {key}"), e))?;
        Ok(len)
    }

    /// Checks that the bucket exists and these keys may use it (some stores make a missing
    /// bucket on the first PUT; a user's typo in `bucket` should be said instead).
    pub fn check_bucket(&self) -> Result<()> {
        let url = self.bucket.head_bucket(Some(&self.creds)).sign(SIGNED_FOR);
        match self.agent.head(url.as_str()).call() {
            Ok(_) => Ok(()),
            Err(ureq::Error::StatusCode(404)) => Err(Error::new(
                ErrorKind::NotFound,
                format!(
                    "the store has no bucket {:?} (no such bucket: create it there, or correct offload.bucket)",
                    self.bucket.name()
                ),
            )),
            Err(e) => Err(failed("checking the bucket", e)),
        }
    }

    /// The size of object `key`, or `None` if there is none.
    pub fn size(&self, key: &str) -> Result<Option<u64>> {
        let url = self
            .bucket
            .head_object(Some(&self.creds), key)
            .sign(SIGNED_FOR);
        match self.agent.head(url.as_str()).call() {
            Ok(r) => Ok(r
                .headers()
                .get("content-length")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse().ok())),
            Err(ureq::Error::StatusCode(404)) => Ok(None),
            Err(e) => Err(failed(&format!("asking for {key}"), e)),
        }
    }

    /// Bytes `from..from + len` of object `key`, as a reader.
    pub fn read_range(&self, key: &str, from: u64, len: u64) -> Result<impl Read + use<>> {
        let url = self
            .bucket
            .get_object(Some(&self.creds), key)
            .sign(SIGNED_FOR);
        let r = self
            .agent
            .get(url.as_str())
            .header("Range", format!("bytes={from}-{}", from + len.max(1) - 1))
            .call()
            .map_err(|e| failed(&format!("reading {key}"), e))?;
        Ok(r.into_body().into_reader().take(len))
    }

    /// A URL that reads object `key` without credentials (a browser is sent there for a
    /// minute that is only in the store): signed at the start of the hour and valid for
    /// 90 minutes from then, so the same URL for the whole hour (a video's range requests
    /// each follow the redirect; Chromium fails one whose target changes) and valid at
    /// least 30 minutes after it is given.
    pub fn presigned_get(&self, key: &str) -> String {
        let now = crate::time::now_micros() / 1_000_000;
        let hour = jiff::Timestamp::from_second(now - now.rem_euclid(3600))
            .unwrap_or_else(|_| jiff::Timestamp::now());
        self.bucket
            .get_object(Some(&self.creds), key)
            .sign_with_time(Duration::from_secs(90 * 60), &hour)
            .to_string()
    }
}

fn content_type(key: &str) -> &'static str {
    if key.ends_with(".mp4") {
        "video/mp4"
    } else if key.ends_with(".jpg") {
        "image/jpeg"
    } else if key.ends_with(".json") {
        "application/json"
    } else {
        "application/octet-stream"
    }
}
