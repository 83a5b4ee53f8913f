//! A rule created after learners completed the course: the dry run lists
//! exactly who would be awarded (and why not, for the rest), applying it
//! awards exactly those, applying again awards nothing, and every award
//! explains itself in the decision log.

use std::collections::BTreeSet;
use std::time::Duration;

use akashi_e2e::{Service, Stack};
use reqwest::Method;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rule_created_after_fifty_completions_awards_exactly_those_fifty() -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let seed = stack.seed().await?;
    let lms = stack.url(Service::LmsAdapter);
    let passing: BTreeSet<String> = (0..50).map(|i| format!("retro{i:02}@example.ac.jp")).collect();
    let failing: BTreeSet<String> = (0..5).map(|i| format!("low{i}@example.ac.jp")).collect();
    for (i, email) in passing.iter().chain(failing.iter()).enumerate() {
        let mut body = Stack::completion(&format!("evt-retro-{i}"), email, "RETRO-201");
        body["grade"] = json!(if passing.contains(email) { 0.9 } else { 0.5 });
        assert_eq!(stack.post_completion(&body).await?.status(), 202);
    }
    // No rule yet: nothing was awarded.
    assert_eq!(
        stack
            .count(Service::LmsAdapter, "SELECT count(*) AS n FROM award_decisions")
            .await?,
        0
    );

    let rule: Value = stack
        .admin(Method::POST, format!("{lms}/admin/rules"))
        .json(&json!({"course_id": "RETRO-201", "badge_class_id": seed.badge_class_id, "min_grade": 0.8}))
        .send()
        .await?
        .json()
        .await?;
    let rule_id = rule["id"].as_str().expect("a rule").to_string();
    let dry: Value = stack
        .admin(Method::POST, format!("{lms}/admin/rules/{rule_id}/dry-run"))
        .send()
        .await?
        .json()
        .await?;
    let listed: BTreeSet<String> = dry["would_award"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["learner"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(listed, passing, "the dry run lists exactly the fifty");
    let refused: BTreeSet<String> = dry["would_not"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            assert_eq!(w["reason"], r#"course "RETRO-201": grade 0.50 < 0.80"#, "{w}");
            w["learner"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(refused, failing);
    assert_eq!(
        stack
            .count(Service::LmsAdapter, "SELECT count(*) AS n FROM award_decisions")
            .await?,
        0,
        "a dry run changes nothing"
    );

    let applied: Value = stack
        .admin(Method::POST, format!("{lms}/admin/rules/{rule_id}/apply"))
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(applied["awarded"], 50, "{applied}");
    let applied_set: BTreeSet<String> = applied["would_award"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["learner"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(applied_set, listed, "apply does what the dry run said");
    for email in &passing {
        let awards = stack.wait_for_awards(email, 1, Duration::from_secs(60)).await?;
        assert_eq!(awards.len(), 1, "{email}");
    }
    for email in &failing {
        assert!(stack.awards(email).await?.is_empty(), "{email}");
    }
    let again: Value = stack
        .admin(Method::POST, format!("{lms}/admin/rules/{rule_id}/apply"))
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(again["awarded"], 0, "applying twice awards nothing more");
    assert_eq!(again["already_awarded"].as_array().map(Vec::len), Some(50));

    // Every award explains itself.
    let log: Value = stack
        .admin(
            Method::GET,
            format!("{lms}/admin/decisions?rule_id={rule_id}&limit=1000"),
        )
        .send()
        .await?
        .json()
        .await?;
    let log = log.as_array().unwrap();
    assert_eq!(log.len(), 50);
    for d in log {
        assert_eq!(d["decided_by"], "retroactive");
        let held: Vec<&str> = d["explanation"]["conditions_held"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert!(held.contains(&r#"course "RETRO-201": grade 0.90 ≥ 0.80"#), "{d}");
        assert_eq!(d["rule_version"], 1, "{d}");
        assert_eq!(d["explanation"]["rule"]["min_grade"], 0.8);
    }
    // And a learner without it is told why.
    let why: Value = stack
        .admin(
            Method::GET,
            format!("{lms}/admin/rules/{rule_id}/explain?learner=low0@example.ac.jp"),
        )
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(why["awarded"], false);
    assert_eq!(why["verdict"]["failed"][0], r#"course "RETRO-201": grade 0.50 < 0.80"#);
    assert_eq!(why["verdict"]["met"], 0);
    assert_eq!(why["events"][0]["counts"], false);
    // The same reason as a code with parameters, which the console says in
    // the page's language (and an English console as the API does).
    assert_eq!(
        why["verdict"]["failed_reasons"][0],
        json!({"code": "grade_below", "params": {"course": "RETRO-201", "grade": 0.5, "min": 0.8}})
    );
    let session = stack.console_session().await?;
    let console_page = |lang: &'static str| {
        stack
            .http
            .get(format!(
                "{}/console/rules/{rule_id}?learner=low0@example.ac.jp&lang={lang}",
                stack.url(Service::Display)
            ))
            .header("Cookie", &session)
            .send()
    };
    let ja = akashi_e2e::html_text(&console_page("ja").await?.text().await?);
    assert!(ja.contains("コース「RETRO-201」：成績 0.50 < 0.80"), "{ja}");
    assert!(
        ja.contains("成績 0.90 ≥ 0.80"),
        "the decision log in Japanese too: {ja}"
    );
    let en = akashi_e2e::html_text(&console_page("en").await?.text().await?);
    assert!(en.contains(r#"course "RETRO-201": grade 0.50 < 0.80"#), "{en}");

    // From now on the rule decides as events arrive.
    let mut late = Stack::completion("evt-retro-late", "late@example.ac.jp", "RETRO-201");
    late["grade"] = json!(0.95);
    assert_eq!(stack.post_completion(&late).await?.status(), 202);
    stack
        .wait_for_awards("late@example.ac.jp", 1, Duration::from_secs(20))
        .await?;
    let log: Value = stack
        .admin(Method::GET, format!("{lms}/admin/decisions?learner=late@example.ac.jp"))
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(log[0]["decided_by"], "event");
    Ok(())
}
