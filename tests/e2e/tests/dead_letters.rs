//! The dead-letter queue for operators: a message no handler can take is
//! dead-lettered by the broker, kept by the issuer, listed with its queue
//! and reason, replayed (it goes through the real exchange again, and dies
//! again here, so a second letter appears) and discarded — each once.

use std::time::Duration;

use akashi_e2e::{Service, Stack, amqp_url};
use lapin::BasicProperties;
use lapin::options::BasicPublishOptions;
use reqwest::Method;
use serde_json::{Value, json};

async fn letters(stack: &Stack, status: &str) -> anyhow::Result<Vec<Value>> {
    let r = stack
        .admin(
            Method::GET,
            format!("{}/admin/dead-letters?status={status}", stack.url(Service::Issuer)),
        )
        .send()
        .await?;
    anyhow::ensure!(r.status() == 200, "{}", r.status());
    Ok(r.json::<Vec<Value>>().await?)
}

async fn wait_letters(stack: &Stack, n: usize) -> anyhow::Result<Vec<Value>> {
    for _ in 0..200 {
        let all = letters(stack, "all").await?;
        if all.len() >= n {
            return Ok(all);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::bail!("fewer than {n} dead letters after 20 s")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poison_message_is_kept_listed_replayed_and_discarded_once() -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    stack.seed().await?;
    let issuer = stack.url(Service::Issuer);

    // A message the issuer's consumer refuses outright (not an envelope).
    let connection = lapin::Connection::connect(&amqp_url(), lapin::ConnectionProperties::default()).await?;
    let channel = connection.create_channel().await?;
    let poison = br#"{"not": "a CloudEvents envelope"}"#;
    channel
        .basic_publish(
            format!("{}.events", stack.id).into(),
            "issue.requested".into(),
            BasicPublishOptions::default(),
            poison,
            BasicProperties::default(),
        )
        .await?
        .await?;
    let _ = connection.close(200, "done".into()).await;

    let found = wait_letters(&stack, 1).await?;
    let letter = &found[0];
    assert_eq!(letter["routing_key"], "issue.requested", "{letter}");
    assert_eq!(letter["queue"], format!("{}.issuer.issue.requested", stack.id));
    assert_eq!(letter["reason"], "rejected");
    assert_eq!(letter["status"], "dead");
    assert_eq!(letter["body"], String::from_utf8_lossy(poison).as_ref());
    assert!(letter["message_id"].is_null());
    let id = letter["id"].as_str().unwrap().to_string();

    let act = |id: String, action: &'static str| {
        stack
            .admin(Method::POST, format!("{issuer}/admin/dead-letters/{id}"))
            .json(&json!({"action": action}))
            .send()
    };
    let replayed = act(id.clone(), "replay").await?;
    assert_eq!(replayed.status(), 200);
    assert_eq!(replayed.json::<Value>().await?["status"], "replayed");
    assert_eq!(act(id.clone(), "replay").await?.status(), 409, "replayed once");
    // The replay went through the exchange and the consumer again.
    let all = wait_letters(&stack, 2).await?;
    let again: Vec<&Value> = all.iter().filter(|l| l["status"] == "dead").collect();
    assert_eq!(again.len(), 1, "{all:?}");
    assert_eq!(again[0]["body"], letter["body"]);
    let second = again[0]["id"].as_str().unwrap().to_string();
    let discarded = act(second.clone(), "discard").await?;
    assert_eq!(discarded.json::<Value>().await?["status"], "discarded");
    assert!(letters(&stack, "dead").await?.is_empty());
    assert_eq!(letters(&stack, "discarded").await?.len(), 1);
    // Nothing is left queued on the broker: the issuer took both.
    assert_eq!(
        stack
            .count(Service::Issuer, "SELECT count(*) AS n FROM dead_letters")
            .await?,
        2
    );
    let unknown = act(uuid::Uuid::new_v4().to_string(), "replay").await?;
    assert_eq!(unknown.status(), 404);
    let bad = stack
        .admin(Method::POST, format!("{issuer}/admin/dead-letters/{second}"))
        .json(&json!({"action": "explode"}))
        .send()
        .await?;
    assert_eq!(bad.status(), 422);
    Ok(())
}
