//! The lms-adapter's reasons (why a rule held or failed for a learner) in
//! the console's language. The adapter sends each reason twice: an English
//! sentence, and a code with parameters; a Japanese page says the code in
//! Japanese, and falls back to the English sentence for a code it does not
//! know (a newer adapter) or a record from before codes existed.

use serde_json::Value;

use crate::domain::lang::Lang;

/// The sentences of `english` (an array of strings) in `lang`, from the
/// parallel array of coded reasons `coded`.
pub fn sentences(english: &Value, coded: &Value, lang: Lang) -> Vec<String> {
    let english: Vec<String> = list(english).iter().map(text).collect();
    let coded = list(coded);
    if lang == Lang::En || coded.len() != english.len() {
        return english;
    }
    coded
        .iter()
        .zip(english)
        .map(|(reason, fallback)| japanese(reason).unwrap_or(fallback))
        .collect()
}

/// One reason in `lang`, else its English sentence.
pub fn sentence(english: &Value, coded: &Value, lang: Lang) -> String {
    match lang {
        Lang::Ja => japanese(coded).unwrap_or_else(|| text(english)),
        Lang::En => text(english),
    }
}

fn list(v: &Value) -> &[Value] {
    v.as_array().map(Vec::as_slice).unwrap_or_default()
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

fn kind(kind: &str) -> &str {
    match kind {
        "completed" => "修了",
        "passed" => "合格",
        "graded" => "採点",
        "failed" => "不合格",
        "progress" => "進捗",
        other => other,
    }
}

fn attribute(name: &str) -> &str {
    match name {
        "cohort" => "コホート",
        "group" => "グループ",
        "section" => "セクション",
        "role" => "ロール",
        other => other,
    }
}

/// A list parameter as `「a」、「b」`.
fn joined(v: &Value) -> String {
    list(v)
        .iter()
        .map(|x| format!("「{}」", x.as_str().unwrap_or_default()))
        .collect::<Vec<_>>()
        .join("、")
}

/// The reason in Japanese, or `None` for a code this console does not know.
fn japanese(reason: &Value) -> Option<String> {
    let p = &reason["params"];
    let s = |key: &str| p[key].as_str().map(str::to_owned).unwrap_or_else(|| p[key].to_string());
    let grade = |key: &str| format!("{:.2}", p[key].as_f64().unwrap_or_default());
    let place = || {
        let mut place = match p["activity"].as_str() {
            Some(activity) => format!("コース「{}」のアクティビティ「{activity}」", s("course")),
            None => format!("コース「{}」", s("course")),
        };
        if let Some(source) = p["source"].as_str() {
            place.push_str(&format!("（{source}）"));
        }
        place
    };
    let said = match reason["code"].as_str()? {
        "all_needed" => format!("{} 件の条件すべてが必要：{} 件を満たす", s("of"), s("met")),
        "no_alternative" => format!("{} 件の選択肢のどれも満たさない", s("of")),
        "at_least_met" => format!("{} 件中 {} 件を満たす（必要 {} 件）", s("of"), s("met"), s("needed")),
        "at_least_missing" => format!("{} 件中 {} 件を満たす：{} 件が必要", s("of"), s("met"), s("needed")),
        "holds_badge" => format!("バッジ {} を保有", s("badge")),
        "lacks_badge" => format!("バッジ {} を保有していない", s("badge")),
        "completed" => format!("{}：{}", place(), kind(&s("kind"))),
        "passed" => format!("{}：合格", place()),
        "grade_reached" => format!("{}：成績 {} ≥ {}", place(), grade("grade"), grade("min")),
        "no_event" => format!("{}：まだ記録がない", place()),
        "grade_below" => format!("{}：成績 {} < {}", place(), grade("grade"), grade("min")),
        "no_grade" => format!("{}：成績がない（{} 以上が必要）", place(), grade("min")),
        "progress_only" => format!("{}：進捗のみで、修了ではない", place()),
        "failed_attempt" => format!("{}：不合格", place()),
        "not_a_pass" => format!("{}：{}で、合格ではない", place(), kind(&s("kind"))),
        "not_completing" => format!("{}：「{}」の記録は修了に当たらない", place(), kind(&s("kind"))),
        "before_window" => format!("{}：{} は期間の開始（{}）より前", place(), s("at"), s("opens")),
        "after_window" => format!("{}：{} は期間の終了（{}）より後", place(), s("at"), s("closed")),
        "after_enrolment_window" => format!(
            "{}：{} は受講開始（{}）から {} 日を過ぎている",
            place(),
            s("at"),
            s("enrolled"),
            s("days")
        ),
        "email_domain_excluded" => format!(
            "メールのドメイン {} は {} のどれでもない",
            s("domain"),
            joined(&p["allowed"])
        ),
        "not_in_group" => format!(
            "{}が {} のどれでもない",
            attribute(&s("attribute")),
            joined(&p["wanted"])
        ),
        "email_domain_in" => format!("メールのドメインが {} のどれか", joined(&p["allowed"])),
        "in_group" => format!("{}が {} のどれか", attribute(&s("attribute")), joined(&p["wanted"])),
        "not_an_event_condition" => "イベントの条件ではない".to_string(),
        _ => return None,
    };
    Some(said)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn codes_read_in_japanese_and_unknown_ones_fall_back_to_english() {
        let english = json!([
            r#"activity "quiz" of course "C" (moodle): grade 0.50 < 0.80"#,
            "something new"
        ]);
        let coded = json!([
            {"code": "grade_below", "params": {"course": "C", "activity": "quiz", "source": "moodle", "grade": 0.5, "min": 0.8}},
            {"code": "from_a_newer_adapter", "params": {}}
        ]);
        assert_eq!(
            sentences(&english, &coded, Lang::Ja),
            vec![
                "コース「C」のアクティビティ「quiz」（moodle）：成績 0.50 < 0.80".to_string(),
                "something new".to_string()
            ]
        );
        assert_eq!(sentences(&english, &coded, Lang::En)[0], english[0]);
        // A record from before codes: the English sentences as they are.
        assert_eq!(sentences(&english, &Value::Null, Lang::Ja)[1], "something new");
        let filter = json!({"code": "not_in_group", "params": {"attribute": "cohort", "wanted": ["2026"]}});
        assert_eq!(
            sentence(&json!("x"), &filter, Lang::Ja),
            "コホートが 「2026」 のどれでもない"
        );
    }
}
