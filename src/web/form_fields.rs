//! Labelled inputs of the settings forms, each with its error beside it, and the map of
//! errors by field name they are drawn from.

use super::html::esc;
use std::collections::HashMap;

/// Errors by form field name.
pub type FieldErrors = HashMap<String, String>;

/// One labelled input: `kind` is an input type, or `secret` for a masked text field.
pub fn input(
    name: &str,
    label: &str,
    value: &str,
    errors: &FieldErrors,
    kind: &str,
    hint: &str,
) -> String {
    let err = errors.get(name).map_or(String::new(), |e| {
        format!("<span class=\"ferr\" role=\"alert\">{}</span>", esc(e))
    });
    // These are settings, not a login: browsers must not fill them in. Camera passwords
    // are masked text fields, because browsers take several password inputs in one form
    // for a malformed login form.
    let (kind, mut class) = match kind {
        "secret" => ("text", vec!["secret"]),
        k => (k, vec![]),
    };
    if errors.contains_key(name) {
        class.push("bad");
    }
    let auto = if kind == "password" {
        "new-password"
    } else {
        "off"
    };
    let cls = if class.is_empty() {
        String::new()
    } else {
        format!(" class=\"{}\"", class.join(" "))
    };
    format!(
        "<label>{label}<input{cls} autocomplete=\"{auto}\" spellcheck=\"false\" type=\"{kind}\" name=\"{n}\" value=\"{v}\" placeholder=\"{h}\">{err}</label>",
        n = esc(name),
        v = esc(value),
        h = esc(hint)
    )
}

/// The error key that asks a camera row for consent to send its saved password to a new
/// address (the row's number follows).
pub const SEND_PASSWORD: &str = "send_password";
