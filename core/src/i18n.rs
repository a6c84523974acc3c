//! The two languages of every screen: zh-CN first, English beside it. Every label a person reads
//! — of a status, an action, a role, a requirement, a photo kind, a sync phase — comes from its
//! type's `label(lang)` in this crate; the console, the bulletin and the app (through the FFI)
//! show those and keep no lists of their own.

/// Language of a label or a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    /// Simplified Chinese, the default of every screen.
    #[default]
    ZhCn,
    /// English.
    En,
}

impl Lang {
    /// The text of this language.
    pub fn pick<'a>(self, zh: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::ZhCn => zh,
            Lang::En => en,
        }
    }

    /// The language of an HTTP `Accept-Language` value: English if the first choice is English,
    /// zh-CN otherwise (and when absent).
    pub fn from_accept_language(value: Option<&str>) -> Lang {
        let first = value.and_then(|v| v.split(',').next()).unwrap_or("zh");
        if first.trim().to_ascii_lowercase().starts_with("en") {
            Lang::En
        } else {
            Lang::ZhCn
        }
    }

    /// The BCP 47 tag (`zh-CN`, `en`), for `<html lang>` and `Content-Language`.
    pub fn tag(self) -> &'static str {
        self.pick("zh-CN", "en")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workflow::{Action, Requirement, Role, Status};

    #[test]
    fn every_label_exists_in_both_languages_and_differs_between_values() {
        fn distinct(labels: Vec<&str>, what: &str) {
            let mut seen = std::collections::HashSet::new();
            for l in &labels {
                assert!(!l.trim().is_empty(), "{what}: empty label");
                assert!(seen.insert(*l), "{what}: label {l} used twice");
            }
        }
        for lang in [Lang::ZhCn, Lang::En] {
            distinct(
                Status::ALL.iter().map(|s| s.label(lang)).collect(),
                "status",
            );
            distinct(
                Action::ALL.iter().map(|a| a.label(lang)).collect(),
                "action",
            );
            distinct(Role::ALL.iter().map(|r| r.label(lang)).collect(), "role");
            distinct(
                Requirement::ALL.iter().map(|r| r.label(lang)).collect(),
                "requirement",
            );
        }
    }

    #[test]
    fn accept_language_picks_english_only_when_asked_first() {
        assert_eq!(Lang::from_accept_language(Some("en-US,en;q=0.9")), Lang::En);
        assert_eq!(
            Lang::from_accept_language(Some("zh-CN,en;q=0.8")),
            Lang::ZhCn
        );
        assert_eq!(Lang::from_accept_language(None), Lang::ZhCn);
        assert_eq!(Lang::En.tag(), "en");
    }
}
