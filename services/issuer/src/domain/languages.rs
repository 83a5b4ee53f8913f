//! The languages a badge class is written in: the one its texts are in,
//! and translations of its name, description and criteria. Akashi's pages
//! speak Japanese and English, so those are the languages it accepts.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::fields::{FieldError, LongText, Name};

pub use akashi_model::Lang as Language;

/// `en` or `ja` (a region such as `ja-JP` is accepted and dropped).
pub fn parse_language(field: &'static str, raw: &str) -> Result<Language, FieldError> {
    Language::parse(raw).ok_or_else(|| FieldError::new(field, format!("{raw:?} is not a supported language (en, ja)")))
}

/// Field names of a language's translation, for error messages.
fn fields(language: Language) -> [&'static str; 3] {
    match language {
        Language::En => [
            "translations.en.name",
            "translations.en.description",
            "translations.en.criteria",
        ],
        Language::Ja => [
            "translations.ja.name",
            "translations.ja.description",
            "translations.ja.criteria",
        ],
    }
}

/// A badge class's texts in one more language, as the admin API takes and shows them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BadgeTexts {
    #[schema(example = "データサイエンス基礎")]
    pub name: String,
    pub description: String,
    pub criteria: String,
}

/// Checked translations, by language; never one in the badge class's own language.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Translations(BTreeMap<Language, BadgeTexts>);

impl Translations {
    /// Parses what the admin gave against the badge class's own language.
    pub fn parse(own: Language, given: &BTreeMap<String, BadgeTexts>) -> Result<Self, FieldError> {
        let mut out = BTreeMap::new();
        for (tag, texts) in given {
            let language = parse_language("translations", tag)?;
            if language == own {
                return Err(FieldError::new(
                    "translations",
                    format!("{tag}: the badge class is written in this language already"),
                ));
            }
            out.insert(language, Self::parse_texts(language, texts)?);
        }
        Ok(Self(out))
    }

    /// Checks one language's texts, as for the badge class's own.
    pub fn parse_texts(language: Language, texts: &BadgeTexts) -> Result<BadgeTexts, FieldError> {
        let [name, description, criteria] = fields(language);
        Ok(BadgeTexts {
            name: Name::parse(name, &texts.name)?.into_inner(),
            description: LongText::parse(description, &texts.description)?.into_inner(),
            criteria: LongText::parse(criteria, &texts.criteria)?.into_inner(),
        })
    }

    /// As stored: `{"ja": {"name", "description", "criteria"}}`.
    pub fn to_json(&self) -> serde_json::Value {
        let map: BTreeMap<&str, &BadgeTexts> = self.0.iter().map(|(l, t)| (l.tag(), t)).collect();
        serde_json::to_value(map).unwrap_or_default()
    }

    /// Reads what was stored (unknown languages are skipped: they were never accepted).
    pub fn from_json(stored: &serde_json::Value) -> Self {
        let map: BTreeMap<String, BadgeTexts> = serde_json::from_value(stored.clone()).unwrap_or_default();
        Self(
            map.into_iter()
                .filter_map(|(tag, texts)| Language::parse(&tag).map(|l| (l, texts)))
                .collect(),
        )
    }

    /// Each translation with its language.
    pub fn iter(&self) -> impl Iterator<Item = (Language, &BadgeTexts)> {
        self.0.iter().map(|(l, t)| (*l, t))
    }

    /// Adds or replaces one language's texts.
    pub fn set(&mut self, language: Language, texts: BadgeTexts) {
        self.0.insert(language, texts);
    }

    /// Removes one language's texts; whether there were any.
    pub fn remove(&mut self, language: Language) -> bool {
        self.0.remove(&language).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(name: &str) -> BadgeTexts {
        BadgeTexts {
            name: name.into(),
            description: "説明".into(),
            criteria: "基準".into(),
        }
    }

    #[test]
    fn a_translation_is_checked_like_the_badge_class_itself() {
        let given = BTreeMap::from([("ja-JP".to_string(), texts("  データ  "))]);
        let parsed = Translations::parse(Language::En, &given).unwrap();
        assert_eq!(parsed.to_json()["ja"]["name"], "データ");
        assert_eq!(Translations::from_json(&parsed.to_json()), parsed);

        let empty = BTreeMap::from([("ja".to_string(), texts(" "))]);
        let error = Translations::parse(Language::En, &empty).unwrap_err();
        assert_eq!(error.field, "translations.ja.name");
    }

    #[test]
    fn the_own_language_and_unknown_languages_are_refused() {
        let own = BTreeMap::from([("en".to_string(), texts("Data"))]);
        assert!(Translations::parse(Language::En, &own).is_err());
        let french = BTreeMap::from([("fr".to_string(), texts("Données"))]);
        let error = Translations::parse(Language::En, &french).unwrap_err();
        assert!(error.problem.contains("not a supported language"), "{error}");
        assert_eq!(parse_language("language", "JA").unwrap(), Language::Ja);
    }
}
