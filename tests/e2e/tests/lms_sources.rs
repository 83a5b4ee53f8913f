//! Every LMS source's payloads — the research samples, as Moodle, Canvas,
//! an LRS, a Caliper sensor and Open edX send them — become badges end to
//! end; tampered, stale and unauthenticated deliveries are refused with
//! nothing stored; redeliveries yield one badge.

use std::time::Duration;

use akashi_crypto::keys::{RsaSigner, generate_rsa_2048};
use akashi_e2e::{Service, Stack};
use base64::Engine;
use reqwest::Method;
use serde_json::{Value, json};

fn sample(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/../../services/lms-adapter/tests/samples/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("sample")
}

async fn post(stack: &Stack, source: &str, body: &str, headers: &[(&str, String)]) -> anyhow::Result<(u16, Value)> {
    let mut request = stack
        .http
        .post(format!("{}/webhooks/{source}", stack.url(Service::LmsAdapter)))
        .header("Content-Type", "application/json")
        .body(body.to_string());
    for (k, v) in headers {
        request = request.header(*k, v);
    }
    let response = request.send().await?;
    let status = response.status().as_u16();
    Ok((status, response.json().await.unwrap_or(Value::Null)))
}

async fn events(stack: &Stack) -> anyhow::Result<i64> {
    stack
        .count(Service::LmsAdapter, "SELECT count(*) AS n FROM lms_events")
        .await
}

async fn configure(stack: &Stack, source: &str, body: Value) -> anyhow::Result<()> {
    let r = stack
        .admin(
            Method::PUT,
            format!("{}/admin/webhook-sources/{source}", stack.url(Service::LmsAdapter)),
        )
        .json(&body)
        .send()
        .await?;
    anyhow::ensure!(r.status() == 200, "configuring {source}: {}", r.text().await?);
    Ok(())
}

async fn rule(
    stack: &Stack,
    badge_class_id: &str,
    course: &str,
    activity: Option<&str>,
    min_grade: Option<f64>,
) -> anyhow::Result<()> {
    let r = stack
        .admin(Method::POST, format!("{}/admin/rules", stack.url(Service::LmsAdapter)))
        .json(&json!({"course_id": course, "badge_class_id": badge_class_id, "activity_id": activity, "min_grade": min_grade}))
        .send()
        .await?;
    anyhow::ensure!(r.status() == 201, "rule {course}: {}", r.text().await?);
    Ok(())
}

/// Another badge class of the seeded issuer (a learner holds each class
/// once: rules that should each award need badges of their own), once the
/// lms-adapter has heard of it.
async fn badge_class(stack: &Stack, issuer_id: &str, name: &str) -> anyhow::Result<String> {
    const PNG_1X1: &str =
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";
    let r = stack
        .admin(
            Method::POST,
            format!("{}/admin/issuers/{issuer_id}/badge-classes", stack.url(Service::Issuer)),
        )
        .json(&json!({"name": name, "description": "d", "criteria": "c", "image_base64": PNG_1X1}))
        .send()
        .await?;
    anyhow::ensure!(r.status() == 201, "badge class {name}: {}", r.text().await?);
    let id = r.json::<Value>().await?["id"].as_str().unwrap_or_default().to_string();
    // The class reaches the lms-adapter over the bus.
    for _ in 0..150 {
        let known = stack
            .admin(Method::POST, format!("{}/admin/rules", stack.url(Service::LmsAdapter)))
            .json(&json!({"badge_class_id": id, "definition": {"criteria": {"any": []}}}))
            .send()
            .await?
            .status();
        // 422 (the empty tree) once the class is known; 404 before.
        if known != 404 {
            return Ok(id);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::bail!("badge class {name} never reached the lms-adapter")
}

async fn map_learner(stack: &Stack, source: &str, user: &str, email: &str) -> anyhow::Result<Value> {
    let r = stack
        .admin(
            Method::PUT,
            format!("{}/admin/learners", stack.url(Service::LmsAdapter)),
        )
        .json(&json!({"learners": [{"source": source, "lms_user_id": user, "email": email}]}))
        .send()
        .await?;
    anyhow::ensure!(r.status() == 200, "mapping: {}", r.text().await?);
    Ok(r.json().await?)
}

/// A JWKS server for the Canvas signing key, on loopback.
async fn serve_jwks(jwks: Value) -> anyhow::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/jwks", listener.local_addr()?);
    let body = jwks.to_string();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let body = body.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = socket.read(&mut buf).await;
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(response.as_bytes()).await;
            });
        }
    });
    Ok(url)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_source_becomes_a_badge_and_every_bad_delivery_is_refused() -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let seed = stack.seed().await?;
    let badge = seed.badge_class_id.as_str();
    let wait = Duration::from_secs(20);

    // ---- Moodle: the token inside the body; the learner is relateduserid.
    configure(
        &stack,
        "moodle",
        json!({"secrets": ["shared-token-configured-in-local_webhooks"]}),
    )
    .await?;
    rule(&stack, badge, "42", None, None).await?;
    let moodle = sample("moodle_course_completed.json");
    let (status, _) = post(
        &stack,
        "moodle",
        &moodle.replace("shared-token-configured", "wrong-token-configured"),
        &[],
    )
    .await?;
    assert_eq!(status, 401, "a wrong Moodle token");
    let no_token = moodle.replace("\"token\": \"shared-token-configured-in-local_webhooks\",", "");
    assert_eq!(post(&stack, "moodle", &no_token, &[]).await?.0, 401, "no token");
    assert_eq!(events(&stack).await?, 0, "refused deliveries store nothing");
    let (status, body) = post(&stack, "moodle", &moodle, &[]).await?;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["status"], "held", "Moodle names the learner by id only: {body}");
    let (status, body) = post(&stack, "moodle", &moodle, &[]).await?;
    assert_eq!((status, body["status"].as_str()), (200, Some("duplicate")));
    let raw: i64 = stack
        .count(
            Service::LmsAdapter,
            "SELECT count(*) AS n FROM lms_events WHERE raw_body LIKE '%shared-token%'",
        )
        .await?;
    assert_eq!(raw, 0, "the Moodle token is not kept in the audit copy");
    // The directory learns user 317 → the held completion becomes a badge.
    let mapped = map_learner(&stack, "moodle", "317", "moodle.learner@example.edu").await?;
    assert_eq!(mapped["awards_requested"], 1, "{mapped}");
    let awards = stack.wait_for_awards("moodle.learner@example.edu", 1, wait).await?;
    assert_eq!(awards.len(), 1);

    // ---- Canvas: plain JSON with a Bearer key, and signed JWT bodies.
    let signer = RsaSigner::from_pkcs8_der(&generate_rsa_2048()?)?;
    let jwks_url = serve_jwks(json!({"keys": [signer.public().jwk("canvas-2026-11")]})).await?;
    configure(
        &stack,
        "canvas",
        json!({"secrets": ["canvas-bearer-key"], "jwks_url": jwks_url}),
    )
    .await?;
    let bearer = |k: &str| vec![("Authorization", format!("Bearer {k}"))];
    let completed = sample("canvas_course_completed.json");
    assert_eq!(
        post(&stack, "canvas", &completed, &[]).await?.0,
        401,
        "unsigned, no key"
    );
    assert_eq!(
        post(&stack, "canvas", &completed, &bearer("wrong")).await?.0,
        401,
        "wrong key"
    );
    // A grade for user 317 (named by id only) under an activity rule (a
    // badge of its own): held.
    let assignment_badge = badge_class(&stack, &seed.issuer_id, "Assignment 355 distinction").await?;
    rule(&stack, &assignment_badge, "42", Some("355"), Some(0.9)).await?;
    let (status, body) = post(
        &stack,
        "canvas",
        &sample("canvas_grade_change.json"),
        &bearer("canvas-bearer-key"),
    )
    .await?;
    assert_eq!((status, body["status"].as_str()), (202, Some("held")), "{body}");
    // Progress is stored and earns nothing.
    let (status, body) = post(
        &stack,
        "canvas",
        &sample("canvas_course_progress.json"),
        &bearer("canvas-bearer-key"),
    )
    .await?;
    assert_eq!((status, body["awards_requested"].as_u64()), (202, Some(0)), "{body}");
    // The completion names 317 with an e-mail: it earns the course badge and
    // releases the held grade (one learner across Canvas's events).
    let (status, body) = post(&stack, "canvas", &completed, &bearer("canvas-bearer-key")).await?;
    assert_eq!((status, body["status"].as_str()), (202, Some("accepted")), "{body}");
    let ada = stack.wait_for_awards("ada@example.edu", 2, wait).await?;
    assert_eq!(ada.len(), 2, "course rule + held grade ≥ 0.9 on assignment 355");
    // The Caliper form of the same grade change is the same event: no new badge.
    let (status, body) = post(
        &stack,
        "canvas",
        &sample("canvas_caliper_grade_change.json"),
        &bearer("canvas-bearer-key"),
    )
    .await?;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["awards_requested"], 0, "already awarded: {body}");
    // Signed payloads ("Sign Payload"): a new learner.
    let now = chrono::Utc::now().timestamp();
    let mut signed: Value = serde_json::from_str(&completed)?;
    signed["body"]["user"] = json!({"id": "318", "email": "grace@example.edu", "name": "Grace Hopper"});
    signed["iat"] = json!(now);
    signed["exp"] = json!(now + 300);
    let jwt = signer.sign_jws(Some("canvas-2026-11"), Some("JWT"), &signed)?;
    // Tampered: the payload swapped under the original signature.
    let parts: Vec<&str> = jwt.split('.').collect();
    let mut evil = signed.clone();
    evil["body"]["user"]["email"] = json!("eve@example.edu");
    let evil_payload = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(evil.to_string());
    let tampered = format!("{}.{}.{}", parts[0], evil_payload, parts[2]);
    assert_eq!(post(&stack, "canvas", &tampered, &[]).await?.0, 401, "tampered JWT");
    let mut stale = signed.clone();
    stale["iat"] = json!(now - 3600);
    stale["exp"] = json!(now - 1800);
    let stale_jwt = signer.sign_jws(Some("canvas-2026-11"), Some("JWT"), &stale)?;
    assert_eq!(post(&stack, "canvas", &stale_jwt, &[]).await?.0, 401, "expired JWT");
    let other = RsaSigner::from_pkcs8_der(&generate_rsa_2048()?)?;
    let forged = other.sign_jws(Some("canvas-2026-11"), Some("JWT"), &signed)?;
    assert_eq!(
        post(&stack, "canvas", &forged, &[]).await?.0,
        401,
        "another key under Canvas's kid"
    );
    let unknown_kid = other.sign_jws(Some("canvas-next"), Some("JWT"), &signed)?;
    assert_eq!(
        post(&stack, "canvas", &unknown_kid, &[]).await?.0,
        401,
        "a kid Canvas never published"
    );
    assert_eq!(stack.awards("eve@example.edu").await?.len(), 0);
    let (status, body) = post(&stack, "canvas", &jwt, &[]).await?;
    assert_eq!((status, body["status"].as_str()), (202, Some("accepted")), "{body}");
    stack.wait_for_awards("grace@example.edu", 1, wait).await?;
    assert_eq!(
        post(&stack, "canvas", &jwt, &[]).await?.0,
        200,
        "a redelivered JWT is a duplicate"
    );

    // ---- xAPI: Basic auth as an LRS forwards; one statement or an array.
    configure(&stack, "xapi", json!({"secrets": ["lrs-forwarding-secret"]})).await?;
    let lrs_badge = badge_class(&stack, &seed.issuer_id, "Course 42 via the LRS").await?;
    rule(&stack, &lrs_badge, "https://lms.example.edu/course/42", None, None).await?;
    let basic = |p: &str| {
        vec![(
            "Authorization",
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("lrs:{p}"))
            ),
        )]
    };
    let statement = sample("xapi_course_completed.json");
    assert_eq!(post(&stack, "xapi", &statement, &basic("guess")).await?.0, 401);
    assert_eq!(post(&stack, "xapi", &statement, &[]).await?.0, 401);
    let passed: Value = serde_json::from_str(&sample("xapi_passed.json"))?;
    let mut other_learner = passed.clone();
    other_learner["id"] = json!("a7e3c1d2-5b4f-4e6a-8c9d-0f1e2d3c4b5b");
    other_learner["actor"]["mbox"] = json!("mailto:linus@example.edu");
    other_learner["object"] = json!({"objectType": "Activity", "id": "https://lms.example.edu/course/42",
        "definition": {"type": "http://adlnet.gov/expapi/activities/course"}});
    let array = json!([serde_json::from_str::<Value>(&statement)?, other_learner]).to_string();
    let (status, body) = post(&stack, "xapi", &array, &basic("lrs-forwarding-secret")).await?;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["events"].as_array().map(Vec::len), Some(2), "{body}");
    assert_eq!(body["events"][0]["status"], "held", "an account actor: {body}");
    assert_eq!(body["events"][1]["status"], "accepted", "an mbox actor: {body}");
    stack.wait_for_awards("linus@example.edu", 1, wait).await?;
    // The account is the same Ada that Canvas knows: she gets the xAPI badge too.
    map_learner(&stack, "xapi", "https://lms.example.edu|317", "ada@example.edu").await?;
    let ada = stack.wait_for_awards("ada@example.edu", 3, wait).await?;
    assert_eq!(ada.len(), 3, "one earner across Canvas and xAPI");
    // An Idempotency-Key makes a redelivery with a new statement id harmless.
    let mut retry = other_learner.clone();
    retry["id"] = json!("a7e3c1d2-5b4f-4e6a-8c9d-0f1e2d3c4b5c");
    let key = vec![
        basic("lrs-forwarding-secret")[0].clone(),
        ("Idempotency-Key", "lrs-batch-77".to_string()),
    ];
    assert_eq!(
        post(&stack, "xapi", &other_learner.to_string().replace("4b5b", "4b5d"), &key)
            .await?
            .0,
        202
    );
    let (status, body) = post(&stack, "xapi", &retry.to_string(), &key).await?;
    assert_eq!((status, body["status"].as_str()), (200, Some("duplicate")), "{body}");

    // ---- Caliper: Bearer; a grade over the rule's threshold.
    configure(&stack, "caliper", json!({"secrets": ["caliper-sensor-key"]})).await?;
    rule(
        &stack,
        badge,
        "https://lms.example.edu/course/42",
        Some("https://lms.example.edu/quiz/901"),
        Some(0.9),
    )
    .await?;
    map_learner(
        &stack,
        "caliper",
        "https://lms.example.edu/users/317",
        "caliper.learner@example.edu",
    )
    .await?;
    let grade = sample("caliper_grade_event.json");
    assert_eq!(post(&stack, "caliper", &grade, &bearer("nope")).await?.0, 401);
    // A stale HMAC signature is refused even with the right secret.
    let old = akashi_crypto::webhook::signature_header(b"caliper-sensor-key", now - 600, grade.as_bytes());
    assert_eq!(
        post(&stack, "caliper", &grade, &[("X-Akashi-Signature", old)]).await?.0,
        401
    );
    let (status, body) = post(&stack, "caliper", &grade, &bearer("caliper-sensor-key")).await?;
    assert_eq!((status, body["awards_requested"].as_u64()), (202, Some(1)), "{body}");
    let low = grade
        .replace("\"scoreGiven\": 92.0", "\"scoreGiven\": 80.0")
        .replace("7d1e5c2a", "7d1e5c2b");
    let (_, body) = post(&stack, "caliper", &low, &bearer("caliper-sensor-key")).await?;
    assert_eq!(body["awards_requested"], 0, "below the threshold: {body}");
    stack.wait_for_awards("caliper.learner@example.edu", 1, wait).await?;

    // ---- Open edX: Bearer; award on the first pass, never revoke on a fail.
    configure(&stack, "openedx", json!({"secrets": ["openedx-bus-relay-key"]})).await?;
    rule(&stack, badge, "course-v1:ExampleU+BADGE101+2026", None, None).await?;
    let passing =
        sample("openedx_course_passing_status_updated.json").replace("ada@example.edu", "edx.learner@example.edu");
    assert_eq!(post(&stack, "openedx", &passing, &[]).await?.0, 401);
    let (status, body) = post(&stack, "openedx", &passing, &bearer("openedx-bus-relay-key")).await?;
    assert_eq!((status, body["awards_requested"].as_u64()), (202, Some(1)), "{body}");
    let failing = passing
        .replace("\"is_passing\": true", "\"is_passing\": false")
        .replace("8f3c2d10", "8f3c2d11");
    assert_eq!(
        post(&stack, "openedx", &failing, &bearer("openedx-bus-relay-key"))
            .await?
            .0,
        202
    );
    let certificate = sample("openedx_certificate_created.json").replace("ada@example.edu", "edx.learner@example.edu");
    let (_, body) = post(&stack, "openedx", &certificate, &bearer("openedx-bus-relay-key")).await?;
    assert_eq!(body["awards_requested"], 0, "already earned: {body}");
    let edx = stack.wait_for_awards("edx.learner@example.edu", 1, wait).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let edx_now = stack.awards("edx.learner@example.edu").await?;
    assert_eq!(edx_now.len(), 1, "one badge");
    assert_eq!(edx_now[0]["status"], edx[0]["status"], "a later fail revokes nothing");
    assert_ne!(edx_now[0]["status"], "revoked");

    // ---- Every earner has exactly the badges counted above, no more.
    tokio::time::sleep(Duration::from_secs(1)).await;
    for (email, n) in [
        ("moodle.learner@example.edu", 1),
        ("ada@example.edu", 3),
        ("grace@example.edu", 1),
        ("linus@example.edu", 1),
        ("caliper.learner@example.edu", 1),
        ("edx.learner@example.edu", 1),
        ("eve@example.edu", 0),
    ] {
        assert_eq!(stack.awards(email).await?.len(), n, "{email}");
    }
    Ok(())
}
