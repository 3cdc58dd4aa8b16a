//! The daemon's top level: starts the finisher, the reaper and a thread per enabled camera,
//! restarts a camera whose thread died, applies config file changes to just the cameras
//! they touch, and on SIGTERM/SIGINT finishes every open minute before returning. It wires
//! the services together from the [`App`] and the [`Services`] it is given (the real
//! cameras, clock and disk, or stand-ins in tests).

use crate::app::App;
use crate::clock::{Clock, Stop};
use crate::config::{self, Camera, Config, Retry};
use crate::disk::Disk;
use crate::error::{IoContext, Result};
use crate::finisher::{Finisher, Hook};
use crate::ingest::{self, CameraHandle, Deps};
use crate::recorder::Journal;
use crate::source::Opener;
use crate::status::State;
use nix::sys::signal::{SigSet, Signal};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often the config file is re-read and camera threads checked.
const POLL: Duration = Duration::from_millis(500);
/// Delay before restarting a camera thread that died.
const RESTART_DELAY: Duration = Duration::from_secs(2);
/// Chunk writer buffer per camera: a sixth of a second of a 3 Mbit/s stream, and the largest
/// aligned window of the file that most writes fill whole (see [`crate::chunk::window_for`]).
/// The camera thread hands over a nap's worth of frames at a time (280 KB at 3 Mbit/s), so
/// this means four or five writes per wake-up, the last a part window before the nap. Its
/// pages stay resident: at 512 KiB (a second) 16 cameras kept 5.4 MiB of buffers touched.
const CHUNK_BUFFER: usize = 64 << 10;

/// The outside world the recorder works with.
#[derive(Clone)]
pub struct Services {
    /// Connects to cameras.
    pub opener: Arc<dyn Opener>,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// The disk.
    pub disk: Arc<dyn Disk>,
    /// Told of every finished minute (after the index).
    pub hooks: Vec<Hook>,
}

impl Services {
    /// The real cameras (RTSP), clock and disk.
    pub fn real() -> Services {
        Services {
            opener: Arc::new(crate::source::rtsp::RtspOpener),
            clock: Arc::new(crate::clock::RealClock),
            disk: Arc::new(crate::disk::RealDisk),
            hooks: Vec::new(),
        }
    }
}

/// A camera thread and the settings it was started with.
struct Running {
    /// Settings it runs with; a change restarts it.
    cam: Camera,
    /// Timers it runs with; a change restarts it.
    retry: Retry,
    /// The thread.
    handle: CameraHandle,
}

/// Blocks SIGTERM and SIGINT in this thread (and threads it spawns later) and starts a
/// thread that waits for them and sets the returned flag.
pub fn stop_on_signals() -> Result<Stop> {
    let mut set = SigSet::empty();
    set.add(Signal::SIGTERM);
    set.add(Signal::SIGINT);
    set.thread_block()
        .map_err(|e| crate::Error::new(crate::ErrorKind::Io, format!("blocking signals: {e}")))?;
    let stop = Stop::default();
    let s = stop.clone();
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            if let Ok(sig) = set.wait() {
                log::info!("{sig}: finishing open minutes, then exiting");
                s.request();
            }
        })
        .ctx("spawning the signal thread")?;
    Ok(stop)
}

/// Runs the recorder for `app` with `services` until `stop` is requested.
pub fn run(app: Arc<App>, services: Services, stop: Stop) -> Result<()> {
    let mut hooks = services.hooks.clone();
    let events = app.events.clone();
    hooks.push(Arc::new(move |f: &crate::finish::Finished| {
        // A sub stream's minute is its camera's snapshot; the camera's own has none then.
        let camera = f
            .camera
            .strip_suffix(config::SUB_SUFFIX)
            .unwrap_or(&f.camera);
        events.publish(crate::events::Event::Minute {
            camera: camera.to_owned(),
            minute: f.minute,
            preview: f.no_preview.is_none().then(|| f.mp4.with_extension("jpg")),
        });
    }));
    // A main stream skips its preview while its sub stream records (and takes it again
    // when the sub fails, so the previews never stop).
    let status = app.status.clone();
    let loaded = app.clone();
    let previews: crate::finisher::Previews = Arc::new(move |camera: &str| {
        let has_sub = loaded
            .loaded()
            .config
            .cameras
            .iter()
            .any(|c| c.id == camera && c.sub_url.is_some());
        let sub = format!("{camera}{}", config::SUB_SUFFIX);
        !has_sub
            || status
                .snapshot()
                .get(&sub)
                .is_none_or(|s| s.state != crate::status::State::Recording)
    });
    let (finisher, finisher_thread) = Finisher::spawn_with(app.index.clone(), hooks, previews);
    let reaper = crate::reaper::spawn(
        app.reaper.clone(),
        app.index.clone(),
        services.disk.clone(),
        services.clock.clone(),
        stop.clone(),
    );
    let current: crate::config::Current = {
        let app = app.clone();
        Arc::new(move || app.with_loaded(|l| l.config.clone()))
    };
    let mqtt = crate::mqtt::spawn(
        crate::mqtt::Inputs {
            config: current.clone(),
            events: app.events.clone(),
            status: app.status.clone(),
            index: app.index.clone(),
        },
        stop.clone(),
    );
    let offload = crate::offload::spawn(
        crate::offload::Inputs {
            config: current,
            events: app.events.clone(),
            index: app.index.clone(),
            offload: app.offload.clone(),
        },
        stop.clone(),
    );
    let wake = app.reaper.clone();
    let deps = Deps {
        opener: services.opener.clone(),
        clock: services.clock.clone(),
        status: app.status.clone(),
        finisher,
        journal: Journal {
            disk: services.disk.clone(),
            buf_size: CHUNK_BUFFER,
            // A killed process loses at most about the last second it had received. A
            // stream that naps is written out before each nap, so it loses only what waits
            // unread in the socket (a nap); one read as it comes (UDP, or watched live) is
            // written at least this often, and the nap's wake-ups rarely see this pass.
            flush: Duration::from_millis(900),
            sync: app.loaded().config.chunk_sync,
        },
        on_full: Arc::new(move || wake.wake()),
        live: app.live.clone(),
    };
    let path = app.config_path.clone();
    let mut sup = Supervisor {
        watch: config::Watch::new(&path),
        path,
        app: app.clone(),
        deps,
        running: BTreeMap::new(),
        died: BTreeMap::new(),
        recovered: Vec::new(),
    };
    sup.apply(&app.loaded().config);
    while !stop.wait_timeout(POLL) {
        sup.reload();
        sup.restart_dead();
    }
    // Every camera is told at once, then waited for: one by one, each would record on
    // while those before it closed their minutes.
    let running = std::mem::take(&mut sup.running);
    for r in running.values() {
        r.handle.request_stop();
    }
    for (id, r) in running {
        if !r.handle.stop() {
            log::error!("camera {id}: its thread had crashed");
        }
    }
    drop(sup);
    let _ = reaper.join();
    let _ = mqtt.join();
    let _ = offload.join();
    // Every camera has closed its minute; the finisher drains its queue and ends.
    let _ = finisher_thread.join();
    log::info!("all minutes finished; bye");
    Ok(())
}

/// The supervisor's state.
struct Supervisor {
    /// The config file.
    path: PathBuf,
    /// Notices when it changes.
    watch: config::Watch,
    /// Shared application state (the config in force).
    app: Arc<App>,
    /// What camera threads are started with.
    deps: Deps,
    /// Disabled cameras whose leftovers were already recovered.
    recovered: Vec<String>,
    /// Camera threads by id.
    running: BTreeMap<String, Running>,
    /// Cameras whose thread died, with when to restart them.
    died: BTreeMap<String, (Running, Instant)>,
}

impl Supervisor {
    /// Starts, stops and restarts cameras so that exactly the enabled cameras of `config`
    /// run, each with its current settings.
    fn apply(&mut self, config: &Config) {
        let streams = config.streams();
        let wanted: BTreeMap<&str, &Camera> = streams
            .iter()
            .filter(|c| c.enabled)
            .map(|c| (c.id.as_str(), c))
            .collect();
        let ids: Vec<String> = self.running.keys().cloned().collect();
        for id in ids {
            let keep = wanted.get(id.as_str()).is_some_and(|c| {
                **c == self.running[&id].cam && config.retry == self.running[&id].retry
            });
            if !keep {
                let r = self.running.remove(&id).expect("listed above");
                log::info!("camera {id}: settings changed or removed; stopping");
                r.handle.stop();
                self.app.status.remove(&id);
            }
        }
        self.died.retain(|id, _| wanted.contains_key(id.as_str()));
        for c in &streams {
            if !c.enabled {
                self.app.status.set_state(&c.id, State::Disabled);
                // A disabled camera's minutes still count: finish what a crash left.
                if !self.recovered.contains(&c.id) {
                    self.deps.finisher.recover(&c.id, &c.dir);
                    self.recovered.push(c.id.clone());
                }
                continue;
            }
            if self.running.contains_key(&c.id) || self.died.contains_key(&c.id) {
                continue;
            }
            log::info!("camera {}: starting ({})", c.id, c.url);
            self.start(c.clone(), config.retry);
        }
    }

    fn start(&mut self, cam: Camera, retry: Retry) {
        let handle = ingest::spawn(cam.clone(), retry, self.deps.clone());
        self.running
            .insert(cam.id.clone(), Running { cam, retry, handle });
    }

    /// Re-reads the config file if it changed; applies it if it is valid.
    fn reload(&mut self) {
        if !self.watch.changed(&self.path) {
            return;
        }
        let loaded = config::load(&self.path);
        // Loading may rewrite the file (a password in clear hashed): that is no change.
        self.watch = config::Watch::new(&self.path);
        match loaded {
            Ok((raw, config)) => {
                log::info!("{}: changed; applying", self.path.display());
                if config.web.listen != self.app.loaded().config.web.listen {
                    log::warn!(
                        "web.listen changed: the new address takes effect at the next start"
                    );
                }
                self.app.set(raw, config.clone());
                // Cameras started from now on sync as the new file says.
                self.deps.journal.sync = config.chunk_sync;
                self.apply(&config);
            }
            Err(e) => {
                log::error!(
                    "{}: changed but invalid, keeping the running settings: {e}",
                    self.path.display()
                );
                self.app
                    .set_error(e.to_string(), config::salvage_web(&self.path));
            }
        }
    }

    /// Restarts camera threads that ended without being asked to (a panic).
    fn restart_dead(&mut self) {
        let dead: Vec<String> = self
            .running
            .iter()
            .filter(|(_, r)| r.handle.is_finished())
            .map(|(id, _)| id.clone())
            .collect();
        for id in dead {
            let r = self.running.remove(&id).expect("listed above");
            log::error!("camera {id}: its thread died; restarting in {RESTART_DELAY:?}");
            self.died.insert(id, (r, Instant::now() + RESTART_DELAY));
        }
        let due: Vec<String> = self
            .died
            .iter()
            .filter(|(_, (_, at))| Instant::now() >= *at)
            .map(|(id, _)| id.clone())
            .collect();
        for id in due {
            let (r, _) = self.died.remove(&id).expect("listed above");
            let _ = r.handle.stop();
            self.start(r.cam, r.retry);
        }
    }
}
