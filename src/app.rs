//! State shared by the recorder's threads and the web server: the configuration in force
//! (and why a newer file was refused), the minute index and the live status.

use crate::config::{self, Config, RawConfig};
use crate::index::Index;
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
    /// Wakes the reaper early (a writer found the disk full).
    pub reaper_wake: crate::reaper::Wake,
    /// The reaper's warning for the UI (archives alone breach the floor), if any.
    reaper_warning: RwLock<Option<String>>,
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
            },
            Err(e) => {
                log::error!("{e}; starting with no cameras until the config is fixed");
                let raw = RawConfig::default();
                let config = config::validate(&raw).expect("the default config is valid");
                Loaded {
                    raw,
                    config,
                    error: Some(e.to_string()),
                }
            }
        };
        let app = App {
            config_path: path,
            loaded: RwLock::new(loaded),
            index: Arc::new(Index::default()),
            status: Arc::new(Status::default()),
            reaper_wake: Default::default(),
            reaper_warning: RwLock::new(None),
        };
        app.index_cameras();
        app
    }

    /// A copy of the configuration in force.
    pub fn loaded(&self) -> Loaded {
        self.loaded
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Replaces the configuration in force (after a valid file was read or saved).
    pub fn set(&self, raw: RawConfig, config: Config) {
        *self.loaded.write().unwrap_or_else(|e| e.into_inner()) = Loaded {
            raw,
            config,
            error: None,
        };
        self.index_cameras();
    }

    /// Records that the file on disk is invalid (the settings in force stay).
    pub fn set_error(&self, error: String) {
        self.loaded.write().unwrap_or_else(|e| e.into_inner()).error = Some(error);
    }

    /// Sets or clears the reaper's warning.
    pub fn set_reaper_warning(&self, w: Option<String>) {
        *self
            .reaper_warning
            .write()
            .unwrap_or_else(|e| e.into_inner()) = w;
    }

    /// The reaper's warning, if any.
    pub fn reaper_warning(&self) -> Option<String> {
        self.reaper_warning
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The MP4 files of `camera`'s recorded minutes in `from..=to`, in time order; `None`
    /// if no such camera is configured.
    pub fn minute_files(&self, camera: &str, from: i64, to: i64) -> Option<Vec<PathBuf>> {
        let loaded = self.loaded();
        let cam = loaded.config.cameras.iter().find(|c| c.id == camera)?;
        let files = self
            .index
            .minutes(camera, from, to)
            .into_iter()
            .map(|m| crate::layout::minute_path(&cam.dir, camera, m, crate::layout::FileKind::Mp4))
            .collect();
        Some(files)
    }

    /// Makes sure every configured camera's folder is indexed.
    fn index_cameras(&self) {
        let cams: Vec<(String, PathBuf)> = self
            .loaded()
            .config
            .cameras
            .iter()
            .map(|c| (c.id.clone(), c.dir.clone()))
            .collect();
        self.index.ensure(&cams);
    }
}
