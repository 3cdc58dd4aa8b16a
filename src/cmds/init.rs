//! `pinvr init`: write a starting config file with sensible defaults. On a terminal it asks
//! questions; otherwise it takes flags (`--camera ID=URL`, `--credentials ID=USER:PASS`).

use super::args::Args;
use crate::config::{self, RawCamera, RawConfig, Secret};
use crate::error::{Error, IoContext, Result};
use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;

/// Runs the subcommand.
pub fn run(mut args: Args) -> Result<()> {
    let output = args
        .value("--output")?
        .unwrap_or_else(|| "pinvr.json".to_owned());
    let force = args.flag("--force");
    let data_dir = args.value("--data-dir")?;
    let listen = args.value("--listen")?;
    let cameras = args.values("--camera")?;
    let credentials = args.values("--credentials")?;
    let interactive = args.flag("--interactive")
        || (std::io::stdin().is_terminal() && cameras.is_empty() && data_dir.is_none());
    args.positionals(0, 0)?;
    let path = Path::new(&output);
    if path.exists() && !force {
        return Err(Error::invalid(format!(
            "init: {output} exists; pass --force to replace it (the old one is kept as .bak)"
        )));
    }
    let mut raw = RawConfig {
        data_dir: Some(data_dir.unwrap_or_else(|| config::DEFAULT_DATA_DIR.to_owned())),
        ..Default::default()
    };
    raw.web.listen = Some(listen.unwrap_or_else(|| config::DEFAULT_LISTEN.to_owned()));
    for c in &cameras {
        let (id, url) = c.split_once('=').ok_or_else(|| {
            Error::invalid(format!("init: --camera {c:?} must look like ID=rtsp://..."))
        })?;
        raw.cameras.push(RawCamera {
            id: id.to_owned(),
            url: url.to_owned(),
            ..Default::default()
        });
    }
    for c in &credentials {
        let bad = || Error::invalid("init: --credentials must look like ID=USER:PASSWORD");
        let (id, up) = c.split_once('=').ok_or_else(bad)?;
        let (user, pass) = up.split_once(':').ok_or_else(bad)?;
        let cam = raw.cameras.iter_mut().find(|c| c.id == id).ok_or_else(|| {
            Error::invalid(format!("init: --credentials names unknown camera {id:?}"))
        })?;
        cam.username = Some(user.to_owned());
        cam.password = Some(Secret(pass.to_owned()));
    }
    if interactive {
        ask(&mut raw)?;
    }
    let config = config::save(path, &raw)?;
    println!(
        "wrote {output}: {} camera(s), recordings in {}, web UI on {}",
        config.cameras.len(),
        config.data_dir.display(),
        config.web.listen
    );
    println!("start recording with: pinvr run --config {output}");
    Ok(())
}

/// Asks for the settings on the terminal; blank answers keep the defaults.
fn ask(raw: &mut RawConfig) -> Result<()> {
    let stdin = std::io::stdin();
    let mut lines = stdin.lock().lines();
    let mut prompt = |q: &str, default: &str| -> Result<String> {
        print!("{q} [{default}]: ");
        std::io::stdout().flush().ctx("writing prompt")?;
        let line = lines
            .next()
            .transpose()
            .ctx("reading answer")?
            .unwrap_or_default();
        let line = line.trim();
        Ok(if line.is_empty() { default } else { line }.to_owned())
    };
    raw.data_dir = Some(prompt(
        "Folder for recordings",
        raw.data_dir.as_deref().unwrap_or_default(),
    )?);
    raw.web.listen = Some(prompt(
        "Web UI address",
        raw.web.listen.as_deref().unwrap_or_default(),
    )?);
    loop {
        let id = prompt("Camera id (a-z, 0-9, _ or -; blank to finish)", "")?;
        if id.is_empty() {
            break;
        }
        let url = prompt("  RTSP URL (rtsp://host:554/path)", "")?;
        let user = prompt("  user name (blank for none)", "")?;
        let pass = if user.is_empty() {
            String::new()
        } else {
            prompt("  password", "")?
        };
        let cam = RawCamera {
            id,
            url,
            username: Some(user).filter(|u| !u.is_empty()),
            password: Some(Secret(pass)).filter(|p| !p.0.is_empty()),
            ..Default::default()
        };
        let mut trial = raw.clone();
        trial.cameras.push(cam.clone());
        match config::validate(&trial) {
            Ok(_) => raw.cameras.push(cam),
            Err(e) => println!("  not added: {e}"),
        }
    }
    Ok(())
}
