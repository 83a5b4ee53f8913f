//! Two versions of one thing can reach a consumer out of order (handlers
//! run concurrently; a redelivery comes late): the newest must stay. Here
//! the older `badge_class.published` is put on the bus after the newer one,
//! as an issuer that added a translation right after creating the class
//! could see it happen.

use std::time::{Duration, Instant};

use akashi_e2e::{Service, Stack, amqp_url};
use lapin::BasicProperties;
use lapin::options::BasicPublishOptions;
use serde_json::{Value, json};

/// A `badge_class.published` envelope for `id`, named `name`, published at `at`.
fn badge_class_published(stack: &Stack, issuer_id: &str, id: &str, name: &str, at: &str) -> Value {
    let host = stack.url(Service::Host);
    json!({
        "specversion": "1.0",
        "id": uuid::Uuid::new_v4(),
        "source": "/akashi/issuer",
        "type": "dev.akashi.badge_class.published.v1",
        "time": at,
        "datacontenttype": "application/json",
        "data": {
            "badge_class_id": id,
            "issuer_id": issuer_id,
            "name": name,
            "badge_class": {
                "@context": "https://w3id.org/openbadges/v2",
                "type": "BadgeClass",
                "id": format!("{host}/ob2/badges/{id}"),
                "name": name,
                "description": "d",
                "image": format!("{host}/ob2/badges/{id}/image"),
                "criteria": {"narrative": "c"},
                "issuer": format!("{host}/ob2/issuers/{issuer_id}"),
            },
            "image": {"content_type": "image/svg+xml", "data_base64": "PHN2Zy8+"},
            "language": "en",
            "published_at": at,
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_older_badge_class_version_arriving_late_does_not_replace_the_newer() -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let seed = stack.seed().await?;
    let id = uuid::Uuid::new_v4().to_string();
    let url = format!("{}/ob2/badges/{id}", stack.url(Service::Host));
    let connection = lapin::Connection::connect(&amqp_url(), lapin::ConnectionProperties::default()).await?;
    let channel = connection.create_channel().await?;
    let publish = |body: Value| {
        let channel = channel.clone();
        let exchange = format!("{}.events", stack.id);
        async move {
            channel
                .basic_publish(
                    exchange.into(),
                    "badge_class.published".into(),
                    BasicPublishOptions::default(),
                    &serde_json::to_vec(&body)?,
                    BasicProperties::default().with_content_type("application/cloudevents+json".into()),
                )
                .await?
                .await?;
            anyhow::Ok(())
        }
    };
    let name_now = || async {
        let r = stack.http.get(&url).send().await?;
        anyhow::Ok(if r.status() == 200 {
            r.json::<Value>().await?["name"].as_str().map(str::to_owned)
        } else {
            None
        })
    };

    publish(badge_class_published(
        &stack,
        &seed.issuer_id,
        &id,
        "Newer",
        "2026-12-07T10:00:01Z",
    ))
    .await?;
    let deadline = Instant::now() + Duration::from_secs(20);
    while name_now().await?.as_deref() != Some("Newer") {
        anyhow::ensure!(Instant::now() < deadline, "host never served the class");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    publish(badge_class_published(
        &stack,
        &seed.issuer_id,
        &id,
        "Older",
        "2026-12-07T10:00:00Z",
    ))
    .await?;
    // The older version is handled within milliseconds; for three seconds
    // the class must still read as the newer one.
    let watch = Instant::now();
    while watch.elapsed() < Duration::from_secs(3) {
        assert_eq!(
            name_now().await?.as_deref(),
            Some("Newer"),
            "an older version replaced the newer"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // And a newer version still replaces it.
    publish(badge_class_published(
        &stack,
        &seed.issuer_id,
        &id,
        "Newest",
        "2026-12-07T10:00:02Z",
    ))
    .await?;
    let deadline = Instant::now() + Duration::from_secs(20);
    while name_now().await?.as_deref() != Some("Newest") {
        anyhow::ensure!(Instant::now() < deadline, "the newest version never arrived");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = connection.close(200, "done".into()).await;
    Ok(())
}
