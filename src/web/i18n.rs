//! The message catalog: every user-visible string in English and Simplified Chinese, and the
//! choice of language (cookie from the header switch, then `Accept-Language`).

use axum::extract::FromRequestParts;
use axum::http::header::{ACCEPT_LANGUAGE, COOKIE};
use axum::http::request::Parts;

/// Name of the cookie set by the language switch.
pub const LANG_COOKIE: &str = "osprey_lang";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    Zh,
}

impl Lang {
    pub fn from_code(code: &str) -> Option<Lang> {
        match code.to_ascii_lowercase().as_str() {
            "en" => Some(Lang::En),
            "zh" | "zh-cn" | "zh-hans" => Some(Lang::Zh),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Zh => "zh",
        }
    }

    /// BCP 47 tag for `<html lang>`.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Zh => "zh-CN",
        }
    }

    pub fn messages(self) -> &'static Messages {
        match self {
            Lang::En => &EN,
            Lang::Zh => &ZH,
        }
    }

    /// The words alert summaries and facts are told in on pages in this language.
    pub fn alert_words(self) -> &'static crate::alerting::message::Words {
        match self {
            Lang::En => &crate::alerting::message::EN,
            Lang::Zh => &crate::alerting::message::ZH,
        }
    }

    /// The cookie wins; otherwise the first `Accept-Language` entry we speak, by q-value.
    pub fn negotiate(cookie: Option<&str>, accept_language: Option<&str>) -> Lang {
        if let Some(lang) = cookie.and_then(Lang::from_code) {
            return lang;
        }
        let mut best: Option<(f32, Lang)> = None;
        for entry in accept_language.unwrap_or_default().split(',') {
            let mut parts = entry.split(';');
            let tag = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
            let q = parts
                .find_map(|p| p.trim().strip_prefix("q=").and_then(|q| q.parse::<f32>().ok()))
                .unwrap_or(1.0);
            let lang = match tag.split('-').next() {
                Some("zh") => Lang::Zh,
                Some("en") => Lang::En,
                _ => continue,
            };
            if best.is_none_or(|(best_q, _)| q > best_q) {
                best = Some((q, lang));
            }
        }
        best.map_or(Lang::En, |(_, lang)| lang)
    }
}

fn cookie_value<'a>(cookies: &'a str, name: &str) -> Option<&'a str> {
    cookies.split(';').find_map(|c| c.trim().strip_prefix(name)?.strip_prefix('='))
}

impl<S: Send + Sync> FromRequestParts<S> for Lang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let header = |name| parts.headers.get(name).and_then(|v| v.to_str().ok());
        let cookie = header(COOKIE).and_then(|c| cookie_value(c, LANG_COOKIE));
        Ok(Lang::negotiate(cookie, header(ACCEPT_LANGUAGE)))
    }
}

/// Declares the catalog once, so every key has both languages by construction.
macro_rules! catalog {
    ($($key:ident: $en:literal, $zh:literal;)*) => {
        /// Every user-visible string of the UI in one language. Strings with `{name}`
        /// placeholders are filled by [`Messages::fill`].
        #[derive(Debug)]
        pub struct Messages { $(pub $key: &'static str,)* }
        pub static EN: Messages = Messages { $($key: $en,)* };
        pub static ZH: Messages = Messages { $($key: $zh,)* };
    };
}

mod catalog;
pub use catalog::{EN, Messages, ZH};

impl Messages {
    /// Replaces each `{name}` in `template` with its value.
    pub fn fill(template: &str, values: &[(&str, &str)]) -> String {
        let mut out = template.to_owned();
        for (name, value) in values {
            out = out.replace(&format!("{{{name}}}"), value);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_beats_accept_language() {
        assert_eq!(Lang::negotiate(Some("en"), Some("zh-CN,zh;q=0.9")), Lang::En);
        assert_eq!(Lang::negotiate(Some("bogus"), Some("zh-CN,zh;q=0.9")), Lang::Zh);
    }

    #[test]
    fn accept_language_by_q_value() {
        assert_eq!(Lang::negotiate(None, Some("zh-CN,zh;q=0.9,en;q=0.8")), Lang::Zh);
        assert_eq!(Lang::negotiate(None, Some("fr;q=1, en;q=0.5, zh;q=0.4")), Lang::En);
        assert_eq!(Lang::negotiate(None, Some("de")), Lang::En);
        assert_eq!(Lang::negotiate(None, None), Lang::En);
    }

    #[test]
    fn cookies_are_found_among_others() {
        assert_eq!(cookie_value("a=1; osprey_lang=zh; b=2", LANG_COOKIE), Some("zh"));
        assert_eq!(cookie_value("osprey_language=zh", LANG_COOKIE), None);
    }

    #[test]
    fn the_result_of_an_action_is_not_labelled_as_delivery_attempts() {
        assert_eq!((EN.col_outcome, ZH.col_outcome), ("Result", "结果"));
        assert_ne!(EN.col_outcome, EN.col_result);
        assert_ne!(ZH.col_outcome, ZH.col_result);
    }

    #[test]
    fn placeholders_fill_in_both_languages() {
        for t in [&EN, &ZH] {
            let text = Messages::fill(t.page_of, &[("page", "2"), ("pages", "9")]);
            assert!(text.contains('2') && text.contains('9') && !text.contains('{'), "{text}");
        }
    }
}
