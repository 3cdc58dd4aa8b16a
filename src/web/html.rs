//! Small helpers for server-rendered HTML: escaping and the page frame (header, navigation,
//! stylesheet and script, all compiled into the binary).

/// Escapes text for HTML element content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A whole page: `title` and the `body` HTML inside the common frame.
pub fn page(title: &str, body: &str) -> String {
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{t} · pinvr</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/static/app.css">
<script type="module" src="/static/app.js"></script>
</head>
<body>
<header><a class="brand" href="/">pinvr</a>
<nav><a href="/">Cameras</a><a href="/live">Live</a><a href="/archives">Archives</a><a href="/status">Status</a><a href="/config">Config</a></nav></header>
<main>
{banner}{body}
</main>
</body>
</html>
"#,
        t = esc(title),
        banner = clock_banner(),
    )
}

/// While the system clock is not synchronised (a Pi has no clock of its own and waits for
/// the network's time), every page says so: times given to new recordings may be wrong.
fn clock_banner() -> &'static str {
    if crate::clock_sync::synchronized() == Some(false) {
        "<p class=\"clockbanner\" role=\"alert\">The clock is not synchronised yet (no time from the network): new recordings are named by a time that may be wrong. pinvr keeps recording; check the network or NTP server if this stays.</p>\n"
    } else {
        ""
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes() {
        assert_eq!(
            super::esc(r#"<a href="x">&'"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
