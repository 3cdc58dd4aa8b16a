//! Setting the admin password on first visit, logging in and out. Until a password is set
//! only the setup page works (a fresh appliance is not open to the LAN); afterwards the
//! setup page refuses. Wrong passwords are counted per address (see `auth::limiter`), and
//! logging in always makes a new session id.

use super::auth::{Who, same, too_many};
use super::ctx::Ctx;
use super::html::{esc, page};
use super::reply::Reply;
use super::request::Request;
use crate::config::{self, Secret, password};
use crate::error::{Error, ErrorKind, Result};
use std::collections::HashMap;

/// The session a form page hands out: the visitor's own, or a new anonymous one (with the
/// cookie that delivers it).
fn form_session(ctx: &Ctx, who: &Who) -> (String, Option<String>) {
    match &who.session {
        Some(s) => (s.csrf.clone(), None),
        None => {
            let s = ctx.auth.sessions.anonymous();
            (s.csrf.clone(), Some(s.cookie()))
        }
    }
}

/// Where to go after logging in: a path of ours, never another site.
fn next_of(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.into(),
        _ => "/".into(),
    }
}

fn with_cookie(r: Reply, cookie: Option<String>) -> Reply {
    let r = r.header("Cache-Control", "no-store");
    match cookie {
        Some(c) => r.header("Set-Cookie", c),
        None => r,
    }
}

/// `GET /login`.
pub fn login_page(ctx: &Ctx, rq: &Request, who: &Who, note: &str) -> Result<Reply> {
    let loaded = ctx.app.loaded();
    if loaded.config.web.admin_password.is_none() && !loaded.password_unknown {
        return Ok(Reply::redirect("/setup"));
    }
    let (csrf, cookie) = form_session(ctx, who);
    let next = next_of(rq.param("next").as_deref());
    let locked = if loaded.password_unknown {
        "<p class=\"error\">The config file cannot be read, so its admin password is not \
         known: fix the file (on the appliance, <code>pinvr.json</code> on the PINVR-BOOT \
         drive) and restart.</p>"
    } else {
        ""
    };
    let body = format!(
        "<h1>Log in</h1>{locked}<p class=\"error\" role=\"alert\"{hide}>{note}</p>\
         <form method=\"post\" action=\"/login\" class=\"narrow\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
         <input type=\"hidden\" name=\"next\" value=\"{next}\">\
         <input type=\"text\" name=\"username\" value=\"admin\" autocomplete=\"username\" hidden>\
         <label>Admin password<input type=\"password\" name=\"password\" autocomplete=\"current-password\" autofocus></label>\
         <button type=\"submit\">Log in</button></form>",
        hide = if note.is_empty() { " hidden" } else { "" },
        note = esc(note),
        csrf = esc(&csrf),
        next = esc(&next),
    );
    Ok(with_cookie(
        Reply::ok("text/html; charset=utf-8", page("Log in", &body)),
        cookie,
    ))
}

/// `GET /setup`.
pub fn setup_page(ctx: &Ctx, who: &Who, note: &str) -> Result<Reply> {
    let loaded = ctx.app.loaded();
    if loaded.config.web.admin_password.is_some() || loaded.password_unknown {
        return Ok(Reply::redirect(if who.is_admin() { "/" } else { "/login" }));
    }
    let (csrf, cookie) = form_session(ctx, who);
    let problem = loaded.error.as_deref().map_or(String::new(), |e| {
        format!(
            "<p class=\"error\">The config file has a problem: <code>{}</code>. Setting the \
             password keeps the rest of the file as it is; fix it afterwards on the config page.</p>",
            esc(e)
        )
    });
    let body = format!(
        "<h1>Welcome to pinvr</h1><p>Choose the admin password. Until it is set, this page \
         is all pinvr shows, so nobody else on the network can take the recorder over.</p>{problem}\
         <p class=\"error\" role=\"alert\"{hide}>{note}</p>\
         <form method=\"post\" action=\"/setup\" class=\"narrow\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
         <input type=\"text\" name=\"username\" value=\"admin\" autocomplete=\"username\" hidden>\
         <label>Admin password (at least {min} characters)<input type=\"password\" name=\"password\" autocomplete=\"new-password\" autofocus></label>\
         <label>Again<input type=\"password\" name=\"confirm\" autocomplete=\"new-password\"></label>\
         <button type=\"submit\">Set the password</button></form>",
        hide = if note.is_empty() { " hidden" } else { "" },
        note = esc(note),
        csrf = esc(&csrf),
        min = password::MIN_LEN,
    );
    Ok(with_cookie(
        Reply::ok("text/html; charset=utf-8", page("Set up", &body)),
        cookie,
    ))
}

fn field<'a>(form: &'a HashMap<String, String>, k: &str) -> &'a str {
    form.get(k).map_or("", String::as_str)
}

/// `POST /login`.
pub fn login(ctx: &Ctx, rq: &Request, who: &Who, form: &HashMap<String, String>) -> Result<Reply> {
    let loaded = ctx.app.loaded();
    let Some(stored) = loaded.config.web.admin_password.clone() else {
        return Ok(Reply::redirect("/setup"));
    };
    if let Err(wait) = ctx.auth.limiter.check(rq.remote) {
        return Err(too_many(wait));
    }
    if !password::verify(field(form, "password"), stored.expose()) {
        ctx.auth.limiter.failed(rq.remote, "wrong admin password");
        let mut rq = rq.clone();
        rq.query = format!("next={}", field(form, "next"));
        return Ok(login_page(ctx, &rq, who, "Wrong password.")?.status(403));
    }
    ctx.auth.limiter.succeeded(rq.remote);
    let s = ctx
        .auth
        .sessions
        .login(who.session.as_ref().map(|s| s.id.as_str()));
    Ok(with_cookie(
        Reply::redirect(&next_of(Some(field(form, "next")))),
        Some(s.cookie()),
    ))
}

/// `POST /setup`.
pub fn setup(ctx: &Ctx, rq: &Request, who: &Who, form: &HashMap<String, String>) -> Result<Reply> {
    let app = &ctx.app;
    let loaded = app.loaded();
    if loaded.config.web.admin_password.is_some() || loaded.password_unknown {
        return Err(Error::new(
            ErrorKind::Forbidden,
            "the admin password is already set: log in, or change it on the config page",
        ));
    }
    let (p, again) = (field(form, "password"), field(form, "confirm"));
    if !same(p, again) {
        return Ok(setup_page(ctx, who, "The two passwords differ.")?.status(400));
    }
    if let Some(why) = password::weakness(p) {
        return Ok(setup_page(ctx, who, &format!("The password {why}."))?.status(400));
    }
    let hash = password::hash(p);
    if loaded.error.is_none() || !app.config_path.exists() {
        let mut raw = loaded.raw.clone();
        raw.web.admin_password = Some(Secret(hash));
        let config = config::save(&app.config_path, &raw)?;
        app.set(raw, config);
    } else {
        // The file is invalid elsewhere: set the password in it and leave the rest as the
        // user wrote it, to be fixed.
        config::patch_admin_password(&app.config_path, &hash, true)?;
        app.set_error(
            loaded.error.clone().unwrap_or_default(),
            config::salvage_web(&app.config_path),
        );
    }
    log::info!("web: the admin password was set from {}", rq.remote);
    let s = ctx
        .auth
        .sessions
        .login(who.session.as_ref().map(|s| s.id.as_str()));
    Ok(with_cookie(Reply::redirect("/"), Some(s.cookie())))
}

/// `POST /logout`.
pub fn logout(ctx: &Ctx, who: &Who) -> Result<Reply> {
    if let Some(s) = &who.session {
        ctx.auth.sessions.remove(&s.id);
    }
    Ok(with_cookie(
        Reply::redirect("/login"),
        Some(format!(
            "{}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0",
            super::auth::sessions::COOKIE
        )),
    ))
}
