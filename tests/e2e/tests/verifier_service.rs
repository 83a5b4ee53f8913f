//! The verifier as a service HR systems call: API keys with their own rate
//! limits, a limit for anonymous callers, 401/429 in the error shape with
//! `Retry-After`, admin tokens minted by the issuer accepted here, and a
//! document cache that never serves one of Akashi's revocations stale.

use std::time::{Duration, Instant};

use akashi_e2e::{Service, Stack};
use reqwest::Method;
use serde_json::{Value, json};

async fn award(stack: &Stack, event: &str, email: &str) -> anyhow::Result<Value> {
    let response = stack
        .post_completion(&Stack::completion(event, email, "DEMO-101"))
        .await?;
    anyhow::ensure!(response.status() == 202, "webhook answered {}", response.status());
    let award = stack
        .wait_for_awards(email, 1, Duration::from_secs(10))
        .await?
        .remove(0);
    // Host learns of the award over the bus, a moment after the issuer.
    stack
        .wait_for_status(
            award["formats"]["ob2_hosted"].as_str().unwrap(),
            200,
            Duration::from_secs(10),
        )
        .await?;
    Ok(award)
}

/// POST /verify with an optional key header; answers (status, body, Retry-After).
async fn verify_with(
    stack: &Stack,
    url: &str,
    key: Option<(&str, &str)>,
) -> anyhow::Result<(u16, Value, Option<String>)> {
    let mut request = stack
        .http
        .post(format!("{}/verify", stack.url(Service::Verifier)))
        .json(&json!({"url": url}));
    if let Some((name, value)) = key {
        request = request.header(name, value);
    }
    let response = request.send().await?;
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    Ok((status, response.json().await?, retry_after))
}

async fn create_client(stack: &Stack, token: &str, name: &str, rate: i32) -> anyhow::Result<reqwest::Response> {
    Ok(stack
        .http
        .post(format!("{}/admin/api-clients", stack.url(Service::Verifier)))
        .bearer_auth(token)
        .json(&json!({"name": name, "rate_per_minute": rate}))
        .send()
        .await?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_keys_and_rate_limits_guard_the_verifier() -> anyhow::Result<()> {
    let mut stack = Stack::start().await?;
    stack.set_env(Service::Verifier, "AKASHI_VERIFIER_ANONYMOUS_PER_MINUTE", "3");
    stack.restart(Service::Verifier).await?;
    stack.seed().await?;
    let badge = award(&stack, "evt-keys-1", "yuki@example.ac.jp").await?;
    let url = badge["formats"]["ob2_hosted"].as_str().unwrap().to_string();

    // Anonymous: three a minute from this address, then 429 with Retry-After.
    for _ in 0..3 {
        let (status, report, _) = verify_with(&stack, &url, None).await?;
        assert_eq!(status, 200);
        assert_eq!(report["status"], "valid");
    }
    let (status, body, retry_after) = verify_with(&stack, &url, None).await?;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["error"]["code"], "rate_limited");
    let wait: u64 = retry_after.expect("Retry-After").parse()?;
    assert!((1..=61).contains(&wait), "{wait}");

    // An HR system's key: its own limit, independent of the anonymous one.
    let created = create_client(&stack, &stack.admin_token, "Acme HR", 5).await?;
    assert_eq!(created.status(), 201);
    let created: Value = created.json().await?;
    let key = created["api_key"].as_str().unwrap().to_string();
    assert!(key.starts_with("akv_"));
    for n in 0..5 {
        // Both header forms carry the key.
        let header = if n % 2 == 0 {
            ("x-api-key", key.clone())
        } else {
            ("authorization", format!("Bearer {key}"))
        };
        let (status, report, _) = verify_with(&stack, &url, Some((header.0, &header.1))).await?;
        assert_eq!(status, 200, "{report}");
        assert_eq!(report["status"], "valid");
    }
    let (status, body, retry_after) = verify_with(&stack, &url, Some(("x-api-key", &key))).await?;
    assert_eq!(status, 429, "{body}");
    assert!(retry_after.is_some());

    // A batch counts each item; one larger than the limit can never pass.
    let other: Value = create_client(&stack, &stack.admin_token, "Small HR", 5)
        .await?
        .json()
        .await?;
    let items: Vec<Value> = (0..6).map(|_| json!({"url": url})).collect();
    let response = stack
        .http
        .post(format!("{}/verify/batch", stack.url(Service::Verifier)))
        .header("x-api-key", other["api_key"].as_str().unwrap())
        .json(&json!({"items": items}))
        .send()
        .await?;
    assert_eq!(response.status(), 429);

    // Unknown and revoked keys: 401 in the error shape.
    let (status, body, _) = verify_with(&stack, &url, Some(("x-api-key", "akv_not-a-key"))).await?;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "unauthorized");
    let revoke = stack
        .admin(
            Method::DELETE,
            format!(
                "{}/admin/api-clients/{}",
                stack.url(Service::Verifier),
                other["id"].as_str().unwrap()
            ),
        )
        .send()
        .await?;
    assert_eq!(revoke.status(), 204);
    let (status, _, _) = verify_with(&stack, &url, Some(("x-api-key", other["api_key"].as_str().unwrap()))).await?;
    assert_eq!(status, 401, "revoked at once");

    // Listing never shows a key.
    let list: Value = stack
        .admin(
            Method::GET,
            format!("{}/admin/api-clients", stack.url(Service::Verifier)),
        )
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(list.as_array().unwrap().len(), 2);
    assert!(!list.to_string().contains("akv_"), "{list}");
    assert!(list[0]["revoked_at"].is_string(), "newest first, revoked");

    // Bad input changes nothing.
    let bad = create_client(&stack, &stack.admin_token, "", 5).await?;
    assert_eq!(bad.status(), 422);
    let bad = create_client(&stack, &stack.admin_token, "Too fast", 0).await?;
    assert_eq!(bad.status(), 422);

    // Tokens minted by the issuer work here (they travel over the bus); a
    // token bound to one organization cannot manage the verifier's clients.
    let seed_issuer = badge["issuer"]["id"].as_str().unwrap();
    let mint = |scopes: Value, issuer: Option<&str>| {
        let mut body = json!({"name": "ops", "scopes": scopes});
        if let Some(issuer) = issuer {
            body["issuer_id"] = json!(issuer);
        }
        stack
            .admin(Method::POST, format!("{}/admin/tokens", stack.url(Service::Issuer)))
            .json(&body)
            .send()
    };
    let platform: Value = mint(json!(["api-clients:write"]), None).await?.json().await?;
    let tenant: Value = mint(json!(["api-clients:write"]), Some(seed_issuer))
        .await?
        .json()
        .await?;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let response = create_client(&stack, platform["token"].as_str().unwrap(), "Via minted token", 10).await?;
        if response.status() == 201 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "minted token never accepted: {}",
            response.status()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let response = create_client(&stack, tenant["token"].as_str().unwrap(), "Tenant", 10).await?;
        if response.status() == 403 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "tenant token not refused: {}",
            response.status()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Badge pages check status with display's own key: the anonymous limit
    // (used up above) does not make them unknown.
    let display_client: Value = create_client(&stack, &stack.admin_token, "display", 1000)
        .await?
        .json()
        .await?;
    stack.set_env(
        Service::Display,
        "AKASHI_DISPLAY_VERIFIER_API_KEY",
        display_client["api_key"].as_str().unwrap(),
    );
    stack.restart(Service::Display).await?;
    let page_url = badge["badge_page"].as_str().unwrap();
    for _ in 0..5 {
        let page = stack.http.get(page_url).send().await?.text().await?;
        assert!(page.contains(r#"data-status="valid""#), "{page}");
    }

    // With anonymous access off, a key is required.
    stack.set_env(Service::Verifier, "AKASHI_VERIFIER_ANONYMOUS_PER_MINUTE", "0");
    stack.restart(Service::Verifier).await?;
    let (status, body, _) = verify_with(&stack, &url, None).await?;
    assert_eq!(status, 401, "{body}");
    let (status, _, _) = verify_with(&stack, &url, Some(("x-api-key", &key))).await?;
    assert_eq!(status, 200, "keys still work");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cached_badge_is_seen_revoked_as_soon_as_akashi_revokes_it() -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    stack.seed().await?;
    let badge = award(&stack, "evt-cache-1", "sora@example.ac.jp").await?;
    for format in ["ob2_hosted", "ob3_vcjwt"] {
        let url = badge["formats"][format].as_str().unwrap();
        // Twice: the second answer comes from the cache (60 s by default).
        assert_eq!(stack.verify(url, None).await?["status"], "valid");
        assert_eq!(stack.verify(url, None).await?["status"], "valid");
    }
    stack.revoke(&badge, "Issued to the wrong learner").await?;
    // Far sooner than the cache's 60 s: badge.revoked empties it.
    for format in ["ob2_hosted", "ob3_vcjwt"] {
        let url = badge["formats"][format].as_str().unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let report = stack.verify(url, None).await?;
            if report["status"] == "revoked" {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{format} still {} 5 s after the revocation",
                report["status"]
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    Ok(())
}

/// A listener that counts the connections it receives (it must get none).
fn trap(addr: &str) -> anyhow::Result<(u16, std::sync::Arc<std::sync::atomic::AtomicUsize>)> {
    let listener = std::net::TcpListener::bind(addr)?;
    let port = listener.local_addr()?.port();
    let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = hits.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            drop(stream);
        }
    });
    Ok((port, hits))
}

/// SSRF through redirects: an allow-listed host (127.0.0.1) that redirects
/// to loopback addresses that are not allow-listed (127.0.0.2, [::1]), or
/// round in circles. Each is refused, and the forbidden addresses never see
/// a connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_to_forbidden_addresses_are_refused_without_a_connection() -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let (v4_port, v4_hits) = trap("127.0.0.2:0")?;
    let (v6_port, v6_hits) = trap("[::1]:0")?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let script = format!(
        r#"
import http.server
TARGETS = {{
    "/to-v4": "http://127.0.0.2:{v4_port}/assertion",
    "/to-v6": "http://[::1]:{v6_port}/assertion",
    "/to-file": "file:///etc/passwd",
    "/loop": "/loop",
}}
class Redirect(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(302)
        self.send_header("Location", TARGETS.get(self.path, "/loop"))
        self.end_headers()
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", {port}), Redirect).serve_forever()
"#
    );
    struct Server(std::process::Child);
    impl Drop for Server {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let _server = Server(std::process::Command::new("python3").arg("-c").arg(script).spawn()?);
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "redirect server did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for path in ["/to-v4", "/to-v6", "/to-file", "/loop"] {
        let (status, report, _) = verify_with(&stack, &format!("http://127.0.0.1:{port}{path}"), None).await?;
        assert_eq!(status, 200, "{path}: the request itself is fine: {report}");
        assert_ne!(report["status"], "valid", "{path}: {report:#}");
        let reasons = report["checks"].to_string();
        assert!(
            ["non-public", "redirect", "scheme", "HTTP 302"]
                .iter()
                .any(|w| reasons.contains(w)),
            "{path}: the report says why: {report:#}"
        );
    }
    // Directly, the same addresses are refused before anything is fetched.
    for url in [
        format!("http://127.0.0.2:{v4_port}/assertion"),
        format!("http://[::1]:{v6_port}/assertion"),
    ] {
        let (status, body, _) = verify_with(&stack, &url, None).await?;
        assert_eq!(status, 422, "{url}: {body}");
        assert_eq!(body["error"]["code"], "url_not_allowed");
    }
    assert_eq!(
        v4_hits.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "127.0.0.2 was never contacted"
    );
    assert_eq!(
        v6_hits.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "[::1] was never contacted"
    );
    Ok(())
}
