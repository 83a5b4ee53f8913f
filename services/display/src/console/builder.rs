//! The console's rule builder: form rows → the rule body the lms-adapter
//! takes. One plain condition stays the simple form (course, activity,
//! minimum grade); anything more becomes a definition (docs/rules.md).
//! The lms-adapter checks everything; this only shapes what was typed.

use std::collections::HashMap;

use serde_json::{Value, json};

/// How many condition rows the builder offers.
pub const ROWS: usize = 5;

/// The rule body's criteria part from the builder's fields: `match`
/// (`all`, `any`, `at_least` with `n`), rows `kind_i` (`completed`,
/// `passed`, `grade`, `badge`), `course_i`, `activity_i`, `min_i`,
/// `badge_i`, and the options `repeatable`, `requires_approval`,
/// `expires_after_days`, `email_domains`, `cohorts`.
pub fn rule_body(form: &HashMap<String, String>) -> Result<Value, String> {
    let field = |k: &str| form.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
    let mut leaves = Vec::new();
    for i in 0..ROWS {
        let kind = field(&format!("kind_{i}")).unwrap_or("completed");
        let course = field(&format!("course_{i}"));
        let activity = field(&format!("activity_{i}"));
        let min = field(&format!("min_{i}"));
        let badge = field(&format!("badge_{i}"));
        let leaf = match (kind, course, badge) {
            ("badge", _, Some(badge)) => json!({"badge": badge}),
            ("badge", _, None) | (_, None, _) => continue,
            (kind @ ("completed" | "passed"), Some(course), _) => {
                json!({kind: place(course, activity)})
            }
            ("grade", Some(course), _) => {
                let min = min.ok_or_else(|| format!("condition {}: a grade needs a minimum", i + 1))?;
                let min: f64 = min
                    .parse()
                    .map_err(|_| format!("condition {}: the minimum grade {min:?} is not a number", i + 1))?;
                let mut p = place(course, activity);
                p["min"] = json!(min);
                json!({"grade": p})
            }
            (other, _, _) => return Err(format!("condition {}: unknown kind {other:?}", i + 1)),
        };
        leaves.push(leaf);
    }
    if leaves.is_empty() {
        return Err("name at least one course or badge".into());
    }
    let list = |k: &str| -> Vec<String> {
        field(k)
            .map(|v| {
                v.split([',', ' '])
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    };
    let email_domains = list("email_domains");
    let cohorts = list("cohorts");
    let repeatable = field("repeatable").is_some();
    let requires_approval = field("requires_approval").is_some();
    let expires = field("expires_after_days")
        .map(|d| {
            d.parse::<u32>()
                .map_err(|_| format!("expiry: {d:?} is not a number of days"))
        })
        .transpose()?;
    let plain =
        email_domains.is_empty() && cohorts.is_empty() && !repeatable && !requires_approval && expires.is_none();
    // One completion or grade, nothing else: the simple form, which keeps
    // "this course already earns this badge" (409) for duplicates.
    if plain && leaves.len() == 1 {
        let leaf = &leaves[0];
        let simple = leaf
            .get("completed")
            .map(|p| (p, None))
            .or_else(|| leaf.get("grade").map(|p| (p, p.get("min"))));
        if let Some((p, min)) = simple {
            let mut body = json!({"course_id": p["course"]});
            if let Some(a) = p.get("activity") {
                body["activity_id"] = a.clone();
            }
            if let Some(min) = min {
                body["min_grade"] = min.clone();
            }
            return Ok(body);
        }
    }
    let criteria = if leaves.len() == 1 {
        leaves.remove(0)
    } else {
        match field("match").unwrap_or("all") {
            "any" => json!({"any": leaves}),
            "at_least" => {
                let n: usize = field("n")
                    .ok_or("“at least” needs a number")?
                    .parse()
                    .map_err(|_| "“at least” needs a whole number".to_string())?;
                json!({"at_least": {"n": n, "of": leaves}})
            }
            _ => json!({"all": leaves}),
        }
    };
    let mut definition = json!({"criteria": criteria});
    if !(email_domains.is_empty() && cohorts.is_empty()) {
        let mut filters = json!({});
        if !email_domains.is_empty() {
            filters["email_domains"] = json!(email_domains);
        }
        if !cohorts.is_empty() {
            filters["cohorts"] = json!(cohorts);
        }
        definition["filters"] = filters;
    }
    if repeatable {
        definition["repeatable"] = json!(true);
    }
    if requires_approval {
        definition["requires_approval"] = json!(true);
    }
    if let Some(days) = expires {
        definition["expires"] = json!({"after_days": days});
    }
    Ok(json!({"definition": definition}))
}

/// The builder's fields as they stand for one rule: what the form shows
/// to edit it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Prefill {
    pub match_kind: String,
    pub n: String,
    pub rows: Vec<PrefillRow>,
    pub email_domains: String,
    pub cohorts: String,
    pub expires_after_days: String,
    pub repeatable: bool,
    pub requires_approval: bool,
}

/// One condition row of the builder.
#[derive(Debug, Clone, PartialEq)]
pub struct PrefillRow {
    pub kind: String,
    pub course: String,
    pub activity: String,
    pub min: String,
    pub badge: String,
}

impl PrefillRow {
    fn empty() -> Self {
        Self {
            kind: "completed".into(),
            course: String::new(),
            activity: String::new(),
            min: String::new(),
            badge: String::new(),
        }
    }
}

impl Prefill {
    /// An empty builder (a new rule).
    pub fn empty() -> Self {
        Self {
            match_kind: "all".into(),
            rows: vec![PrefillRow::empty(); ROWS],
            ..Self::default()
        }
    }

    /// The builder's fields for `definition`, when the builder can show it
    /// whole: one condition, or all / any / at least N of up to five plain
    /// ones (no windows, sources or nested trees), and the options the
    /// builder has. Anything more is edited in the JSON view.
    pub fn of(definition: &Value) -> Option<Self> {
        let known = ["criteria", "filters", "repeatable", "requires_approval", "expires"];
        if definition.as_object()?.keys().any(|k| !known.contains(&k.as_str())) {
            return None;
        }
        let criteria = &definition["criteria"];
        let (match_kind, n, leaves) = if let Some(all) = criteria.get("all") {
            ("all", String::new(), all.as_array()?.clone())
        } else if let Some(any) = criteria.get("any") {
            ("any", String::new(), any.as_array()?.clone())
        } else if let Some(at_least) = criteria.get("at_least") {
            (
                "at_least",
                at_least["n"].as_u64()?.to_string(),
                at_least["of"].as_array()?.clone(),
            )
        } else {
            ("all", String::new(), vec![criteria.clone()])
        };
        if leaves.len() > ROWS {
            return None;
        }
        let mut rows = Vec::new();
        for leaf in &leaves {
            let (kind, place) = leaf.as_object().filter(|o| o.len() == 1)?.iter().next()?;
            let mut row = PrefillRow::empty();
            row.kind = kind.clone();
            if kind == "badge" {
                row.badge = place.as_str()?.to_string();
            } else {
                let allowed: &[&str] = match kind.as_str() {
                    "completed" | "passed" => &["course", "activity"],
                    "grade" => &["course", "activity", "min"],
                    _ => return None,
                };
                if place.as_object()?.keys().any(|k| !allowed.contains(&k.as_str())) {
                    return None;
                }
                row.course = place["course"].as_str()?.to_string();
                row.activity = place["activity"].as_str().unwrap_or_default().to_string();
                row.min = place["min"].as_f64().map(|m| m.to_string()).unwrap_or_default();
            }
            rows.push(row);
        }
        rows.resize(ROWS, PrefillRow::empty());
        let filters = &definition["filters"];
        if filters
            .as_object()
            .is_some_and(|f| f.keys().any(|k| k != "email_domains" && k != "cohorts"))
        {
            return None;
        }
        let joined = |v: &Value| {
            v.as_array()
                .map(|l| l.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", "))
                .unwrap_or_default()
        };
        let expires = &definition["expires"];
        if !expires.is_null() && expires.get("after_days").is_none() {
            return None;
        }
        Some(Self {
            match_kind: match_kind.into(),
            n,
            rows,
            email_domains: joined(&filters["email_domains"]),
            cohorts: joined(&filters["cohorts"]),
            expires_after_days: expires["after_days"]
                .as_u64()
                .map(|d| d.to_string())
                .unwrap_or_default(),
            repeatable: definition["repeatable"] == json!(true),
            requires_approval: definition["requires_approval"] == json!(true),
        })
    }
}

/// The definition a builder body stands for: the simple form (course,
/// activity, minimum grade) written out as a one-condition definition, for
/// an update (which takes a definition).
pub fn definition_of(body: Value) -> Value {
    if let Some(definition) = body.get("definition") {
        return definition.clone();
    }
    let mut place = json!({"course": body["course_id"]});
    if let Some(a) = body.get("activity_id") {
        place["activity"] = a.clone();
    }
    match body.get("min_grade") {
        Some(min) => {
            place["min"] = min.clone();
            json!({"criteria": {"grade": place}})
        }
        None => json!({"criteria": {"completed": place}}),
    }
}

fn place(course: &str, activity: Option<&str>) -> Value {
    match activity {
        Some(a) => json!({"course": course, "activity": a}),
        None => json!({"course": course}),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn one_plain_condition_is_the_simple_form() {
        assert_eq!(
            rule_body(&form(&[("kind_0", "grade"), ("course_0", "C-1"), ("min_0", "0.8")])).unwrap(),
            json!({"course_id": "C-1", "min_grade": 0.8})
        );
        assert_eq!(
            rule_body(&form(&[("course_0", "C-1"), ("activity_0", "quiz")])).unwrap(),
            json!({"course_id": "C-1", "activity_id": "quiz"})
        );
    }

    #[test]
    fn several_conditions_and_options_make_a_definition() {
        let body = rule_body(&form(&[
            ("match", "at_least"),
            ("n", "2"),
            ("kind_0", "completed"),
            ("course_0", "A"),
            ("kind_1", "passed"),
            ("course_1", "B"),
            ("kind_2", "badge"),
            ("badge_2", "0190"),
            ("kind_3", "grade"),
            ("course_3", ""),
            ("email_domains", "uni.ac.jp, example.ac.jp"),
            ("requires_approval", "on"),
            ("expires_after_days", "365"),
        ]))
        .unwrap();
        assert_eq!(
            body,
            json!({"definition": {
                "criteria": {"at_least": {"n": 2, "of": [
                    {"completed": {"course": "A"}}, {"passed": {"course": "B"}}, {"badge": "0190"}]}},
                "filters": {"email_domains": ["uni.ac.jp", "example.ac.jp"]},
                "requires_approval": true,
                "expires": {"after_days": 365}}})
        );
    }

    #[test]
    fn a_rule_the_builder_made_comes_back_into_the_builder() {
        let fields = form(&[
            ("match", "at_least"),
            ("n", "2"),
            ("kind_0", "completed"),
            ("course_0", "A"),
            ("kind_1", "grade"),
            ("course_1", "B"),
            ("activity_1", "quiz"),
            ("min_1", "0.8"),
            ("kind_2", "badge"),
            ("badge_2", "0190"),
            ("cohorts", "2026"),
            ("repeatable", "on"),
        ]);
        let definition = definition_of(rule_body(&fields).unwrap());
        let prefill = Prefill::of(&definition).expect("the builder's own shape");
        assert_eq!(prefill.match_kind, "at_least");
        assert_eq!(prefill.n, "2");
        assert_eq!(prefill.rows.len(), ROWS);
        assert_eq!(
            (prefill.rows[1].kind.as_str(), prefill.rows[1].min.as_str()),
            ("grade", "0.8")
        );
        assert_eq!(prefill.rows[2].badge, "0190");
        assert_eq!(prefill.cohorts, "2026");
        assert!(prefill.repeatable && !prefill.requires_approval);
        // The simple form becomes a one-condition definition.
        assert_eq!(
            definition_of(json!({"course_id": "C", "min_grade": 0.9})),
            json!({"criteria": {"grade": {"course": "C", "min": 0.9}}})
        );
        assert_eq!(
            Prefill::of(&definition_of(json!({"course_id": "C"}))).unwrap().rows[0].course,
            "C"
        );
        // What the builder cannot show is left to the JSON view.
        for deeper in [
            json!({"criteria": {"all": [{"any": [{"completed": {"course": "A"}}]}]}}),
            json!({"criteria": {"completed": {"course": "A", "after": "2026-01-01T00:00:00Z"}}}),
            json!({"criteria": {"completed": {"course": "A", "source": "moodle"}}}),
            json!({"criteria": {"completed": {"course": "A"}}, "filters": {"roles": ["Learner"]}}),
        ] {
            assert_eq!(Prefill::of(&deeper), None, "{deeper}");
        }
    }

    #[test]
    fn what_cannot_be_shaped_is_said() {
        assert!(rule_body(&form(&[])).unwrap_err().contains("at least one"));
        assert!(
            rule_body(&form(&[("kind_0", "grade"), ("course_0", "A")]))
                .unwrap_err()
                .contains("minimum")
        );
        assert!(
            rule_body(&form(&[("kind_0", "grade"), ("course_0", "A"), ("min_0", "high")]))
                .unwrap_err()
                .contains("not a number")
        );
        assert!(
            rule_body(&form(&[("match", "at_least"), ("course_0", "A"), ("course_1", "B")]))
                .unwrap_err()
                .contains("needs a number")
        );
    }
}
