//! A minimal HTTP/1.1 client over std's TcpStream for the web tests: one request per
//! connection, the whole response read, with the time the first byte arrived.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// A response.
#[derive(Debug)]
pub struct Resp {
    /// Status code.
    pub status: u16,
    /// Headers, names lower-cased.
    pub headers: HashMap<String, String>,
    /// Body bytes.
    pub body: Vec<u8>,
    /// Time from sending the request to the first byte of the answer.
    pub first_byte: Duration,
}

impl Resp {
    /// A header's value.
    pub fn h(&self, name: &str) -> Option<&str> {
        self.headers.get(&name.to_lowercase()).map(String::as_str)
    }
    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.text()))
    }
}

/// Sends `method path` with extra `headers` and `body`; returns the response.
pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Resp {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nConnection: close\r\n");
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        req.push_str(&format!("Host: {addr}\r\n"));
    }
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    if !body.is_empty() || method == "POST" {
        req.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    req.push_str("\r\n");
    let start = Instant::now();
    s.write_all(req.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut first = [0u8; 1];
    s.read_exact(&mut first).unwrap();
    let first_byte = start.elapsed();
    let mut raw = first.to_vec();
    s.read_to_end(&mut raw).unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("header end");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: HashMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_lowercase(), v.trim().to_owned()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    if headers
        .get("transfer-encoding")
        .is_some_and(|v: &String| v.contains("chunked"))
    {
        body = dechunk(&body);
    }
    Resp {
        status,
        headers,
        body,
        first_byte,
    }
}

/// The body of a chunked transfer, joined.
fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = b.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size =
            usize::from_str_radix(String::from_utf8_lossy(&b[..eol]).trim(), 16).unwrap_or(0);
        if size == 0 || b.len() < eol + 2 + size {
            return out;
        }
        out.extend_from_slice(&b[eol + 2..eol + 2 + size]);
        b = &b[eol + 2 + size + 2..];
    }
}

/// `GET path`.
pub fn get(addr: SocketAddr, path: &str) -> Resp {
    request(addr, "GET", path, &[], b"")
}

/// `name=value` of a response's `Set-Cookie`.
pub fn set_cookie(r: &Resp) -> String {
    r.h("set-cookie")
        .unwrap_or_else(|| panic!("no Set-Cookie in {r:?}"))
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

/// The value of the first hidden `csrf` input of a page.
pub fn csrf_of(page: &str) -> String {
    super::between(page, "name=\"csrf\" value=\"", "\"")
}

/// A form body.
pub fn form(fields: &[(&str, &str)]) -> Vec<u8> {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish()
        .into_bytes()
}

/// A logged-in browser: its session cookie and CSRF token.
#[derive(Clone, Debug)]
pub struct Browser {
    /// Where pinvr listens.
    pub addr: SocketAddr,
    /// `pinvr_session=...`.
    pub cookie: String,
    /// The session's CSRF token.
    pub csrf: String,
}

/// Logs in to pinvr at `addr` with `password`, as a person does at /login.
pub fn login(addr: SocketAddr, password: &str) -> Browser {
    let page = get(addr, "/login");
    assert_eq!(page.status, 200, "{}", page.text());
    let anon = set_cookie(&page);
    let r = request(
        addr,
        "POST",
        "/login",
        &[
            ("Cookie", &anon),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        &form(&[
            ("csrf", &csrf_of(&page.text())),
            ("password", password),
            ("next", "/config"),
        ]),
    );
    assert_eq!(r.status, 303, "login refused: {}", r.text());
    let cookie = set_cookie(&r);
    assert_ne!(cookie, anon, "the session id must change at login");
    let config = request(addr, "GET", "/config", &[("Cookie", &cookie)], b"");
    assert_eq!(config.status, 200, "{}", config.text());
    Browser {
        addr,
        csrf: csrf_of(&config.text()),
        cookie,
    }
}

impl Browser {
    /// `GET path` with the session.
    pub fn get(&self, path: &str) -> Resp {
        request(self.addr, "GET", path, &[("Cookie", &self.cookie)], b"")
    }

    /// `method path` with the session and extra headers.
    pub fn request(&self, method: &str, path: &str, headers: &[(&str, &str)]) -> Resp {
        let mut h = vec![("Cookie", self.cookie.as_str())];
        h.extend_from_slice(headers);
        request(self.addr, method, path, &h, b"")
    }

    /// Posts a form (with the session's CSRF token) to `path`.
    pub fn post(&self, path: &str, fields: &[(&str, &str)]) -> Resp {
        let mut all = vec![("csrf", self.csrf.as_str())];
        all.extend_from_slice(fields);
        request(
            self.addr,
            "POST",
            path,
            &[
                ("Cookie", &self.cookie),
                ("Content-Type", "application/x-www-form-urlencoded"),
            ],
            &form(&all),
        )
    }
}
