//! MQTT: tells a broker (Home Assistant's, typically) what the recorder does, as
//! [`topics`] lists. Its own thread with a current-thread tokio runtime runs rumqttc's event
//! loop; everything it publishes is queued without waiting (`try_publish`), so a broker that
//! is slow, down or refusing never holds up a camera or the web. It follows the config: a
//! changed `mqtt` section reconnects with the new settings, a removed one disconnects.
//! After every (re)connection it publishes everything again (availability, discovery,
//! states, the newest snapshots, disk and clock), all retained, so a broker that lost its
//! state (restarted without persistence) has it back at once. A failed connection is retried
//! after 1 s, doubling to 60 s, and reported once per outage in the log and always on the
//! status page and in `/metrics`.

pub mod topics;

use crate::clock::Stop;
use crate::config::{Current, Mqtt};
use crate::events::Event;
use crate::events::Events;
use crate::index::Index;
use crate::status::Status;
use rumqttc::{
    AsyncClient, ConnectReturnCode, ConnectionError, LastWill, MqttOptions, Packet, QoS,
};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::mpsc::Receiver;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use topics::Topics;

/// How often states are compared with what was published, and stop and config checked.
const TICK: Duration = Duration::from_millis(250);
/// How often the config is read again while no broker is configured: reading it copies the
/// whole config (every camera), which at [`TICK`] was a percent of a 16-camera recorder's
/// CPU for nothing.
const IDLE: Duration = Duration::from_secs(1);
/// How often the disk's free space and the clock's state are published.
const SLOW: Duration = Duration::from_secs(60);
/// Longest wait between connection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// Messages queued for the event loop, at most (16 cameras' configs, states and snapshots
/// fit after a reconnection).
const QUEUE: usize = 256;
/// Largest message (a full-size preview JPEG is well under it).
const MAX_MESSAGE: usize = 8 << 20;

/// What the MQTT thread reads and reports to.
pub struct Inputs {
    /// The settings in force (the `mqtt` section, the cameras, the data folder).
    pub config: Current,
    /// Finished minutes and new tags.
    pub events: Arc<Events>,
    /// Camera states, and where the MQTT line's own status goes.
    pub status: Arc<Status>,
    /// Each camera's newest minute, for its snapshot.
    pub index: Arc<Index>,
}

/// Starts the MQTT thread; it ends when `stop` is requested.
pub fn spawn(deps: Inputs, stop: Stop) -> JoinHandle<()> {
    std::thread::Builder::new()
        .name("mqtt".into())
        .spawn(move || {
            let rt = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    log::error!("mqtt: cannot start its runtime: {e}");
                    return;
                }
            };
            rt.block_on(run(&deps, &stop));
        })
        .expect("spawning the mqtt thread")
}

/// How a connection ended.
enum Outcome {
    /// Stop was requested.
    Stopped,
    /// The `mqtt` section changed.
    Changed,
    /// It failed (why, and whether it had connected).
    Failed(String, bool),
}

async fn run(deps: &Inputs, stop: &Stop) {
    let events = deps.events.subscribe();
    let mut backoff = Duration::from_secs(1);
    // The first failure of the current outage (logged once).
    let mut outage: Option<String> = None;
    while !stop.is_requested() {
        let Some(cfg) = (deps.config)().mqtt.clone() else {
            deps.status.update_mqtt(|l| *l = Default::default());
            while events.try_recv().is_ok() {}
            tokio::select! {
                _ = stop.requested() => {}
                _ = tokio::time::sleep(IDLE) => {}
            }
            continue;
        };
        deps.status.update_mqtt(|l| l.configured = true);
        match session(deps, &cfg, &events, stop, &mut outage).await {
            Outcome::Stopped => break,
            Outcome::Changed => backoff = Duration::from_secs(1),
            Outcome::Failed(why, connected) => {
                if connected {
                    backoff = Duration::from_secs(1);
                }
                if outage.is_none() {
                    log::warn!(
                        "mqtt: {why}; retrying until it answers (recording is not affected)"
                    );
                    outage = Some(why.clone());
                }
                deps.status.update_mqtt(|l| {
                    if l.connected || l.last_error.as_deref() != Some(&why) {
                        l.since_us = crate::time::now_micros();
                    }
                    l.connected = false;
                    l.last_error = Some(why);
                });
                let until = Instant::now() + backoff;
                while Instant::now() < until
                    && !stop.is_requested()
                    && (deps.config)().mqtt.as_ref() == Some(&cfg)
                {
                    tokio::time::sleep(TICK).await;
                    while events.try_recv().is_ok() {
                        deps.status.update_mqtt(|l| l.dropped += 1);
                    }
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

/// What was last published on this connection.
#[derive(Default)]
struct Published {
    /// Camera states, by id (also: which cameras were announced).
    states: BTreeMap<String, &'static str>,
    /// When disk and clock were last published.
    slow: Option<Instant>,
}

/// Publishes without waiting, counting what could not be queued.
struct Sender<'a> {
    client: &'a AsyncClient,
    deps: &'a Inputs,
}

impl Sender<'_> {
    fn send(&self, topic: String, retain: bool, payload: impl Into<Vec<u8>>) {
        let ok = self
            .client
            .try_publish(topic, QoS::AtLeastOnce, retain, payload)
            .is_ok();
        self.deps.status.update_mqtt(|l| {
            if ok {
                l.sent += 1;
            } else {
                l.dropped += 1;
            }
        });
    }
}

/// One connection to the broker, until it fails, the config changes or stop.
async fn session(
    deps: &Inputs,
    cfg: &Mqtt,
    events: &Receiver<Event>,
    stop: &Stop,
    outage: &mut Option<String>,
) -> Outcome {
    let topics = Topics {
        prefix: cfg.prefix.clone(),
    };
    let id: String = format!("pinvr-{}", cfg.prefix)
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut opts = MqttOptions::new(id, cfg.host.clone(), cfg.port);
    opts.set_keep_alive(Duration::from_secs(30))
        .set_clean_session(true)
        .set_max_packet_size(64 << 10, MAX_MESSAGE)
        .set_last_will(LastWill::new(
            topics.available(),
            "offline",
            QoS::AtLeastOnce,
            true,
        ));
    if let Some(u) = &cfg.username {
        let p = cfg.password.as_ref().map_or("", |p| p.expose());
        opts.set_credentials(u.clone(), p.to_owned());
    }
    let (client, mut el) = AsyncClient::new(opts, QUEUE);
    let out = Sender {
        client: &client,
        deps,
    };
    let mut connected = false;
    let mut published = Published::default();
    let mut tick = tokio::time::interval(TICK);
    loop {
        tokio::select! {
            ev = el.poll() => match ev {
                Ok(rumqttc::Event::Incoming(Packet::ConnAck(_))) => {
                    connected = true;
                    match outage.take() {
                        Some(_) => log::info!("mqtt: connected to {}:{} again", cfg.host, cfg.port),
                        None => log::info!("mqtt: connected to {}:{}", cfg.host, cfg.port),
                    }
                    deps.status.update_mqtt(|l| {
                        l.connected = true;
                        l.since_us = crate::time::now_micros();
                        l.last_error = None;
                    });
                    published = Published::default();
                    out.send(topics.available(), true, "online");
                    publish_snapshots(deps, &topics, &out);
                    update(deps, cfg, &topics, &out, &mut published);
                }
                Ok(_) => {}
                Err(e) => return Outcome::Failed(describe(&e, cfg), connected),
            },
            _ = tick.tick() => {
                let changed = (deps.config)().mqtt.as_ref() != Some(cfg);
                if stop.is_requested() || changed {
                    if connected {
                        out.send(topics.available(), true, "offline");
                        let _ = client.try_disconnect();
                        // Let the event loop send what is queued, briefly.
                        let _ = tokio::time::timeout(Duration::from_secs(2), async {
                            while el.poll().await.is_ok() {}
                        })
                        .await;
                    }
                    return if changed { Outcome::Changed } else { Outcome::Stopped };
                }
                while let Ok(e) = events.try_recv() {
                    if !connected {
                        deps.status.update_mqtt(|l| l.dropped += 1);
                        continue;
                    }
                    match e {
                        Event::Minute { camera, preview: Some(p), .. } => {
                            if let Ok(jpeg) = std::fs::read(&p) {
                                out.send(topics.camera(&camera, "snapshot"), true, jpeg);
                            }
                        }
                        Event::Minute { .. } => {}
                        Event::Tag { camera, tag } => {
                            out.send(topics.camera(&camera, "change"), false, tag.to_string());
                        }
                    }
                }
                if connected {
                    update(deps, cfg, &topics, &out, &mut published);
                }
            }
        }
    }
}

/// Publishes what changed since `published`: camera states (and discovery for cameras
/// new to this connection, removal for cameras gone), then disk and clock once a minute.
fn update(deps: &Inputs, cfg: &Mqtt, topics: &Topics, out: &Sender<'_>, published: &mut Published) {
    let config = (deps.config)();
    let cams = &config.cameras;
    for c in cams {
        let state = deps.status.state(&c.id, c.enabled).name();
        match published.states.get(&c.id) {
            Some(s) if *s == state => continue,
            Some(_) => {}
            None if cfg.discovery => {
                for (t, v) in topics.camera_discovery(&c.id) {
                    out.send(t, true, v.to_string());
                }
            }
            None => {}
        }
        out.send(topics.camera(&c.id, "state"), true, state);
        published.states.insert(c.id.clone(), state);
    }
    let gone: Vec<String> = published
        .states
        .keys()
        .filter(|id| !cams.iter().any(|c| &c.id == *id))
        .cloned()
        .collect();
    for id in gone {
        // An empty retained message deletes the retained one (and the entity in HA).
        out.send(topics.camera(&id, "state"), true, "");
        out.send(topics.camera(&id, "snapshot"), true, "");
        for (t, _) in topics.camera_discovery(&id) {
            out.send(t, true, "");
        }
        published.states.remove(&id);
    }
    if published.slow.is_none_or(|t| t.elapsed() >= SLOW) {
        if published.slow.is_none() && cfg.discovery {
            for (t, v) in topics.recorder_discovery() {
                out.send(t, true, v.to_string());
            }
        }
        if let Some((free, _)) = crate::disk::usage_nearest(&config.data_dir) {
            out.send(topics.recorder("disk_free_bytes"), true, free.to_string());
        }
        out.send(topics.recorder("clock"), true, crate::clock_sync::name());
        published.slow = Some(Instant::now());
    }
}

/// Each camera's newest preview, as its snapshot.
fn publish_snapshots(deps: &Inputs, topics: &Topics, out: &Sender<'_>) {
    for c in &(deps.config)().cameras {
        let Some(m) = deps.index.latest(&c.id) else {
            continue;
        };
        let path = crate::layout::minute_path(&c.dir, &c.id, m, crate::layout::FileKind::Preview);
        if let Ok(jpeg) = std::fs::read(path) {
            out.send(topics.camera(&c.id, "snapshot"), true, jpeg);
        }
    }
}

/// A connection error in pinvr's words (never with the password).
fn describe(e: &ConnectionError, cfg: &Mqtt) -> String {
    let at = format!("{}:{}", cfg.host, cfg.port);
    match e {
        ConnectionError::ConnectionRefused(
            ConnectReturnCode::BadUserNamePassword | ConnectReturnCode::NotAuthorized,
        ) => format!(
            "the broker at {at} refused the user name or password (check mqtt.username and mqtt.password)"
        ),
        ConnectionError::ConnectionRefused(code) => {
            format!("the broker at {at} refused the connection ({code:?})")
        }
        ConnectionError::Io(io) => format!("cannot reach the broker at {at}: {io}"),
        ConnectionError::NetworkTimeout | ConnectionError::FlushTimeout => {
            format!("the broker at {at} does not answer")
        }
        other => format!("the connection to the broker at {at} failed: {other}"),
    }
}
