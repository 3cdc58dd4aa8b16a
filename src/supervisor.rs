//! The daemon's top level: starts a thread per enabled camera and the finisher, restarts a
//! camera whose thread died, applies config file changes to just the cameras they touch,
//! and on SIGTERM/SIGINT finishes every open minute before returning.

use crate::app::App;
use crate::config::{self, Camera, Config, Retry};
use crate::error::{IoContext, Result};
use crate::finisher::Finisher;
use crate::ingest::{self, CameraHandle};
use crate::status::{State, Status};
use nix::sys::signal::{SigSet, Signal};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How often the config file is re-read and camera threads checked.
const POLL: Duration = Duration::from_millis(500);
/// Delay before restarting a camera thread that died.
const RESTART_DELAY: Duration = Duration::from_secs(2);

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
pub fn stop_on_signals() -> Result<Arc<AtomicBool>> {
    let mut set = SigSet::empty();
    set.add(Signal::SIGTERM);
    set.add(Signal::SIGINT);
    set.thread_block()
        .map_err(|e| crate::Error::new(crate::ErrorKind::Io, format!("blocking signals: {e}")))?;
    let flag = Arc::new(AtomicBool::new(false));
    let f = flag.clone();
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            if let Ok(sig) = set.wait() {
                log::info!("{sig}: finishing open minutes, then exiting");
                f.store(true, Ordering::SeqCst);
            }
        })
        .ctx("spawning the signal thread")?;
    Ok(flag)
}

/// Runs the recorder for `app` until `stop` is set.
pub fn run(app: Arc<App>, stop: Arc<AtomicBool>) -> Result<()> {
    let index = app.index.clone();
    let (finisher, finisher_thread) = Finisher::spawn(Box::new(move |_, result| {
        if let Ok(f) = result {
            let name = f
                .mp4
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            if let Some((camera, minute, _)) = crate::layout::parse_name(name) {
                index.add(camera, minute);
            }
        }
    }));
    let path = app.config_path.clone();
    let mut sup = Supervisor {
        text: std::fs::read_to_string(&path).unwrap_or_default(),
        path,
        status: app.status.clone(),
        app: app.clone(),
        finisher,
        running: BTreeMap::new(),
        died: BTreeMap::new(),
    };
    sup.apply(&app.loaded().config);
    let reaper = crate::reaper::spawn(app.clone(), stop.clone());
    while !stop.load(Ordering::SeqCst) {
        std::thread::sleep(POLL);
        sup.reload();
        sup.restart_dead();
    }
    for (id, r) in std::mem::take(&mut sup.running) {
        if !r.handle.stop() {
            log::error!("camera {id}: its thread had crashed");
        }
    }
    drop(sup);
    let _ = reaper.join();
    // Every camera has closed its minute; the finisher drains its queue and ends.
    let _ = finisher_thread.join();
    log::info!("all minutes finished; bye");
    Ok(())
}

/// The supervisor's state.
struct Supervisor {
    /// The config file.
    path: PathBuf,
    /// Its last text seen (changes are detected by content; FAT has 2 s mtimes).
    text: String,
    /// Shared status.
    status: Arc<Status>,
    /// Shared application state (the config in force).
    app: Arc<App>,
    /// The finisher queue.
    finisher: Finisher,
    /// Camera threads by id.
    running: BTreeMap<String, Running>,
    /// Cameras whose thread died, with when to restart them.
    died: BTreeMap<String, (Running, Instant)>,
}

impl Supervisor {
    /// Starts, stops and restarts cameras so that exactly the enabled cameras of `config`
    /// run, each with its current settings.
    fn apply(&mut self, config: &Config) {
        let wanted: BTreeMap<&str, &Camera> = config
            .cameras
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
                self.status.remove(&id);
            }
        }
        self.died.retain(|id, _| wanted.contains_key(id.as_str()));
        for c in &config.cameras {
            if !c.enabled {
                self.status.set_state(&c.id, State::Disabled);
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
        let app = self.app.clone();
        let on_full: ingest::OnFull = Arc::new(move || app.reaper_wake.now());
        let handle = ingest::spawn(
            cam.clone(),
            retry,
            self.status.clone(),
            &self.finisher,
            on_full,
        );
        self.running
            .insert(cam.id.clone(), Running { cam, retry, handle });
    }

    /// Re-reads the config file; applies it if it changed and is valid.
    fn reload(&mut self) {
        let Ok(text) = std::fs::read_to_string(&self.path) else {
            return;
        };
        if text == self.text {
            return;
        }
        self.text = text;
        let parsed = config::parse(&self.text);
        match parsed.and_then(|raw| config::validate(&raw).map(|c| (raw, c))) {
            Ok((raw, config)) => {
                log::info!("{}: changed; applying", self.path.display());
                if config.web.listen != self.app.loaded().config.web.listen {
                    log::warn!(
                        "web.listen changed: the new address takes effect at the next start"
                    );
                }
                self.app.set(raw, config.clone());
                self.apply(&config);
            }
            Err(e) => {
                log::error!(
                    "{}: changed but invalid, keeping the running settings: {e}",
                    self.path.display()
                );
                self.app.set_error(e.to_string());
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
