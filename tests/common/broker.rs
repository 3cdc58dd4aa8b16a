//! A real MQTT broker for the tests: Debian's mosquitto on a free 127.0.0.1 port, without
//! persistence (a restart forgets retained messages, as a broker that lost its state
//! would), optionally requiring a user and password; and a subscriber that records every
//! message it sees (rumqttc).

use super::cameras::free_port;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One mosquitto process.
pub struct Broker {
    /// Its port.
    pub port: u16,
    conf: PathBuf,
    child: Option<Child>,
}

/// True if mosquitto is installed (scripts/deps installs it).
pub fn available() -> bool {
    Path::new("/usr/sbin/mosquitto").exists()
}

impl Broker {
    /// Starts a broker in `dir`; with `auth`, only that (user, password) may connect.
    pub fn start(dir: &Path, auth: Option<(&str, &str)>) -> Broker {
        let port = free_port();
        let conf = dir.join(format!("mosquitto-{port}.conf"));
        let mut text = format!("listener {port} 127.0.0.1\npersistence false\n");
        match auth {
            None => text.push_str("allow_anonymous true\n"),
            Some((u, p)) => {
                let file = dir.join(format!("mosquitto-{port}.passwd"));
                let ok = Command::new("mosquitto_passwd")
                    .args(["-b", "-c"])
                    .arg(&file)
                    .args([u, p])
                    .status()
                    .unwrap()
                    .success();
                assert!(ok, "mosquitto_passwd failed");
                text.push_str(&format!(
                    "allow_anonymous false\npassword_file {}\n",
                    file.display()
                ));
            }
        }
        std::fs::write(&conf, text).unwrap();
        let mut b = Broker {
            port,
            conf,
            child: None,
        };
        b.restart();
        b
    }

    /// (Re)starts the broker on its port and waits until it accepts connections.
    pub fn restart(&mut self) {
        assert!(self.child.is_none());
        let log = std::fs::File::create(self.conf.with_extension("log")).unwrap();
        let child = Command::new("/usr/sbin/mosquitto")
            .arg("-c")
            .arg(&self.conf)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "mosquitto did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops the broker.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// `mqtt://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("mqtt://127.0.0.1:{}", self.port)
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A message seen by a [`Subscriber`].
#[derive(Clone, Debug)]
pub struct Message {
    /// Topic.
    pub topic: String,
    /// Payload.
    pub payload: Vec<u8>,
    /// Delivered as a retained message (it was there when the subscriber came).
    pub retain: bool,
}

impl Message {
    /// The payload as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.payload).into_owned()
    }
}

/// Subscribes to `#` and keeps every message.
pub struct Subscriber {
    /// Messages so far, oldest first.
    pub seen: Arc<Mutex<Vec<Message>>>,
    client: rumqttc::Client,
}

impl Subscriber {
    /// Connects to the broker on `port`.
    pub fn start(port: u16) -> Subscriber {
        let id = format!("test-{}", free_port());
        let mut opts = rumqttc::MqttOptions::new(id, "127.0.0.1", port);
        opts.set_max_packet_size(16 << 20, 64 << 10);
        let (client, mut conn) = rumqttc::Client::new(opts, 16);
        client.subscribe("#", rumqttc::QoS::AtLeastOnce).unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = seen.clone();
        std::thread::spawn(move || {
            for ev in conn.iter() {
                match ev {
                    Ok(rumqttc::Event::Incoming(rumqttc::Packet::Publish(p))) => {
                        s.lock().unwrap().push(Message {
                            topic: p.topic.clone(),
                            payload: p.payload.to_vec(),
                            retain: p.retain,
                        })
                    }
                    Ok(_) => {}
                    Err(_) => break,
                }
            }
        });
        Subscriber { seen, client }
    }

    /// The newest message on `topic`, if any.
    pub fn last(&self, topic: &str) -> Option<Message> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .rev()
            .find(|m| m.topic == topic)
            .cloned()
    }

    /// Waits up to `secs` for the newest message on `topic` to satisfy `ok`.
    pub fn wait(&self, topic: &str, secs: u64, ok: impl Fn(&Message) -> bool) -> Message {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if let Some(m) = self.last(topic).filter(|m| ok(m)) {
                return m;
            }
            assert!(
                Instant::now() < deadline,
                "{topic}: not as expected within {secs} s; last: {:?}",
                self.last(topic).map(|m| m.text())
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        let _ = self.client.disconnect();
    }
}
