//! The config page: every setting of the file, errors shown beside their fields (saving is
//! [`super::config_save`]), and the API tokens. Passwords are never sent to the browser.

use super::auth::Who;
use super::ctx::Ctx;
pub use super::form_fields::FieldErrors;
use super::form_fields::input;
use super::html::esc;
use super::reply::Reply;
use super::request::Request;
use crate::app::App;
use crate::config::{self, RawConfig};
use std::collections::HashMap;

fn opt_num(v: Option<f64>) -> String {
    v.map_or(String::new(), |x| x.to_string())
}

/// `GET /config`: the form for the settings in force, and the tokens.
pub fn page(ctx: &Ctx, rq: &Request, who: &Who, note: &str) -> Reply {
    let note = if note.is_empty() && rq.param("saved").is_some() {
        "Saved and applied."
    } else {
        note
    };
    let raw = ctx.app.loaded().raw;
    html(ctx, &raw, &HashMap::new(), who.csrf(), note, "")
}

/// The config page right after a token was made: the token, shown this once.
pub fn page_with_token(ctx: &Ctx, _rq: &Request, who: &Who, name: &str, token: &str) -> Reply {
    let shown = format!(
        "<p class=\"ok\" id=\"newtoken\">API token <b>{}</b> made. Copy it now; it is not shown again:<br>\
         <code class=\"token\">{}</code></p>",
        esc(name),
        esc(token)
    );
    let raw = ctx.app.loaded().raw;
    html(ctx, &raw, &HashMap::new(), who.csrf(), "", &shown)
}

/// The page around the form.
pub fn html(
    ctx: &Ctx,
    raw: &RawConfig,
    errors: &FieldErrors,
    csrf: &str,
    note: &str,
    top: &str,
) -> Reply {
    let mut b = render(&ctx.app, raw, errors, csrf, note, top);
    b.push_str(&tokens(ctx, csrf));
    b.push_str(&format!(
        "<form method=\"post\" action=\"/logout\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
         <button type=\"submit\">Log out</button></form>",
        esc(csrf)
    ));
    Reply::ok(
        "text/html; charset=utf-8",
        super::html::page("Configuration", &b).replace(
            "<script type=\"module\" src=\"/static/app.js\"></script>",
            "<script type=\"module\" src=\"/static/app.js\"></script>\n<script type=\"module\" src=\"/static/config.js\"></script>",
        ),
    )
    .header("Cache-Control", "no-store")
    .status(if errors.is_empty() { 200 } else { 400 })
}

/// The API tokens section.
fn tokens(ctx: &Ctx, csrf: &str) -> String {
    let mut b = String::from(
        "<h2 id=\"tokens\">API tokens</h2><p class=\"muted\">Scripts send a token as \
         <code>Authorization: Bearer &lt;token&gt;</code>; it can do what a logged-in admin can.</p><ul class=\"tokens\">",
    );
    for t in ctx.auth.tokens.list() {
        b.push_str(&format!(
            "<li><b>{n}</b> made <time data-iso=\"{c}\">{c}</time> \
             <form method=\"post\" action=\"/tokens/{n}/delete\" class=\"inline\">\
             <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\"><button type=\"submit\">Delete</button></form></li>",
            n = esc(&t.name),
            c = esc(&t.created),
            csrf = esc(csrf)
        ));
    }
    b.push_str(&format!(
        "</ul><form method=\"post\" action=\"/tokens\" class=\"inline\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{}\">\
         <label>New token's name (a-z 0-9 _ -)<input type=\"text\" name=\"name\" autocomplete=\"off\" placeholder=\"home-assistant\"></label>\
         <button type=\"submit\">Make a token</button></form>",
        esc(csrf)
    ));
    b
}

/// Renders the form for `raw`, with `errors` beside their fields and `top` above it.
pub fn render(
    app: &App,
    raw: &RawConfig,
    errors: &FieldErrors,
    csrf: &str,
    note: &str,
    top: &str,
) -> String {
    let loaded = app.loaded();
    let mut b = String::from("<h1>Configuration</h1>");
    b.push_str(&format!(
        "<p class=\"muted\">File: <code>{}</code></p>",
        esc(&app.config_path.display().to_string())
    ));
    if let Some(e) = &loaded.error {
        b.push_str(&format!("<p class=\"error\">The file on disk is invalid, so the last good settings are in use: <code>{}</code></p>", esc(e)));
    }
    if !note.is_empty() {
        b.push_str(&format!("<p class=\"ok\">{}</p>", esc(note)));
    }
    if let Some(e) = errors.get("") {
        b.push_str(&format!("<p class=\"error\">{}</p>", esc(e)));
    }
    b.push_str(top);
    b.push_str(&format!("<form method=\"post\" action=\"/config\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">", esc(csrf)));
    b.push_str("<fieldset><legend>Storage</legend>");
    b.push_str(&input(
        "data_dir",
        "Recordings folder",
        raw.data_dir.as_deref().unwrap_or(""),
        errors,
        "text",
        config::DEFAULT_DATA_DIR,
    ));
    b.push_str(&input(
        "archive_dir",
        "Archive folder",
        raw.archive_dir.as_deref().unwrap_or(""),
        errors,
        "text",
        "<recordings>/archive",
    ));
    b.push_str("</fieldset><fieldset><legend>Web</legend>");
    b.push_str(&input(
        "web.listen",
        "Listen address",
        raw.web.listen.as_deref().unwrap_or(""),
        errors,
        "text",
        config::DEFAULT_LISTEN,
    ));
    b.push_str(&input(
        "web.admin_password",
        "New admin password (blank keeps it)",
        "",
        errors,
        "password",
        "",
    ));
    b.push_str(&format!(
        "<label class=\"check\"><input type=\"checkbox\" name=\"web.anonymous_view\"{}> anyone on the network may view without logging in (changing settings still needs the password)</label>",
        if raw.web.anonymous_view.unwrap_or(false) { " checked" } else { "" }
    ));
    b.push_str(&input(
        "web.hosts",
        "Other host names of this recorder (comma-separated)",
        &raw.web.hosts.join(", "),
        errors,
        "text",
        "nvr.example.net",
    ));
    b.push_str("</fieldset><fieldset><legend>Reconnecting</legend>");
    let r = &raw.retry;
    b.push_str(&input(
        "retry.connect_timeout_s",
        "Connect timeout (s)",
        &opt_num(r.connect_timeout_s),
        errors,
        "text",
        "30",
    ));
    b.push_str(&input(
        "retry.gap_timeout_s",
        "Silence timeout (s)",
        &opt_num(r.gap_timeout_s),
        errors,
        "text",
        "5",
    ));
    b.push_str(&input(
        "retry.retry_delay_s",
        "First retry delay (s)",
        &opt_num(r.retry_delay_s),
        errors,
        "text",
        "2",
    ));
    b.push_str(&input(
        "retry.retry_max_delay_s",
        "Longest retry delay (s)",
        &opt_num(r.retry_max_delay_s),
        errors,
        "text",
        "60",
    ));
    b.push_str("</fieldset><fieldset><legend>Disk space</legend>");
    let rp = raw.reaper.clone().unwrap_or_default();
    b.push_str(&format!(
        "<label class=\"check\"><input type=\"checkbox\" name=\"reaper.enabled\"{}> delete the oldest minutes to keep disk space free</label>",
        if raw.reaper.is_some() { " checked" } else { "" }
    ));
    b.push_str(&input(
        "reaper.min_free_percent",
        "Keep free (%)",
        &opt_num(rp.min_free_percent),
        errors,
        "text",
        "10",
    ));
    b.push_str(&input(
        "reaper.min_free_bytes",
        "Keep free (bytes)",
        &rp.min_free_bytes.map_or(String::new(), |v| v.to_string()),
        errors,
        "text",
        "1073741824",
    ));
    b.push_str(&input(
        "reaper.max_age_days",
        "Delete after (days)",
        &rp.max_age_days.map_or(String::new(), |v| v.to_string()),
        errors,
        "text",
        "never",
    ));
    b.push_str(&input(
        "reaper.interval_s",
        "Check every (s)",
        &opt_num(rp.interval_s),
        errors,
        "text",
        "30",
    ));
    b.push_str("</fieldset>");
    b.push_str(&super::config_mqtt::fields(raw.mqtt.as_ref(), errors));
    b.push_str(&super::config_camera::fields(raw, errors));
    b.push_str("</fieldset><button type=\"submit\">Save and apply</button></form>");
    b
}
