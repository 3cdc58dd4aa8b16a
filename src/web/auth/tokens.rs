//! API tokens for scripts (`Authorization: Bearer <token>`): made on the config page, shown
//! once, stored as SHA-256 hashes (a token is 128 random bits, so a fast hash keeps it as
//! safe as a slow one keeps a password) in a file beside the config, readable by its owner
//! only: `pinvr.json` keeps its tokens in `pinvr.tokens.json`.

use crate::error::{Error, Result};
use crate::fsutil;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::RwLock;

/// Tokens kept at most.
const MAX_TOKENS: usize = 32;
/// What every token starts with (so it is recognised in a script or a leak scanner).
const PREFIX: &str = "pinvr_";

/// One token as stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Token {
    /// Its name (`[a-z0-9_-]{1,32}`).
    pub name: String,
    /// SHA-256 of the token, hex.
    pub sha256: String,
    /// When it was made, `YYYY-MM-DDTHH:MM:SSZ`.
    pub created: String,
}

/// The token file's contents.
#[derive(Debug, Default, Serialize, Deserialize)]
struct File {
    tokens: Vec<Token>,
}

/// The tokens, with their file.
pub struct Tokens {
    /// Where they are kept.
    path: PathBuf,
    /// The tokens.
    list: RwLock<Vec<Token>>,
}

fn digest(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The token file of the config file `config`.
pub fn path_for(config: &Path) -> PathBuf {
    let stem = config
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "pinvr".into());
    config.with_file_name(format!("{stem}.tokens.json"))
}

impl Tokens {
    /// The tokens kept at `path` (none if it does not exist; an unreadable file is logged
    /// and treated as none, so no token works rather than the wrong one).
    pub fn load(path: PathBuf) -> Tokens {
        let list = match std::fs::read(&path) {
            Ok(b) => match serde_json::from_slice::<File>(&b) {
                Ok(f) => f.tokens,
                Err(e) => {
                    log::error!(
                        "{}: {e}; no API token works until it is fixed",
                        path.display()
                    );
                    Vec::new()
                }
            },
            Err(_) => Vec::new(),
        };
        Tokens {
            path,
            list: RwLock::new(list),
        }
    }

    /// The tokens (names and dates; never the tokens themselves).
    pub fn list(&self) -> Vec<Token> {
        self.list.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The name of the token `token`, if it is one.
    pub fn verify(&self, token: &str) -> Option<String> {
        if !token.starts_with(PREFIX) {
            return None;
        }
        let d = digest(token);
        self.list
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .find(|t| super::same::same(&t.sha256, &d))
            .map(|t| t.name.clone())
    }

    fn save(&self, list: &[Token]) -> Result<()> {
        let mut text = serde_json::to_vec_pretty(&File {
            tokens: list.to_vec(),
        })
        .map_err(|e| Error::invalid(e.to_string()))?;
        text.push(b'\n');
        fsutil::write_private(&self.path, &text)
    }

    /// Makes a token named `name` (replacing one of that name); returns the token, which
    /// is never shown again.
    pub fn create(&self, name: &str, now: crate::time::Micros) -> Result<String> {
        if !super::super::routes::valid_token_name(name) {
            return Err(Error::invalid(format!(
                "{name:?}: a token's name must match [a-z0-9_-]{{1,32}}"
            )));
        }
        let token = format!("{PREFIX}{}", crate::random::token());
        let mut list = self.list.write().unwrap_or_else(|e| e.into_inner());
        let mut next: Vec<Token> = list.iter().filter(|t| t.name != name).cloned().collect();
        if next.len() >= MAX_TOKENS {
            return Err(Error::invalid(format!(
                "at most {MAX_TOKENS} tokens: delete one first"
            )));
        }
        next.push(Token {
            name: name.to_owned(),
            sha256: digest(&token),
            created: crate::time::iso8601(now),
        });
        self.save(&next)?;
        *list = next;
        log::info!("web: API token {name:?} made");
        Ok(token)
    }

    /// Deletes the token named `name`.
    pub fn delete(&self, name: &str) -> Result<()> {
        let mut list = self.list.write().unwrap_or_else(|e| e.into_inner());
        if !list.iter().any(|t| t.name == name) {
            return Err(Error::not_found(format!("no token {name:?}")));
        }
        let next: Vec<Token> = list.iter().filter(|t| t.name != name).cloned().collect();
        self.save(&next)?;
        *list = next;
        log::info!("web: API token {name:?} deleted");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_verify_by_hash_and_survive_a_reload() {
        let dir = std::env::temp_dir().join(format!("pinvr-tokens-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = path_for(&dir.join("pinvr.json"));
        assert!(path.ends_with("pinvr.tokens.json"));
        let t = Tokens::load(path.clone());
        let a = t.create("ha", 0).unwrap();
        assert!(a.starts_with(PREFIX) && a.len() == PREFIX.len() + 32);
        assert_eq!(t.verify(&a).as_deref(), Some("ha"));
        assert_eq!(t.verify("pinvr_00000000000000000000000000000000"), None);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains(&a[PREFIX.len()..]), "{text}");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let again = Tokens::load(path.clone());
        assert_eq!(again.verify(&a).as_deref(), Some("ha"));
        again.delete("ha").unwrap();
        assert_eq!(again.verify(&a), None);
        assert!(t.create("Bad Name", 0).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
