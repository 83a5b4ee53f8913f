//! What operators rely on: health, readiness, metrics, OpenAPI, request ids,
//! and a graceful stop.

use akashi_e2e::{Service, Stack};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_service_exposes_health_readiness_metrics_and_openapi() -> anyhow::Result<()> {
    let mut stack = Stack::start().await?;
    for service in Service::ALL {
        let base = stack.url(service);
        let health: serde_json::Value = stack.http.get(format!("{base}/healthz")).send().await?.json().await?;
        assert_eq!(health["status"], "ok", "{service:?}");
        let ready = stack.http.get(format!("{base}/readyz")).send().await?;
        assert_eq!(ready.status(), 200);
        let ready: serde_json::Value = ready.json().await?;
        assert_eq!(ready["checks"]["database"]["status"], "ok");
        assert_eq!(ready["checks"]["broker"]["status"], "ok");
        assert_eq!(
            ready["checks"]["consumers"]["status"], "ok",
            "every consumer is consuming"
        );
        let metrics = stack.http.get(format!("{base}/metrics")).send().await?.text().await?;
        assert!(
            metrics.contains("akashi_http_requests_total"),
            "{service:?} metrics: {metrics}"
        );
        let openapi: serde_json::Value = stack
            .http
            .get(format!("{base}/openapi.json"))
            .send()
            .await?
            .json()
            .await?;
        assert!(openapi["openapi"].as_str().unwrap().starts_with("3."), "{service:?}");
        assert!(
            !openapi["paths"].as_object().unwrap().is_empty(),
            "{service:?} documents its paths"
        );
        // A request id is echoed (or made), so that a call can be found in the logs.
        let r = stack
            .http
            .get(format!("{base}/healthz"))
            .header("X-Request-Id", "trace-me-123")
            .send()
            .await?;
        assert_eq!(r.headers()["x-request-id"], "trace-me-123");
        let unknown = stack.http.get(format!("{base}/no/such/path")).send().await?;
        assert_eq!(unknown.status(), 404);
        assert_eq!(unknown.json::<serde_json::Value>().await?["error"]["code"], "not_found");
    }
    // The fixed contract paths are documented.
    let lms: serde_json::Value = stack
        .http
        .get(format!("{}/openapi.json", stack.url(Service::LmsAdapter)))
        .send()
        .await?
        .json()
        .await?;
    assert!(lms["paths"]["/webhooks/{source}"].is_object());
    let issuer: serde_json::Value = stack
        .http
        .get(format!("{}/openapi.json", stack.url(Service::Issuer)))
        .send()
        .await?
        .json()
        .await?;
    assert!(issuer["paths"]["/admin/awards"].is_object());

    // SIGTERM: the service drains and exits cleanly, promptly.
    let (status, took) = stack.terminate(Service::Verifier)?;
    assert!(status.success(), "exit status after SIGTERM: {status}");
    assert!(took.as_secs() < 30, "stopped in {took:?}");
    let log = std::fs::read_to_string(stack.log_path(Service::Verifier))?;
    assert!(log.contains("\"stopped\""), "logs its stop");
    // Logs are JSON lines carrying the request id.
    let issuer_log = std::fs::read_to_string(stack.log_path(Service::Issuer))?;
    assert!(
        issuer_log
            .lines()
            .filter(|l| l.starts_with('{'))
            .all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok())
    );
    Ok(())
}
