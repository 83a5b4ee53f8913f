//! The rule model end to end: trees (all / at_least), grade conditions,
//! progress, a pathway (badge C once A and B are held), e-mail-domain and
//! cohort filters, the approval queue (approve and reject), a repeatable
//! rule, the award's expiry, and versions (a decision names the version it
//! used; a changed rule applied retroactively).

use std::time::Duration;

use akashi_e2e::{Service, Stack};
use reqwest::Method;
use serde_json::{Value, json};

const PNG_1X1: &str =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";

async fn badge(stack: &Stack, issuer_id: &str, name: &str) -> anyhow::Result<String> {
    let issuer = stack.url(Service::Issuer);
    let b: Value = stack
        .admin(
            Method::POST,
            format!("{issuer}/admin/issuers/{issuer_id}/badge-classes"),
        )
        .json(&json!({"name": name, "description": "d", "criteria": "c", "image_base64": PNG_1X1}))
        .send()
        .await?
        .json()
        .await?;
    Ok(b["id"].as_str().expect("a badge class").to_string())
}

/// Creates a rule, waiting for its badge class to reach the lms-adapter.
async fn rule(stack: &Stack, body: Value) -> anyhow::Result<Value> {
    let lms = stack.url(Service::LmsAdapter);
    for _ in 0..100 {
        let r = stack
            .admin(Method::POST, format!("{lms}/admin/rules"))
            .json(&body)
            .send()
            .await?;
        match r.status().as_u16() {
            201 => return Ok(r.json().await?),
            404 => tokio::time::sleep(Duration::from_millis(100)).await,
            other => anyhow::bail!("rule refused ({other}): {}", r.text().await?),
        }
    }
    anyhow::bail!("the badge class never reached the lms-adapter")
}

async fn complete(stack: &Stack, event: &str, email: &str, course: &str, grade: f64) -> anyhow::Result<()> {
    let mut body = Stack::completion(event, email, course);
    body["grade"] = json!(grade);
    let r = stack.post_completion(&body).await?;
    assert!(matches!(r.status().as_u16(), 200 | 202), "{}", r.status());
    Ok(())
}

async fn get(stack: &Stack, url: String) -> anyhow::Result<Value> {
    let r = stack.admin(Method::GET, url).send().await?;
    assert_eq!(r.status(), 200);
    Ok(r.json().await?)
}

fn of_badge<'a>(awards: &'a [Value], badge: &str) -> Vec<&'a Value> {
    awards.iter().filter(|a| a["badge_class"]["id"] == badge).collect()
}

/// Waits until no decision or message is in flight, then returns the awards.
async fn settle(stack: &Stack, email: &str) -> anyhow::Result<Vec<Value>> {
    tokio::time::sleep(Duration::from_millis(1500)).await;
    stack.awards(email).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trees_pathways_filters_approval_repeats_expiry_and_versions() -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let seed = stack.seed().await?;
    let lms = stack.url(Service::LmsAdapter);
    let a = badge(&stack, &seed.issuer_id, "Path A").await?;
    let b = badge(&stack, &seed.issuer_id, "Path B").await?;
    let c = badge(&stack, &seed.issuer_id, "Path C").await?;
    let safety = badge(&stack, &seed.issuer_id, "Safety").await?;

    // A: course completed and a grade of at least 0.7 in it.
    let rule_a = rule(
        &stack,
        json!({"badge_class_id": a, "name": "A", "definition": {"criteria": {"all": [
            {"completed": {"course": "PATH-A"}},
            {"grade": {"course": "PATH-A", "min": 0.7}}]}}}),
    )
    .await?;
    let rule_a_id = rule_a["id"].as_str().unwrap().to_string();
    assert_eq!(rule_a["version"], 1);
    assert_eq!(rule_a["course_ids"], json!(["PATH-A"]));
    let rule_b = rule(&stack, json!({"badge_class_id": b, "course_id": "PATH-B"})).await?;
    let rule_b_id = rule_b["id"].as_str().unwrap().to_string();
    // C: a pathway, A and B held; it expires 30 days after the award.
    rule(
        &stack,
        json!({"badge_class_id": c, "definition": {"criteria": {"all": [{"badge": a}, {"badge": b}]},
            "expires": {"after_days": 30}}}),
    )
    .await?;
    // The seeded badge: 2 of 3 courses, only for uni.ac.jp, approved by an admin.
    let rule_q = rule(
        &stack,
        json!({"badge_class_id": seed.badge_class_id, "definition": {
            "criteria": {"at_least": {"n": 2, "of": [
                {"completed": {"course": "X1"}}, {"completed": {"course": "X2"}}, {"completed": {"course": "X3"}}]}},
            "filters": {"email_domains": ["uni.ac.jp"]},
            "requires_approval": true}}),
    )
    .await?;
    let rule_q_id = rule_q["id"].as_str().unwrap().to_string();
    rule(
        &stack,
        json!({"badge_class_id": safety, "definition": {"criteria": {"completed": {"course": "SAFETY"}}, "repeatable": true}}),
    )
    .await?;

    // Refusals: a rule asking for its own badge, another issuer's unknown badge, a bad tree.
    for (body, code) in [
        (
            json!({"badge_class_id": a, "definition": {"criteria": {"badge": a}}}),
            422,
        ),
        (
            json!({"badge_class_id": a, "definition": {"criteria": {"badge": "01900000-0000-7000-8000-000000000000"}}}),
            422,
        ),
        (
            json!({"badge_class_id": a, "definition": {"criteria": {"any": []}}}),
            422,
        ),
        (
            json!({"badge_class_id": a, "course_id": "X", "definition": {"criteria": {"completed": {"course": "X"}}}}),
            422,
        ),
    ] {
        let r = stack
            .admin(Method::POST, format!("{lms}/admin/rules"))
            .json(&body)
            .send()
            .await?;
        assert_eq!(r.status(), code, "{body}");
        let err: Value = r.json().await?;
        assert!(
            err["error"]["code"].is_string() && err["error"]["message"].is_string(),
            "{err}"
        );
    }

    // Hanako: PATH-A with 0.6 earns nothing; progress 1 of 2; why not is the grade.
    let hanako = "hanako@uni.ac.jp";
    complete(&stack, "pa-1", hanako, "PATH-A", 0.6).await?;
    let progress = get(
        &stack,
        format!("{lms}/admin/rules/{rule_a_id}/progress?learner={hanako}"),
    )
    .await?;
    assert_eq!(progress[0]["met"], 1, "{progress}");
    assert_eq!(progress[0]["total"], 2);
    assert_eq!(progress[0]["satisfied"], false);
    let why = get(
        &stack,
        format!("{lms}/admin/rules/{rule_a_id}/explain?learner={hanako}"),
    )
    .await?;
    assert_eq!(
        why["verdict"]["failed"][0], r#"course "PATH-A": grade 0.60 < 0.70"#,
        "{why}"
    );
    // A better grade later: A is awarded; then B; then C follows from the two badges.
    complete(&stack, "pa-2", hanako, "PATH-A", 0.85).await?;
    complete(&stack, "pb-1", hanako, "PATH-B", 0.9).await?;
    let awards = stack.wait_for_awards(hanako, 3, Duration::from_secs(60)).await?;
    let awards_c = of_badge(&awards, &c);
    assert_eq!(awards_c.len(), 1, "the pathway badge: {awards:?}");
    let expires: chrono::DateTime<chrono::Utc> = awards_c[0]["expires"].as_str().unwrap().parse()?;
    let days = (expires - chrono::Utc::now()).num_hours() as f64 / 24.0;
    assert!((29.0..=30.1).contains(&days), "expires in {days} days");
    let log = get(&stack, format!("{lms}/admin/decisions?learner={hanako}")).await?;
    let by_badge = |id: &str| {
        log.as_array()
            .unwrap()
            .iter()
            .find(|d| d["badge_class_id"] == id)
            .cloned()
            .unwrap()
    };
    let d_c = by_badge(&c);
    assert_eq!(d_c["decided_by"], "badge", "{d_c}");
    assert!(d_c["event_id"].is_null());
    assert_eq!(
        d_c["explanation"]["conditions_held"],
        json!([format!("holds badge {a}"), format!("holds badge {b}")])
    );
    let d_a = by_badge(&a);
    assert_eq!(
        d_a["explanation"]["conditions_held"],
        json!([r#"course "PATH-A" completed"#, r#"course "PATH-A": grade 0.85 ≥ 0.70"#]),
        "the first completion meets the first condition, the second the grade: {d_a}"
    );
    assert_eq!(d_a["explanation"]["events"].as_array().map(Vec::len), Some(2));

    // Filters and approval: taro is outside the domain; hanako's 2 of 3 wait for approval.
    let taro = "taro@other.jp";
    complete(&stack, "x1-taro", taro, "X1", 1.0).await?;
    complete(&stack, "x2-taro", taro, "X2", 1.0).await?;
    let why = get(&stack, format!("{lms}/admin/rules/{rule_q_id}/explain?learner={taro}")).await?;
    assert_eq!(
        why["verdict"]["failed"][0],
        r#"e-mail domain other.jp is not one of ["uni.ac.jp"]"#
    );
    complete(&stack, "x1-hanako", hanako, "X1", 1.0).await?;
    complete(&stack, "x3-hanako", hanako, "X3", 1.0).await?;
    let jiro = "jiro@uni.ac.jp";
    complete(&stack, "x2-jiro", jiro, "X2", 1.0).await?;
    complete(&stack, "x3-jiro", jiro, "X3", 1.0).await?;
    let pending = get(
        &stack,
        format!("{lms}/admin/decisions?rule_id={rule_q_id}&status=pending"),
    )
    .await?;
    let pending = pending.as_array().unwrap();
    assert_eq!(pending.len(), 2, "{pending:?}");
    assert!(
        of_badge(&settle(&stack, hanako).await?, &seed.badge_class_id).is_empty(),
        "not before approval"
    );
    let id_of = |who: &str| {
        pending
            .iter()
            .find(|d| d["learner_email"] == who)
            .map(|d| d["id"].as_str().unwrap().to_string())
            .unwrap()
    };
    let review = |id: String, approve: bool| {
        stack
            .admin(Method::POST, format!("{lms}/admin/decisions/{id}/review"))
            .json(&json!({"approve": approve, "note": "checked the transcript"}))
            .send()
    };
    assert_eq!(review(id_of(hanako), true).await?.status(), 200);
    assert_eq!(review(id_of(jiro), false).await?.status(), 200);
    assert_eq!(review(id_of(jiro), true).await?.status(), 409, "reviewed once");
    let awards = stack.wait_for_awards(hanako, 4, Duration::from_secs(60)).await?;
    assert_eq!(of_badge(&awards, &seed.badge_class_id).len(), 1);
    complete(&stack, "x1-jiro", jiro, "X1", 1.0).await?;
    assert!(
        settle(&stack, jiro).await?.is_empty(),
        "a rejected learner is not awarded again by the rule"
    );
    assert!(settle(&stack, taro).await?.is_empty());

    // Repeatable: two completions, two awards; a redelivery adds none.
    let saburo = "saburo@uni.ac.jp";
    complete(&stack, "safety-2025", saburo, "SAFETY", 1.0).await?;
    complete(&stack, "safety-2026", saburo, "SAFETY", 1.0).await?;
    complete(&stack, "safety-2026", saburo, "SAFETY", 1.0).await?;
    stack.wait_for_awards(saburo, 2, Duration::from_secs(60)).await?;
    assert_eq!(of_badge(&settle(&stack, saburo).await?, &safety).len(), 2);

    // Versions: B now takes PATH-B or PATH-B2, for cohort 2026 only.
    let r = stack
        .admin(Method::PUT, format!("{lms}/admin/rules/{rule_b_id}"))
        .json(&json!({"definition": {"criteria": {"any": [
            {"completed": {"course": "PATH-B"}}, {"completed": {"course": "PATH-B2"}}]},
            "filters": {"cohorts": ["2026"]}}}))
        .send()
        .await?;
    assert_eq!(r.status(), 200);
    let changed: Value = r.json().await?;
    assert_eq!(changed["version"], 2);
    let versions = get(&stack, format!("{lms}/admin/rules/{rule_b_id}/versions")).await?;
    assert_eq!(versions.as_array().map(Vec::len), Some(2));
    assert_eq!(
        versions[1]["definition"],
        json!({"criteria": {"completed": {"course": "PATH-B"}}})
    );
    let goro = "goro@uni.ac.jp";
    complete(&stack, "pb2-goro", goro, "PATH-B2", 1.0).await?;
    let why = get(&stack, format!("{lms}/admin/rules/{rule_b_id}/explain?learner={goro}")).await?;
    assert_eq!(
        why["verdict"]["failed"][0],
        r#"the learner is in no cohort of ["2026"]"#
    );
    let r = stack
        .admin(Method::PUT, format!("{lms}/admin/learners/{goro}/attributes"))
        .json(&json!({"cohorts": ["2026"], "roles": ["Learner"]}))
        .send()
        .await?;
    assert_eq!(r.status(), 200);
    let dry: Value = stack
        .admin(Method::POST, format!("{lms}/admin/rules/{rule_b_id}/dry-run"))
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(dry["rule_version"], 2);
    assert_eq!(dry["would_award"].as_array().unwrap().len(), 1, "{dry}");
    assert_eq!(dry["would_award"][0]["learner"], goro);
    assert_eq!(dry["already_awarded"], json!([hanako]));
    let applied: Value = stack
        .admin(Method::POST, format!("{lms}/admin/rules/{rule_b_id}/apply"))
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(applied["awarded"], 1);
    stack.wait_for_awards(goro, 1, Duration::from_secs(60)).await?;
    let log = get(&stack, format!("{lms}/admin/decisions?learner={goro}")).await?;
    assert_eq!(log[0]["rule_version"], 2);
    assert_eq!(log[0]["decided_by"], "retroactive");

    // The awards of one badge class, by status (the console's search).
    let issuer = stack.url(Service::Issuer);
    let of_safety = get(&stack, format!("{issuer}/admin/awards?badge_class_id={safety}")).await?;
    assert!(of_safety["recipient"].is_null());
    assert_eq!(of_safety["awards"].as_array().map(Vec::len), Some(2));
    assert!(
        of_safety["awards"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["recipient"] == saburo)
    );
    let revoked = get(
        &stack,
        format!("{issuer}/admin/awards?badge_class_id={safety}&status=revoked"),
    )
    .await?;
    assert_eq!(revoked["awards"].as_array().map(Vec::len), Some(0));
    let mine = get(
        &stack,
        format!("{issuer}/admin/awards?recipient={hanako}&badge_class_id={c}&status=active"),
    )
    .await?;
    assert_eq!(mine["awards"].as_array().map(Vec::len), Some(1));
    // Without a search: the most recent awards, newest first.
    let recent = get(&stack, format!("{issuer}/admin/awards?limit=3")).await?;
    assert_eq!(recent["awards"].as_array().map(Vec::len), Some(3), "{recent:#}");

    // Exactly the awards expected, per learner.
    assert_eq!(settle(&stack, hanako).await?.len(), 4);
    assert_eq!(stack.awards(goro).await?.len(), 1);
    assert_eq!(stack.awards(saburo).await?.len(), 2);
    Ok(())
}
