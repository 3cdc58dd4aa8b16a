//! The web server: tiny_http with a fixed pool of worker threads, the routes of
//! [`routes`], and the one place where errors become HTTP statuses.

mod api;
mod auth;
mod config_form;
mod html;
mod pages;
pub mod reply;
pub mod routes;

pub use api::minute_label;
pub use pages::human_bytes;

use crate::app::App;
use crate::error::{Error, ErrorKind, Result};
use auth::Sessions;
use reply::{Reply, send};
use routes::Route;
use std::collections::HashMap;
use std::io::Read;
use std::sync::Arc;
use std::thread::JoinHandle;
use tiny_http::{Request, Server};

/// Worker threads serving requests (downloads stream, so a few can run at once).
const WORKERS: usize = 4;
/// Largest form body accepted.
const MAX_FORM: u64 = 1 << 20;

/// The script and stylesheet, compiled in.
const APP_JS: &str = include_str!("assets/app.js");
/// See [`APP_JS`].
const APP_CSS: &str = include_str!("assets/app.css");

/// A running web server.
pub struct Web {
    /// The listening server (to unblock workers on shutdown).
    server: Arc<Server>,
    /// Worker threads.
    workers: Vec<JoinHandle<()>>,
    /// The address actually bound.
    pub addr: std::net::SocketAddr,
}

impl Web {
    /// Stops the workers (requests in flight finish first).
    pub fn stop(self) {
        for _ in &self.workers {
            self.server.unblock();
        }
        for w in self.workers {
            let _ = w.join();
        }
    }
}

/// Starts serving `app` on `listen`.
pub fn start(app: Arc<App>, listen: std::net::SocketAddr) -> Result<Web> {
    let server = Server::http(listen).map_err(|e| {
        Error::new(
            ErrorKind::Io,
            format!("web: cannot listen on {listen}: {e}"),
        )
    })?;
    let addr = server
        .server_addr()
        .to_ip()
        .ok_or_else(|| Error::new(ErrorKind::Io, "web: not an IP listener"))?;
    let server = Arc::new(server);
    let sessions = Arc::new(Sessions::default());
    let workers = (0..WORKERS)
        .map(|i| {
            let (server, app, sessions) = (server.clone(), app.clone(), sessions.clone());
            std::thread::Builder::new()
                .name(format!("web-{i}"))
                .spawn(move || {
                    while let Ok(req) = server.recv() {
                        handle(&app, &sessions, req);
                    }
                })
                .expect("spawning a web worker")
        })
        .collect();
    log::info!("web UI on http://{addr}/");
    Ok(Web {
        server,
        workers,
        addr,
    })
}

/// Maps an error kind to its HTTP status: the one place this is decided.
fn status_of(e: &Error) -> u16 {
    match e.kind() {
        ErrorKind::InvalidInput => 400,
        ErrorKind::NotFound => 404,
        ErrorKind::StorageFull => 507,
        ErrorKind::Corrupt | ErrorKind::Unsupported | ErrorKind::Io | ErrorKind::Network => 500,
    }
}

fn handle(app: &App, sessions: &Sessions, mut req: Request) {
    log::debug!("web: {} {}", req.method(), req.url());
    let route = match routes::route(req.method(), req.url()) {
        Ok(r) => r,
        Err((status, msg)) => return send(req, Reply::text(status, msg)),
    };
    let reply = match route {
        Route::Overview => pages::overview(app),
        Route::Day(id) if api::known(app, &id) => {
            // The day view archives with a POST, so it carries a session's CSRF token.
            let (session, cookie) = sessions.get_or_create(&req);
            let mut r = pages::day(&id, &session.csrf);
            if let Some(c) = cookie {
                r = r.header("Set-Cookie", c);
            }
            r
        }
        Route::Day(id) => Reply::text(404, format!("no camera {id:?}")),
        Route::Status => pages::status(app),
        Route::Asset(name) => match name.as_str() {
            "app.js" => Reply::ok("text/javascript; charset=utf-8", APP_JS)
                .header("Cache-Control", "max-age=300"),
            "app.css" => {
                Reply::ok("text/css; charset=utf-8", APP_CSS).header("Cache-Control", "max-age=300")
            }
            _ => Reply::text(404, "no such file"),
        },
        Route::System => api::system(app),
        Route::Cameras => api::cameras(app),
        Route::DayMinutes(date, ids) => api::day(app, date, ids),
        Route::File(id, which, minute) => api::file(app, &id, which, minute),
        Route::Range(id, from, to) => api::range(app, &id, from, to),
        Route::Archives => {
            let (session, cookie) = sessions.get_or_create(&req);
            let mut r = pages::archives(app, &session.csrf);
            if let Some(c) = cookie {
                r = r.header("Set-Cookie", c);
            }
            r
        }
        Route::ArchiveList => api::archives(app),
        Route::ArchiveFile(name) => api::archive_file(app, &name),
        Route::ConfigForm | Route::LoginForm => {
            return form_page(app, sessions, req, route == Route::LoginForm, "");
        }
        Route::ConfigSave
        | Route::Login
        | Route::Logout
        | Route::ArchiveCreate
        | Route::ArchiveDelete(_) => {
            let form = match read_form(&mut req) {
                Ok(f) => f,
                Err(e) => return send(req, Reply::text(status_of(&e), e.to_string())),
            };
            return post(app, sessions, req, route, form);
        }
    };
    send(req, reply);
}

/// Parses an `application/x-www-form-urlencoded` body.
fn read_form(req: &mut Request) -> Result<HashMap<String, String>> {
    let mut body = Vec::new();
    req.as_reader()
        .take(MAX_FORM + 1)
        .read_to_end(&mut body)
        .map_err(|e| Error::io("reading form", e))?;
    if body.len() as u64 > MAX_FORM {
        return Err(Error::invalid("form too large"));
    }
    Ok(url::form_urlencoded::parse(&body).into_owned().collect())
}

fn form_page(app: &App, sessions: &Sessions, req: Request, login: bool, note: &str) {
    let (session, cookie) = sessions.get_or_create(&req);
    let needs_login = app.loaded().config.web.admin_password.is_some() && !session.authed;
    let mut reply = if needs_login || login {
        Reply::ok(
            "text/html; charset=utf-8",
            html::page(
                "Log in",
                &format!(
                    "<h1>Log in</h1><p class=\"error\">{}</p><form method=\"post\" action=\"/login\">\
             <input type=\"hidden\" name=\"csrf\" value=\"{}\">\
             <label>Admin password<input type=\"password\" name=\"password\" autofocus></label>\
             <button type=\"submit\">Log in</button></form>",
                    html::esc(note),
                    html::esc(&session.csrf)
                ),
            ),
        )
    } else {
        let url_note = if req.url().ends_with("?saved=1") {
            "Saved and applied."
        } else {
            note
        };
        Reply::ok(
            "text/html; charset=utf-8",
            config_form::render(
                app,
                &app.loaded().raw,
                &HashMap::new(),
                &session.csrf,
                url_note,
            ),
        )
    };
    reply = reply.header("Cache-Control", "no-store");
    if let Some(c) = cookie {
        reply = reply.header("Set-Cookie", c);
    }
    send(req, reply);
}

fn post(app: &App, sessions: &Sessions, req: Request, route: Route, form: HashMap<String, String>) {
    let Some(session) = sessions.get(&req) else {
        return send(
            req,
            Reply::text(403, "no session: load the form first (cookies must be on)"),
        );
    };
    if !auth::same(form.get("csrf").map_or("", String::as_str), &session.csrf) {
        return send(
            req,
            Reply::text(403, "the form is stale (CSRF token mismatch): reload it"),
        );
    }
    let password = app.loaded().config.web.admin_password;
    match route {
        Route::Login => {
            let given = form.get("password").map_or("", String::as_str);
            match &password {
                Some(p) if !auth::same(given, p.expose()) => {
                    log::warn!("web: wrong admin password from {:?}", req.remote_addr());
                    form_page(app, sessions, req, true, "Wrong password.")
                }
                _ => {
                    sessions.authenticate(&session.id);
                    send(req, Reply::redirect("/config"))
                }
            }
        }
        Route::Logout => {
            sessions.remove(&session.id);
            send(req, Reply::redirect("/"))
        }
        _ if password.is_some() && !session.authed => send(req, Reply::redirect("/login")),
        Route::ArchiveCreate => {
            let field = |k: &str| form.get(k).map_or("", String::as_str);
            let range = routes::minute_label(field("from"))
                .and_then(|f| Ok((f, routes::minute_label(field("to"))?)));
            let reply = match range {
                Err((status, msg)) => Reply::text(status, msg),
                Ok((from, to)) if from > to => Reply::text(400, "the range ends before it starts"),
                Ok((from, to)) => {
                    match crate::archive::create(app, field("camera"), from, to, field("note")) {
                        Ok(a) => {
                            let mut r = api::envelope(serde_json::json!({ "archive": a }));
                            r.status = 201;
                            r
                        }
                        Err(e) => Reply::text(status_of(&e), e.to_string()),
                    }
                }
            };
            send(req, reply)
        }
        Route::ArchiveDelete(name) => {
            let dir = app.loaded().config.archive_dir;
            match crate::archive::delete(&dir, &name) {
                Ok(()) => send(req, Reply::redirect("/archives")),
                Err(e) => send(req, Reply::text(status_of(&e), e.to_string())),
            }
        }
        _ => {
            let old = app.loaded().raw;
            let (raw, errors) = config_form::from_form(&form, &old);
            let reply = if errors.is_empty() {
                match config_form::save(app, raw) {
                    Ok(()) => {
                        log::info!("config saved from the web form");
                        Reply::redirect("/config?saved=1")
                    }
                    Err(e) => Reply::text(status_of(&e), format!("saving the config: {e}")),
                }
            } else {
                // Show what was typed (never passwords) with the errors beside it.
                let mut r = Reply::ok(
                    "text/html; charset=utf-8",
                    config_form::render(app, &raw, &errors, &session.csrf, ""),
                );
                r.status = 400;
                r
            };
            send(req, reply)
        }
    }
}
