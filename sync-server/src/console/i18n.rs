//! The console's words: core's [`Lang`] (zh-CN unless the browser asks for English first) and
//! core's labels for statuses, actions and roles. Page text written here picks its language
//! with [`t`]; no page keeps a label list of its own.

use axum::http::HeaderMap;
use xuncha_core::workflow::{Action, Status};

pub use xuncha_core::Lang;

/// The language a browser asks for first.
pub fn lang_of(h: &HeaderMap) -> Lang {
    Lang::from_accept_language(
        h.get(axum::http::header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    )
}

/// A status in the page's language.
pub fn status_label(lang: Lang, s: Status) -> &'static str {
    s.label(lang)
}

/// An action in the page's language.
pub fn action_label(lang: Lang, a: Action) -> &'static str {
    a.label(lang)
}

/// Pick the text of the page's language.
pub fn t<'a>(lang: Lang, zh: &'a str, en: &'a str) -> &'a str {
    lang.pick(zh, en)
}
