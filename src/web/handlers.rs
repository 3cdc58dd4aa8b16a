//! From a route to its handler: the pages, the API, the compiled-in script and stylesheet,
//! and the forms. Every form that a session posts must carry that session's CSRF token;
//! a script with an API token needs none (it sends no cookie a page could borrow).

use super::auth::{Who, same};
use super::ctx::Ctx;
use super::reply::Reply;
use super::request::Request;
use super::request::Submitted;
use super::routes::{Route, Span};
use super::{
    api, camera_test, changes_api, config_form, config_save, day_page, live_page, live_stream,
    login, pages,
};
use crate::error::{Error, ErrorKind, Result};
use std::collections::HashMap;

/// A submitted form.
pub type Form = HashMap<String, String>;

/// The scripts and the stylesheet, compiled in: (name, content type, body).
const ASSETS: &[(&str, &str, &str)] = &[
    ("app.js", JS, include_str!("assets/app.js")),
    ("day.js", JS, include_str!("assets/day.js")),
    ("live.js", JS, include_str!("assets/live.js")),
    ("config.js", JS, include_str!("assets/config.js")),
    ("player.js", JS, include_str!("assets/player.js")),
    ("timeline.js", JS, include_str!("assets/timeline.js")),
    ("changes.js", JS, include_str!("assets/changes.js")),
    ("timefmt.js", JS, include_str!("assets/timefmt.js")),
    (
        "app.css",
        "text/css; charset=utf-8",
        include_str!("assets/app.css"),
    ),
];
/// Content type of the scripts.
const JS: &str = "text/javascript; charset=utf-8";

/// Answers `route` for `who`; `form` is the body of a POST.
pub fn dispatch(
    ctx: &Ctx,
    rq: &Request,
    route: Route,
    who: &Who,
    body: Option<Submitted>,
) -> Result<Reply> {
    let app = &ctx.app;
    match route {
        Route::Changes(id, q) => changes_api::changes(ctx, &id, q),
        Route::Tags(id, from, to) => changes_api::tags(ctx, &id, from, to),
        Route::TagCreate | Route::CameraTest => {
            // A page's script sends its CSRF token as a header; a token needs none.
            if who.token.is_none()
                && !who
                    .session
                    .as_ref()
                    .is_some_and(|s| same(rq.header("x-csrf-token").unwrap_or(""), &s.csrf))
            {
                return Err(Error::new(
                    ErrorKind::Forbidden,
                    "X-CSRF-Token does not match the session: reload the page",
                ));
            }
            match (body, &route) {
                (Some(Submitted::Json(v)), Route::TagCreate) => changes_api::create_tag(ctx, v),
                (Some(Submitted::Json(v)), _) => camera_test::test(ctx, &v),
                _ => Err(Error::invalid("send JSON")),
            }
        }
        Route::Overview => Ok(pages::overview(app)),
        Route::Live(one) => live_page::live(app, one.as_deref()),
        Route::Metrics => Ok(super::metrics::metrics(ctx)),
        Route::Health => Ok(super::health::health(
            ctx,
            who.is_admin() || app.loaded().config.web.anonymous_view,
        )),
        Route::LiveStream(id) => live_stream::stream(ctx, rq, &id),
        Route::Day(id) => day_page::day(app, &id, who.csrf()),
        Route::Status => Ok(pages::status(app)),
        Route::Asset(name) => asset(&name),
        Route::System => Ok(api::system(app)),
        Route::Cameras => Ok(api::cameras(app)),
        Route::DayMinutes(date, ids) => api::day(app, date, ids),
        Route::File(id, which, minute) => api::file(app, &id, which, minute),
        Route::Range(id, span) => api::range(ctx, rq, &id, span),
        Route::Spans(id, date) => api::spans(ctx, &id, date),
        Route::Archives => Ok(pages::archives(app, who.csrf())),
        Route::ArchiveList => Ok(api::archives(app)),
        Route::ArchiveFile(name) => api::archive_file(app, &name),
        Route::ConfigForm => Ok(config_form::page(ctx, rq, who, "")),
        Route::LoginForm => login::login_page(ctx, rq, who, ""),
        Route::SetupForm => login::setup_page(ctx, who, ""),
        post => {
            let form = match body {
                Some(Submitted::Form(f)) => f,
                _ => Form::default(),
            };
            self::post(ctx, rq, post, who, form)
        }
    }
}

/// The span an archive form asks for: `YYYYMMDD.HHMM` labels for whole minutes, or
/// `YYYYMMDD.HHMMSS` ones for seconds (the end excluded).
fn archive_span(from: &str, to: &str) -> Result<Span> {
    let seconds = |s: &str| {
        let (d, t) = s
            .split_once('.')
            .ok_or_else(|| Error::invalid(format!("{s:?} is not YYYYMMDD.HHMMSS")))?;
        crate::fmt::parse_second(d, t).map_err(Error::invalid)
    };
    let span = if from.len() == 15 && to.len() == 15 {
        Span::Seconds(seconds(from)?, seconds(to)?)
    } else {
        let minute = |s: &str| crate::fmt::parse_minute_label(s).map_err(Error::invalid);
        Span::Minutes(minute(from)?, minute(to)?)
    };
    match span {
        Span::Seconds(a, b) | Span::Minutes(a, b) if a > b => {
            Err(Error::invalid("the range ends before it starts"))
        }
        Span::Seconds(a, b) if a == b => Err(Error::invalid("the range ends before it starts")),
        s => Ok(s),
    }
}

fn asset(name: &str) -> Result<Reply> {
    let (_, kind, body) = ASSETS
        .iter()
        .find(|(n, _, _)| *n == name)
        .ok_or_else(|| Error::not_found("no such file"))?;
    Ok(Reply::ok(kind, *body).header("Cache-Control", "max-age=300"))
}

/// The forms.
fn post(ctx: &Ctx, rq: &Request, route: Route, who: &Who, form: Form) -> Result<Reply> {
    if who.token.is_none() {
        let Some(s) = &who.session else {
            return Err(Error::new(
                ErrorKind::Forbidden,
                "no session: load the form first (cookies must be on)",
            ));
        };
        if !same(form.get("csrf").map_or("", String::as_str), &s.csrf) {
            return Err(Error::new(
                ErrorKind::Forbidden,
                "the form is stale (CSRF token mismatch): reload it",
            ));
        }
    }
    let field = |k: &str| form.get(k).map_or("", String::as_str);
    let app = &ctx.app;
    match route {
        Route::Login => login::login(ctx, rq, who, &form),
        Route::Setup => login::setup(ctx, rq, who, &form),
        Route::Logout => login::logout(ctx, who),
        Route::ConfigSave => config_save::save(ctx, rq, who, &form),
        Route::TokenCreate => {
            let name = field("name");
            let token = ctx.auth.tokens.create(name, crate::time::now_micros())?;
            Ok(config_form::page_with_token(ctx, rq, who, name, &token))
        }
        Route::TokenDelete(name) => {
            ctx.auth.tokens.delete(&name)?;
            Ok(Reply::redirect("/config#tokens"))
        }
        Route::ArchiveCreate => {
            let span = archive_span(field("from"), field("to"))?;
            let (from, to) = match span {
                Span::Minutes(a, b) => (crate::fmt::minute_label(a), crate::fmt::minute_label(b)),
                Span::Seconds(a, b) => (crate::fmt::second_label(a), crate::fmt::second_label(b)),
            };
            let camera = field("camera");
            let files = api::span_files(app, camera, span)
                .ok_or_else(|| Error::not_found(format!("no camera {camera:?}")))?;
            let mp4 = api::build_span(&files, span)?;
            let (a, b) = match span {
                Span::Minutes(a, b) => (a * 60_000_000, b * 60_000_000 + 59_999_999),
                Span::Seconds(a, b) => (a, b),
            };
            let dir = app.index.dir(camera).unwrap_or_default();
            let tags = crate::tags::list(&dir, camera, a, b);
            let req = crate::archive::Request {
                camera,
                start: &from,
                end: &to,
                mp4: &mp4,
                note: field("note"),
                tags: &tags,
            };
            let a = crate::archive::create(
                &app.loaded().config.archive_dir,
                &req,
                crate::time::now_micros(),
            )?;
            Ok(api::envelope(serde_json::json!({ "archive": a })).status(201))
        }
        Route::ArchiveDelete(name) => {
            crate::archive::delete(&app.loaded().config.archive_dir, &name)?;
            Ok(Reply::redirect("/archives"))
        }
        _ => Err(Error::not_found("no such form")),
    }
}
