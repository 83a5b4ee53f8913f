//! The languages Akashi speaks to people — Japanese and English — and the
//! one rule every page follows to choose: an explicit choice (`?lang=`, an
//! LTI launch's locale) wins, then the reader's `Accept-Language` by its
//! weights, then English.

/// A language Akashi's pages, mail and certificates are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Lang {
    En,
    Ja,
}

impl Lang {
    /// Both, in a fixed order.
    pub const ALL: [Lang; 2] = [Lang::En, Lang::Ja];

    /// The BCP 47 tag.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Ja => "ja",
        }
    }

    /// The language of a tag by its primary subtag (`ja-JP` is `ja`);
    /// `None` for one Akashi does not speak.
    pub fn parse(tag: &str) -> Option<Lang> {
        let primary = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "en" => Some(Lang::En),
            "ja" => Some(Lang::Ja),
            _ => None,
        }
    }

    /// The other one.
    pub fn other(self) -> Lang {
        match self {
            Lang::En => Lang::Ja,
            Lang::Ja => Lang::En,
        }
    }

    /// Chooses from an explicit choice and the `Accept-Language` header.
    pub fn negotiate(explicit: Option<&str>, accept_language: Option<&str>) -> Lang {
        if let Some(lang) = explicit.and_then(Lang::parse) {
            return lang;
        }
        let mut best: Option<(f32, Lang)> = None;
        for part in accept_language.unwrap_or("").split(',') {
            let mut pieces = part.split(';');
            let Some(lang) = pieces.next().and_then(Lang::parse) else {
                continue;
            };
            let q = pieces
                .find_map(|p| p.trim().strip_prefix("q=").and_then(|q| q.parse::<f32>().ok()))
                .unwrap_or(1.0);
            if best.is_none_or(|(bq, _)| q > bq) {
                best = Some((q, lang));
            }
        }
        best.map(|(_, l)| l).unwrap_or(Lang::En)
    }

    /// The `lang` parameter of a URL query string, if any.
    pub fn from_query(query: &str) -> Option<Lang> {
        query
            .split('&')
            .find_map(|pair| pair.strip_prefix("lang="))
            .and_then(Lang::parse)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_explicit_choice_wins_then_the_highest_weight_then_english() {
        assert_eq!(Lang::negotiate(Some("ja"), Some("en")), Lang::Ja);
        assert_eq!(Lang::negotiate(Some("xx"), Some("ja-JP,ja;q=0.9,en;q=0.8")), Lang::Ja);
        assert_eq!(Lang::negotiate(None, Some("fr;q=1.0, en;q=0.5, ja;q=0.7")), Lang::Ja);
        assert_eq!(Lang::negotiate(None, Some("de")), Lang::En);
        assert_eq!(Lang::negotiate(None, None), Lang::En);
        assert_eq!(Lang::from_query("x=1&lang=ja-JP"), Some(Lang::Ja));
        assert_eq!(Lang::from_query("language=ja"), None);
        assert_eq!(Lang::Ja.other(), Lang::En);
    }
}
