//! The streams pinvr records: every camera's main stream, and its sub stream when it has
//! a `sub_url`, recorded as a camera of its own named `<id>~sub` in `<dir>/sub`, with the
//! camera's credentials and transport.

use super::{Camera, Config, valid_id};

/// What a sub stream's id adds to its camera's (`front~sub`); `~` cannot be in a camera id.
pub const SUB_SUFFIX: &str = "~sub";

/// True for the ids of recorded streams: a camera id, or one followed by [`SUB_SUFFIX`].
pub fn valid_stream_id(id: &str) -> bool {
    valid_id(id.strip_suffix(SUB_SUFFIX).unwrap_or(id))
}

impl Camera {
    /// The sub stream as a camera of its own, if this camera has one.
    pub fn sub(&self) -> Option<Camera> {
        let url = self.sub_url.clone()?;
        Some(Camera {
            id: format!("{}{SUB_SUFFIX}", self.id),
            url,
            sub_url: None,
            sub_of: Some(self.id.clone()),
            dir: self.dir.join("sub"),
            ..self.clone()
        })
    }

    /// The addresses the camera's credentials are sent to: its URL and its sub URL.
    pub fn url_and_sub(&self) -> Vec<&url::Url> {
        std::iter::once(&self.url).chain(&self.sub_url).collect()
    }

    /// The id of the stream previews, the live grid and the change search use: the sub
    /// stream's when there is one.
    pub fn small_id(&self) -> String {
        match self.sub_url {
            Some(_) => format!("{}{SUB_SUFFIX}", self.id),
            None => self.id.clone(),
        }
    }
}

impl Config {
    /// Every stream to record: the cameras in file order, each followed by its sub stream.
    pub fn streams(&self) -> Vec<Camera> {
        let mut out = Vec::with_capacity(self.cameras.len() * 2);
        for c in &self.cameras {
            out.push(c.clone());
            out.extend(c.sub());
        }
        out
    }

    /// The stream called `id` (a camera, or a camera's sub stream).
    pub fn stream(&self, id: &str) -> Option<Camera> {
        match id.strip_suffix(SUB_SUFFIX) {
            Some(main) => self.cameras.iter().find(|c| c.id == main)?.sub(),
            None => self.cameras.iter().find(|c| c.id == id).cloned(),
        }
    }
}
