//! The page's files, compiled in: `index.html` (the status page),
//! `login.html` (the form), `ui.css` and `ui.js`. Nothing is fetched from
//! anywhere else, at build time or in the browser.

use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use http::{StatusCode, header};

const INDEX: &str = include_str!("../assets/index.html");
const LOGIN: &str = include_str!("../assets/login.html");
const SCRIPT: &str = include_str!("../assets/ui.js");
const STYLE: &str = include_str!("../assets/ui.css");

/// Where `login.html` shows an error.
const ERROR_SLOT: &str = "<!--error-->";

const HTML: &str = "text/html; charset=utf-8";

/// `GET /ui`: the status page (its data comes from the API).
pub(crate) async fn page() -> Response {
    ([(header::CONTENT_TYPE, HTML)], INDEX).into_response()
}

/// `GET /ui/assets/{file}`.
pub(crate) async fn asset(Path(file): Path<String>) -> Response {
    match file.as_str() {
        "ui.js" => ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8")], SCRIPT).into_response(),
        "ui.css" => ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], STYLE).into_response(),
        _ => (StatusCode::NOT_FOUND, [(header::CONTENT_TYPE, "text/plain")], "no such file").into_response(),
    }
}

/// The sign-in form with `status`, showing `error` when given.
pub(crate) fn login_page(status: StatusCode, error: Option<&str>) -> Response {
    let body = match error {
        Some(text) => {
            let alert = format!("<p class=\"error\" id=\"error\" role=\"alert\">{}</p>", escape(text));
            LOGIN.replacen(ERROR_SLOT, &alert, 1)
        }
        None => LOGIN.to_owned(),
    };
    (status, [(header::CONTENT_TYPE, HTML)], body).into_response()
}

/// `text` safe inside HTML text and attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_escaped_into_the_form() {
        assert_eq!(escape("<a href='x'>&\"</a>"), "&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;");
        assert!(LOGIN.contains(ERROR_SLOT));
    }

    #[test]
    fn no_page_holds_inline_script_or_style() {
        for (name, html) in [("index.html", INDEX), ("login.html", LOGIN)] {
            assert!(!html.contains("<script>"), "{name}: inline script");
            assert!(!html.contains("style="), "{name}: inline style");
            assert!(!html.contains("<style"), "{name}: inline style");
            for handler in ["onclick=", "onload=", "onsubmit=", "onerror=", "onchange=", "javascript:"] {
                assert!(!html.contains(handler), "{name}: inline handler {handler}");
            }
            assert!(!html.contains("://"), "{name}: loads something from elsewhere");
        }
    }
}
