//! The admin console in real headless Chromium (Debian `chromium`, driven
//! by playwright-core from `tests/tools/console`): an admin signs in,
//! creates a rule with the builder, a learner completes the course, and the
//! award appears in the console with its explanation; the admin revokes it
//! with a reason and sees the rule's explanation and dry run; uploads a
//! badge class with its image, creates a rule that needs approval from the
//! JSON view and approves the decision; replays a dead letter. Every step
//! the page showed is checked again against the admin APIs.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use akashi_e2e::{Service, Stack};
use anyhow::Context;
use reqwest::Method;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

const BADGE: &str = "Introduction to Data Science";
const COURSE: &str = "CONSOLE-101";
const LEARNER: &str = "console.learner@example.ac.jp";
const LEARNER2: &str = "approved.learner@example.ac.jp";
const PNG_1X1: &str =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_creates_a_rule_and_sees_the_award_explained() -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let seed = stack.seed().await?;
    let lms = stack.url(Service::LmsAdapter);
    let shots = stack
        .log_path(Service::Display)
        .parent()
        .map(PathBuf::from)
        .context("the stack's log directory")?;
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tools/console/drive.mjs");
    let png = shots.join("console-upload.png");
    {
        use base64::Engine;
        std::fs::write(&png, base64::engine::general_purpose::STANDARD.decode(PNG_1X1)?)?;
    }
    let mut driver = tokio::process::Command::new("node")
        .arg(script)
        .arg(stack.url(Service::Display))
        .arg(&stack.admin_token)
        .arg(BADGE)
        .arg(COURSE)
        .arg(LEARNER)
        .arg(&shots)
        .arg(&png)
        .arg(LEARNER2)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .context("node (./scripts/install-test-tools installs tests/tools/console)")?;
    let mut stdin = driver.stdin.take().context("driver stdin")?;
    let mut lines = BufReader::new(driver.stdout.take().context("driver stdout")?).lines();
    // What the driver wrote to stderr, gathered as it goes: the reason when
    // it stops early.
    let driver_errors = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    if let Some(stderr) = driver.stderr.take() {
        let sink = driver_errors.clone();
        tokio::spawn(async move {
            let mut stderr = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = stderr.next_line().await {
                let mut all = sink.lock().unwrap();
                all.push_str(&line);
                all.push('\n');
            }
        });
    }
    let mut next_step = async || -> anyhow::Result<Value> {
        let line = tokio::time::timeout(Duration::from_secs(90), lines.next_line())
            .await
            .context("the console driver said nothing for 90 s")??;
        let Some(line) = line else {
            tokio::time::sleep(Duration::from_millis(300)).await;
            anyhow::bail!("the console driver stopped early: {}", driver_errors.lock().unwrap());
        };
        Ok(serde_json::from_str(&line)?)
    };

    let wrong = next_step().await?;
    assert_eq!(wrong["step"], "wrong_token", "{wrong}");
    assert_eq!(wrong["lang"], "ja");
    assert!(wrong["refused"].as_str().is_some_and(|m| m.contains("401")), "{wrong}");
    let signed_in = next_step().await?;
    assert!(
        signed_in["heading"].as_str().unwrap().contains("管理コンソール"),
        "{signed_in}"
    );

    let created = next_step().await?;
    assert_eq!(created["step"], "rule_created", "{created}");
    assert_eq!(created["version"], "1");
    assert_eq!(created["msg"], "完了しました。");
    assert_eq!(
        created["definition"],
        json!({"criteria": {"grade": {"course": COURSE, "min": 0.8}}})
    );
    // The rule the page made is the API's rule.
    let rule_id = created["rule_id"].as_str().unwrap();
    let rule: Value = stack
        .admin(Method::GET, format!("{lms}/admin/rules/{rule_id}"))
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(rule["badge_class_name"], BADGE);
    assert_eq!(rule["name"], format!("{COURSE} ≥ 0.8"));

    // A completion arrives from the LMS.
    let mut completion = Stack::completion("evt-console-1", LEARNER, COURSE);
    completion["grade"] = json!(0.92);
    assert_eq!(stack.post_completion(&completion).await?.status(), 202);
    stdin.write_all(b"go\n").await?;

    let explained = next_step().await?;
    assert_eq!(explained["step"], "explained", "{explained}");
    assert_eq!(
        explained["why"],
        json!([format!("✓ コース「{COURSE}」：成績 0.92 ≥ 0.80")]),
        "the explanation in the console's language (Japanese here): {explained}"
    );
    let row = explained["row"].as_str().unwrap();
    assert!(
        row.contains(BADGE)
            && row.contains("判定の契機: イベント")
            && row.contains("発行依頼済み")
            && row.contains("generic completed CONSOLE-101 (0.92)"),
        "{row}"
    );

    let revoked = next_step().await?;
    assert_eq!(revoked["step"], "revoked", "{revoked}");
    assert_eq!(revoked["before"], "active");
    assert_eq!(revoked["after"], "revoked");
    let awards = stack.awards(LEARNER).await?;
    assert_eq!(awards.len(), 1, "exactly one award: {awards:?}");
    assert_eq!(awards[0]["award_id"], revoked["award_id"]);
    assert_eq!(awards[0]["status"], "revoked");
    assert_eq!(awards[0]["revocation_reason"], "Issued in error (console test)");

    let rule_page = next_step().await?;
    assert_eq!(rule_page["lang"], "en", "{rule_page}");
    let explanation = rule_page["explanation"].as_str().unwrap();
    assert!(
        explanation.contains("Progress 1 / 1") && explanation.contains("grade 0.92 ≥ 0.80"),
        "{explanation}"
    );
    let evaluation = rule_page["evaluation"].as_str().unwrap();
    assert!(
        evaluation.contains("Would be awarded (0)")
            && evaluation.contains("Already awarded (1)")
            && evaluation.contains(LEARNER),
        "{evaluation}"
    );

    // The builder showed the rule as made (≥ 0.8) and saved 0.85 as version 2.
    let edited = next_step().await?;
    assert_eq!(edited["step"], "builder_edit", "{edited}");
    assert_eq!(
        (edited["shown_min"].as_str(), edited["saved_min"].as_str()),
        (Some("0.8"), Some("0.85")),
        "{edited}"
    );
    let saved: Value = stack
        .admin(
            Method::GET,
            format!("{}/admin/rules/{rule_id}", stack.url(Service::LmsAdapter)),
        )
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(saved["version"], 2, "{saved:#}");
    assert_eq!(saved["definition"]["criteria"]["grade"]["min"], 0.85, "{saved:#}");

    let refused = next_step().await?;
    assert_eq!(refused["code"], "invalid_definition", "{refused}");
    assert!(
        refused["error"]
            .as_str()
            .unwrap()
            .contains("needs at least one condition"),
        "{refused}"
    );

    let tree = next_step().await?;
    assert_eq!(
        tree["definition"],
        json!({"criteria": {"any": [{"completed": {"course": "TREE-A"}}, {"passed": {"course": "TREE-B"}}]},
               "filters": {"email_domains": ["example.ac.jp"]}}),
        "{tree}"
    );
    let created = next_step().await?;
    assert_eq!(created["step"], "badge_created", "{created}");
    assert_eq!(created["preview"]["hidden"], false, "the image is previewed: {created}");
    assert!(
        created["preview"]["src"].as_str().unwrap().starts_with("blob:"),
        "{created}"
    );
    assert!(
        created["listed"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n == "Console Badge"),
        "{created}"
    );
    // The form's translation fields made the class bilingual.
    let classes: Value = stack
        .admin(
            Method::GET,
            format!(
                "{}/admin/issuers/{}/badge-classes",
                stack.url(Service::Issuer),
                seed.issuer_id
            ),
        )
        .send()
        .await?
        .json()
        .await?;
    let made = classes
        .as_array()
        .and_then(|a| a.iter().find(|c| c["name"] == "Console Badge"))
        .context("the console's badge class")?;
    assert_eq!(made["translations"]["ja"]["name"], "コンソールのバッジ", "{made}");
    let approval = next_step().await?;
    let approval_rule = approval["rule_id"].as_str().context("the approval rule was created")?;
    let rule: Value = stack
        .admin(Method::GET, format!("{lms}/admin/rules/{approval_rule}"))
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(rule["definition"]["requires_approval"], true, "{rule}");
    assert_eq!(rule["badge_class_name"], "Console Badge");
    assert_eq!(
        stack
            .post_completion(&Stack::completion("evt-console-2", LEARNER2, "APPROVE-101"))
            .await?
            .status(),
        202
    );
    stdin.write_all(b"go\n").await?;
    let approved = next_step().await?;
    assert_eq!(approved["step"], "approved", "{approved}");
    assert_eq!(approved["status"], "requested");
    assert_eq!(approved["has_note"], true);
    let awards = stack.wait_for_awards(LEARNER2, 1, Duration::from_secs(60)).await?;
    assert_eq!(awards[0]["badge_class"]["name"], "Console Badge");

    // A dead letter for the console to replay.
    let connection =
        lapin::Connection::connect(&akashi_e2e::amqp_url(), lapin::ConnectionProperties::default()).await?;
    let channel = connection.create_channel().await?;
    channel
        .basic_publish(
            format!("{}.events", stack.id).into(),
            "issue.requested".into(),
            lapin::options::BasicPublishOptions::default(),
            b"poison",
            lapin::BasicProperties::default(),
        )
        .await?
        .await?;
    let _ = connection.close(200, "done".into()).await;
    stdin.write_all(b"go\n").await?;
    let replayed = next_step().await?;
    assert_eq!(replayed["status"], "replayed", "{replayed}");
    let letters: Value = stack
        .admin(
            Method::GET,
            format!("{}/admin/dead-letters?status=replayed", stack.url(Service::Issuer)),
        )
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(letters[0]["id"], replayed["id"]);

    // The colleague's token works as an editor of the demo issuer.
    let minted = next_step().await?;
    let colleague = minted["token"].as_str().context("a token was shown")?;
    let issuer = stack.url(Service::Issuer);
    let r = stack
        .http
        .get(format!("{issuer}/admin/issuers"))
        .bearer_auth(colleague)
        .send()
        .await?;
    assert_eq!(r.status(), 200);
    let seen: Value = r.json().await?;
    assert_eq!(seen.as_array().map(Vec::len), Some(1), "bound to one tenant: {seen}");
    let r = stack
        .http
        .post(format!("{issuer}/admin/tokens"))
        .bearer_auth(colleague)
        .json(&json!({"name": "x", "role": "viewer"}))
        .send()
        .await?;
    assert_eq!(r.status(), 403, "an editor mints no tokens");
    assert_eq!(minted["listed"], "false", "listed on the Team page, active");
    stdin.write_all(b"go\n").await?;
    drop(stdin);
    let revoked = next_step().await?;
    assert_eq!(revoked["revoked"], "true", "{revoked}");
    let r = stack
        .http
        .get(format!("{issuer}/admin/issuers"))
        .bearer_auth(colleague)
        .send()
        .await?;
    assert_eq!(r.status(), 401, "the revoked token no longer works");

    let status = tokio::time::timeout(Duration::from_secs(30), driver.wait()).await??;
    if !status.success() {
        anyhow::bail!("the console driver failed: {}", driver_errors.lock().unwrap());
    }
    assert!(shots.join("console-decisions-ja.png").exists());
    Ok(())
}
