//! Why a rule held or failed for a learner, as a code with parameters —
//! so that the console can say it in the reader's language — and as an
//! English sentence for the API's plain-text readers and the logs.
//!
//! Codes (docs/api.md lists them with their parameters):
//! `all_needed`, `no_alternative`, `at_least_met`, `at_least_missing`,
//! `holds_badge`, `lacks_badge`, `completed`, `passed`, `grade_reached`,
//! `no_event`, `grade_below`, `no_grade`, `progress_only`, `failed_attempt`,
//! `not_a_pass`, `not_completing`, `before_window`, `after_window`,
//! `after_enrolment_window`, `email_domain_excluded`, `not_in_group`,
//! `email_domain_in`, `in_group`. Conditions on events carry their place:
//! `course`, and `activity` and `source` when the rule names them.

use serde::Serialize;
use serde_json::{Map, Value, json};

/// One reason, both ways.
#[derive(Debug, Clone, PartialEq)]
pub struct Reason {
    pub code: &'static str,
    pub params: Map<String, Value>,
    pub english: String,
}

/// The JSON form: `{"code": …, "params": {…}}`.
#[derive(Serialize)]
struct Coded<'a> {
    code: &'a str,
    params: &'a Map<String, Value>,
}

impl Serialize for Reason {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        Coded {
            code: self.code,
            params: &self.params,
        }
        .serialize(s)
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.english)
    }
}

impl Reason {
    /// A reason with its code, parameters (a JSON object) and English sentence.
    pub fn new(code: &'static str, params: Value, english: String) -> Self {
        let params = match params {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        Self { code, params, english }
    }

    /// The same reason about a condition on events: its place's parameters
    /// added (the sentence names the place itself).
    pub fn about(mut self, place: &PlaceWords) -> Self {
        for (k, v) in place.params() {
            self.params.entry(k).or_insert(v);
        }
        self
    }

    /// As [`Reason::about`], and the sentence prefixed by the place.
    pub fn at(self, place: &PlaceWords) -> Self {
        let mut reason = self.about(place);
        reason.english = format!("{}{}", place.english_prefix(), reason.english);
        reason
    }
}

/// Where a condition on events looks, in words and parameters.
#[derive(Debug, Clone)]
pub struct PlaceWords {
    pub course: String,
    pub activity: Option<String>,
    pub source: Option<String>,
}

impl PlaceWords {
    fn params(&self) -> Map<String, Value> {
        let mut map = Map::new();
        map.insert("course".into(), json!(self.course));
        if let Some(a) = &self.activity {
            map.insert("activity".into(), json!(a));
        }
        if let Some(s) = &self.source {
            map.insert("source".into(), json!(s));
        }
        map
    }

    /// `activity "q1" of course "DS-101" (moodle)`.
    pub fn english(&self) -> String {
        let mut text = match &self.activity {
            Some(a) => format!("activity {a:?} of course {:?}", self.course),
            None => format!("course {:?}", self.course),
        };
        if let Some(source) = &self.source {
            text.push_str(&format!(" ({source})"));
        }
        text
    }

    fn english_prefix(&self) -> String {
        format!("{}: ", self.english())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reason_reads_as_english_and_serialises_as_code_and_parameters() {
        let place = PlaceWords {
            course: "DS-101".into(),
            activity: None,
            source: Some("moodle".into()),
        };
        let reason = Reason::new("no_event", json!({}), "no event yet".into()).at(&place);
        assert_eq!(reason.to_string(), "course \"DS-101\" (moodle): no event yet");
        assert_eq!(
            serde_json::to_value(&reason).unwrap(),
            json!({"code": "no_event", "params": {"course": "DS-101", "source": "moodle"}})
        );
    }
}
