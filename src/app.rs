//! The composition root: the state shared by the supervisor and the web handlers (the
//! configuration in force and why a newer file was refused, the minute index, the live
//! status, the reaper's shared state, the live feeds). Services below it never see it: they are handed
//! what they need.

use crate::config::{self, Config, RawConfig};
use crate::index::Index;
use crate::reaper;
use crate::status::Status;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

/// The configuration as loaded.
#[derive(Clone, Debug)]
pub struct Loaded {
    /// The file's contents as parsed (what the form edits and saves).
    pub raw: RawConfig,
    /// The validated settings in force.
    pub config: Config,
    /// Why the file on disk is not in force, if it is not.
    pub error: Option<String>,
    /// True when the file exists but its admin password cannot be read from it (it is not
    /// JSON): nothing may set a new one over the web until the file is fixed by hand.
    pub password_unknown: bool,
}

/// Shared application state.
pub struct App {
    /// The config file.
    pub config_path: PathBuf,
    /// The configuration in force.
    pub loaded: RwLock<Loaded>,
    /// Finished minutes.
    pub index: Arc<Index>,
    /// Live camera status.
    pub status: Arc<Status>,
    /// The reaper's plan, wake-up and warning.
    pub reaper: Arc<reaper::Shared>,
    /// Live feeds.
    pub live: Arc<crate::live::Hub>,
    /// Finished minutes and new tags, for the services that report them.
    pub events: Arc<crate::events::Events>,
    /// What the uploader has sent to the object store, and its status.
    pub offload: Arc<crate::offload::state::Shared>,
}

impl App {
    /// Loads `path`. An unreadable or invalid file does not stop the program: the settings
    /// fall back to defaults with no cameras and the error is kept for the web UI.
    pub fn load(path: PathBuf) -> App {
        let loaded = match config::load(&path) {
            Ok((raw, config)) => Loaded {
                raw,
                config,
                error: None,
                password_unknown: false,
            },
            Err(e) => {
                log::error!("{e}; starting with no cameras until the config is fixed");
                // The web section, if readable, keeps the UI where it is and locked as it
                // was.
                let web = config::salvage_web(&path);
                let exists = std::fs::metadata(&path).is_ok_and(|m| m.len() > 0);
                let password_unknown = exists && web.is_none();
                let raw = RawConfig {
                    web: web.unwrap_or_default(),
                    ..Default::default()
                };
                let config = config::validate(&raw).expect("a salvaged web section is valid");
                Loaded {
                    raw,
                    config,
                    error: Some(e.to_string()),
                    password_unknown,
                }
            }
        };
        let app = App {
            config_path: path,
            loaded: RwLock::new(loaded),
            index: Arc::new(Index::default()),
            status: Arc::new(Status::default()),
            reaper: Arc::default(),
            live: Arc::default(),
            events: Arc::default(),
            offload: Arc::default(),
        };
        app.applied();
        app
    }

    /// A copy of the configuration in force.
    pub fn loaded(&self) -> Loaded {
        self.loaded
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// `f` of the configuration in force, read in place (nothing cloned: for what runs on
    /// every request).
    pub fn with_loaded<T>(&self, f: impl FnOnce(&Loaded) -> T) -> T {
        f(&self.loaded.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// Replaces the configuration in force (after a valid file was read or saved).
    pub fn set(&self, raw: RawConfig, config: Config) {
        *self.loaded.write().unwrap_or_else(|e| e.into_inner()) = Loaded {
            raw,
            config,
            error: None,
            password_unknown: false,
        };
        self.applied();
    }

    /// Records that the file on disk is invalid: the settings in force stay, but for its
    /// `web` section when that alone could be read (`web`), so the web UI's password and
    /// options follow the file.
    pub fn set_error(&self, error: String, web: Option<config::RawWeb>) {
        let mut loaded = self.loaded.write().unwrap_or_else(|e| e.into_inner());
        loaded.error = Some(error);
        if let Some(web) = web {
            let mut raw = loaded.raw.clone();
            raw.web = web;
            if let Ok(config) = config::validate(&raw) {
                loaded.config.web = config.web;
                loaded.raw = raw;
            }
        }
    }

    /// The reaper's warning, if any.
    pub fn reaper_warning(&self) -> Option<String> {
        self.reaper.warning()
    }

    /// The MP4 files (regular files, reached without a symbolic link) of `camera`'s recorded minutes in `from..=to`, in time order; `None`
    /// if no such camera is configured.
    pub fn minute_files(&self, camera: &str, from: i64, to: i64) -> Option<Vec<PathBuf>> {
        let dir = self.with_loaded(|l| Some(l.config.stream(camera)?.dir))?;
        Some(self.index.minute_files(&dir, camera, from, to))
    }

    /// `f` of what reads of offloaded minutes look at (the uploader's state, the index, the
    /// configuration in force, read in place).
    pub fn remote<T>(&self, f: impl FnOnce(&crate::offload::remote::Reads<'_>) -> T) -> T {
        self.with_loaded(|l| {
            f(&crate::offload::remote::Reads {
                offload: &self.offload,
                index: &self.index,
                config: &l.config,
            })
        })
    }

    /// Brings the services' inputs in line with the configuration in force: every camera's
    /// folder indexed, the reaper's plan.
    fn applied(&self) {
        let config = self.loaded().config;
        let streams = config.streams();
        let cams: Vec<(String, PathBuf)> = streams
            .iter()
            .map(|c| (c.id.clone(), c.dir.clone()))
            .collect();
        self.index.ensure(&cams);
        self.reaper.set_plan(config.reaper.map(|settings| {
            reaper::Plan {
                settings,
                cameras: streams
                    .iter()
                    .map(|c| reaper::Camera {
                        id: c.id.clone(),
                        dir: c.dir.clone(),
                        max_age_days: c.max_age_days,
                    })
                    .collect(),
                archive_dir: config.archive_dir.clone(),
                offload: config.offload.as_ref().map(|o| {
                    let shared = self.offload.clone();
                    reaper::Retention {
                        keep_local_days: o.keep_local_days,
                        uploaded: Arc::new(move |id: &str, m: i64, size: u64| {
                            shared.is_uploaded(id, m, size)
                        }),
                    }
                }),
            }
        }));
    }
}
