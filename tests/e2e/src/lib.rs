//! Harness for Akashi's end-to-end tests: it starts the five real service
//! binaries as processes on free ports, each with a fresh PostgreSQL
//! database, all on a fresh RabbitMQ namespace, against the real PostgreSQL
//! and RabbitMQ of this machine. Nothing is mocked. Dropping a [`Stack`]
//! kills its processes and removes its databases, queues and exchanges.
//!
//! The binaries must be built first (`cargo build --workspace --bins`, which
//! `./scripts/test` does).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use diesel::QueryableByName;
use diesel::sql_types::BigInt;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde_json::{Value, json};

/// The five services.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Service {
    Issuer,
    Host,
    Display,
    Verifier,
    LmsAdapter,
}

impl Service {
    /// Every service, in start order.
    pub const ALL: [Service; 5] = [
        Service::Issuer,
        Service::Host,
        Service::Display,
        Service::Verifier,
        Service::LmsAdapter,
    ];

    /// Binary and service name.
    pub fn name(self) -> &'static str {
        match self {
            Service::Issuer => "issuer",
            Service::Host => "host",
            Service::Display => "display",
            Service::Verifier => "verifier",
            Service::LmsAdapter => "lms-adapter",
        }
    }

    fn env_prefix(self) -> String {
        format!("AKASHI_{}_", self.name().replace('-', "_").to_uppercase())
    }

    /// The queues this service consumes (keep in step with docs/messages.md),
    /// so that a test's namespace can be removed from the broker afterwards.
    fn routing_keys(self) -> &'static [&'static str] {
        match self {
            Service::Issuer => &["issue.requested"],
            Service::Host => &[
                "issuer.published",
                "badge_class.published",
                "badge.issued",
                "badge.revoked",
                "status_list.published",
                "blockcerts.issued",
            ],
            Service::Display => &[
                "badge.issued",
                "badge.revoked",
                "blockcerts.issued",
                "earner.signin_requested",
                "award.mail_requested",
            ],
            Service::Verifier => &["admin.token.created", "admin.token.revoked"],
            Service::LmsAdapter => &[
                "badge_class.published",
                "admin.token.created",
                "admin.token.revoked",
                "badge.issued",
                "badge.revoked",
            ],
        }
    }
}

/// The machine's PostgreSQL server (trust auth) and RabbitMQ broker.
pub const PG_SERVER: &str = "postgres://postgres@127.0.0.1:5432";
/// The machine's RabbitMQ broker.
/// The tests' own virtual host: `./scripts/test` deletes and recreates it
/// before each run, so that queues left by an interrupted run (a killed
/// test cannot clean up) never pile up in the broker. Thousands of leftover
/// quorum queues once wedged a broker this suite shares with nobody else.
/// `AKASHI_TEST_AMQP_URL` overrides it (for a broker rabbitmqctl cannot reach).
pub fn amqp_url() -> String {
    std::env::var("AKASHI_TEST_AMQP_URL").unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/akashi-test".into())
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// Where cargo put the binaries: next to the test executable's `deps/` folder.
pub fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    exe.parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>")
        .to_path_buf()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// The demo seed's identifiers.
#[derive(Debug, Clone)]
pub struct Seed {
    pub issuer_id: String,
    pub badge_class_id: String,
    pub rule_id: String,
}

/// A running stack of the five services.
pub struct Stack {
    /// Unique per stack: names its databases and bus namespace.
    pub id: String,
    pub admin_token: String,
    pub webhook_secret: String,
    /// Base64 of the 32-byte key that seals the issuer's private keys.
    pub master_key: String,
    pub http: reqwest::Client,
    ports: BTreeMap<Service, u16>,
    children: BTreeMap<Service, Child>,
    extra_env: BTreeMap<Service, Vec<(String, String)>>,
    log_dir: PathBuf,
}

impl Stack {
    /// Starts the five services and waits until each answers `/readyz`.
    pub async fn start() -> anyhow::Result<Stack> {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let id = format!("t{}{}", &uuid::Uuid::new_v4().simple().to_string()[..6], n);
        let log_dir = bin_dir().join("e2e-logs").join(&id);
        std::fs::create_dir_all(&log_dir)?;
        let ports = Service::ALL.iter().map(|s| (*s, free_port())).collect();
        let mut stack = Stack {
            id,
            admin_token: format!("test-admin-{}", uuid::Uuid::new_v4()),
            webhook_secret: format!("whsec-{}", uuid::Uuid::new_v4().simple()),
            // Two v4 UUIDs: 32 random-enough bytes for a test master key.
            master_key: {
                use base64::Engine;
                let mut bytes = uuid::Uuid::new_v4().as_bytes().to_vec();
                bytes.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
                base64::engine::general_purpose::STANDARD.encode(bytes)
            },
            http: reqwest::Client::builder().timeout(Duration::from_secs(30)).build()?,
            ports,
            children: BTreeMap::new(),
            extra_env: BTreeMap::new(),
            log_dir,
        };
        for service in Service::ALL {
            stack.spawn(service)?;
        }
        for service in Service::ALL {
            stack.wait_ready(service, Duration::from_secs(60)).await?;
        }
        Ok(stack)
    }

    /// The database URL of one service of this stack.
    pub fn database_url(&self, service: Service) -> String {
        format!("{PG_SERVER}/akashi_{}_{}", self.id, service.name().replace('-', "_"))
    }

    /// The base URL of one service.
    pub fn url(&self, service: Service) -> String {
        format!("http://127.0.0.1:{}", self.ports[&service])
    }

    /// Where a service's log goes.
    pub fn log_path(&self, service: Service) -> PathBuf {
        self.log_dir.join(format!("{}.log", service.name()))
    }

    /// Environment variables given to a service from its next (re)start on.
    pub fn set_env(&mut self, service: Service, key: &str, value: &str) {
        self.extra_env
            .entry(service)
            .or_default()
            .push((key.into(), value.into()));
    }

    /// Removes the extra environment of a service.
    pub fn clear_env(&mut self, service: Service) {
        self.extra_env.remove(&service);
    }

    fn spawn(&mut self, service: Service) -> anyhow::Result<()> {
        let binary = bin_dir().join(service.name());
        if !binary.exists() {
            bail!(
                "{} is missing: run `cargo build --workspace --bins` first",
                binary.display()
            );
        }
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path(service))?;
        let prefix = service.env_prefix();
        let mut command = Command::new(binary);
        command
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("RUST_LOG", "info")
            .env("AKASHI_ADMIN_TOKEN", &self.admin_token)
            .env("AMQP_URL", amqp_url())
            .env("AKASHI_AMQP__NAMESPACE", &self.id)
            .env("AKASHI_AMQP__RETRY_BASE_MS", "50")
            // Two stacks run at once against one PostgreSQL (max_connections
            // 100): five services with the default pool of 16 each could use
            // them all. Tests need far fewer.
            .env("AKASHI_DB_POOL_SIZE", "6")
            .env(format!("{prefix}PORT"), self.ports[&service].to_string())
            .env(format!("{prefix}DATABASE_URL"), self.database_url(service))
            .env("AKASHI_PUBLIC_URLS__ISSUER", self.url(Service::Issuer))
            .env("AKASHI_PUBLIC_URLS__HOST", self.url(Service::Host))
            .env("AKASHI_PUBLIC_URLS__DISPLAY", self.url(Service::Display))
            .env("AKASHI_PUBLIC_URLS__VERIFIER", self.url(Service::Verifier))
            .env("AKASHI_PUBLIC_URLS__LMS_ADAPTER", self.url(Service::LmsAdapter))
            .env("AKASHI_VERIFIER_ALLOW_PRIVATE_HOSTS", "[127.0.0.1,localhost]")
            // Scripted LTI platforms and Canvas listen on 127.0.0.1 only:
            // another loopback address (127.0.0.2) stays refused, as in production.
            .env("AKASHI_LMS_ADAPTER_ALLOW_PRIVATE_HOSTS", "[127.0.0.1,localhost]")
            // Tests call the verifier anonymously, far more often than people do.
            .env("AKASHI_VERIFIER_ANONYMOUS_PER_MINUTE", "1000000")
            .env("AKASHI_ISSUER_MASTER_KEY", &self.master_key)
            .env("AKASHI_LMS_ADAPTER_MASTER_KEY", &self.master_key)
            // A test's batch is due after 200 ms rather than the default 5 s.
            .env("AKASHI_ISSUER_BLOCKCERTS__MAX_WAIT_MS", "200")
            // Test receivers listen on 127.0.0.1; retries come within a
            // second rather than minutes; a crashed sender's lease runs out
            // in 3 s; expired awards are looked for every second.
            .env("AKASHI_ISSUER_WEBHOOKS__ALLOW_PRIVATE_HOSTS", "[127.0.0.1,localhost]")
            .env("AKASHI_ISSUER_WEBHOOKS__RETRY_BASE_MS", "200")
            .env("AKASHI_ISSUER_WEBHOOKS__RETRY_MAX_MS", "1000")
            .env("AKASHI_ISSUER_WEBHOOKS__TIMEOUT_MS", "2000")
            .env("AKASHI_ISSUER_WEBHOOKS__LEASE_SECS", "3")
            .env("AKASHI_ISSUER_WEBHOOKS__EXPIRY_SCAN_SECS", "1")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        for (k, v) in self.extra_env.get(&service).into_iter().flatten() {
            command.env(k, v);
        }
        let child = command
            .spawn()
            .with_context(|| format!("starting {}", service.name()))?;
        self.children.insert(service, child);
        Ok(())
    }

    /// Waits until a service answers `/readyz` with 200.
    pub async fn wait_ready(&mut self, service: Service, timeout: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + timeout;
        let url = format!("{}/readyz", self.url(service));
        loop {
            if let Ok(r) = self.http.get(&url).timeout(Duration::from_secs(2)).send().await
                && r.status() == 200
            {
                return Ok(());
            }
            if let Some(child) = self.children.get_mut(&service)
                && let Some(status) = child.try_wait()?
            {
                bail!(
                    "{} exited with {status}; see {}",
                    service.name(),
                    self.log_path(service).display()
                );
            }
            if Instant::now() > deadline {
                bail!(
                    "{} not ready after {timeout:?}; see {}",
                    service.name(),
                    self.log_path(service).display()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// SIGKILLs a service (no chance to finish anything) and reaps it.
    pub fn kill(&mut self, service: Service) {
        if let Some(mut child) = self.children.remove(&service) {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Sends SIGTERM and waits for the exit; answers the exit status and how long it took.
    pub fn terminate(&mut self, service: Service) -> anyhow::Result<(std::process::ExitStatus, Duration)> {
        let mut child = self.children.remove(&service).context("service not running")?;
        let started = Instant::now();
        Command::new("kill").args(["-TERM", &child.id().to_string()]).status()?;
        let deadline = started + Duration::from_secs(60);
        loop {
            if let Some(status) = child.try_wait()? {
                return Ok((status, started.elapsed()));
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                bail!("{} did not stop within 60 s of SIGTERM", service.name());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Whether the service's process is still running.
    pub fn is_running(&mut self, service: Service) -> bool {
        self.children
            .get_mut(&service)
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// Waits for a service process to exit by itself (e.g. a deliberate crash).
    pub async fn wait_exit(&mut self, service: Service, timeout: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + timeout;
        while self.is_running(service) {
            if Instant::now() > deadline {
                bail!("{} still running after {timeout:?}", service.name());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.children.remove(&service);
        Ok(())
    }

    /// (Re)starts a service and waits until it is ready.
    pub async fn restart(&mut self, service: Service) -> anyhow::Result<()> {
        self.kill(service);
        self.spawn(service)?;
        self.wait_ready(service, Duration::from_secs(60)).await
    }

    /// Runs the `akashi demo-seed` command against this stack.
    pub async fn seed(&self) -> anyhow::Result<Seed> {
        let output = tokio::process::Command::new(bin_dir().join("akashi"))
            .arg("demo-seed")
            .env("AKASHI_ISSUER_URL", self.url(Service::Issuer))
            .env("AKASHI_LMS_ADAPTER_URL", self.url(Service::LmsAdapter))
            .env("AKASHI_ADMIN_TOKEN", &self.admin_token)
            .env("AKASHI_DEMO_WEBHOOK_SECRET", &self.webhook_secret)
            .output()
            .await?;
        if !output.status.success() {
            bail!("demo-seed failed: {}", String::from_utf8_lossy(&output.stderr));
        }
        let v: Value = serde_json::from_slice(&output.stdout)?;
        let field = |k: &str| {
            v[k].as_str()
                .map(str::to_owned)
                .with_context(|| format!("seed output lacks {k}: {v}"))
        };
        Ok(Seed {
            issuer_id: field("issuer_id")?,
            badge_class_id: field("badge_class_id")?,
            rule_id: field("rule_id")?,
        })
    }

    /// A generic webhook body for `email` completing `course`.
    pub fn completion(event_id: &str, email: &str, course: &str) -> Value {
        json!({
            "event_id": event_id,
            "learner": {"email": email, "name": "Test Learner", "lms_user_id": "42"},
            "course": {"id": course, "name": "Introduction to Data Science"},
            "completed_at": "2026-11-27T09:00:00+09:00",
            "grade": 0.93
        })
    }

    /// Posts a body to the generic webhook with the given signature header (if any).
    pub async fn post_webhook(&self, body: &str, signature: Option<&str>) -> anyhow::Result<reqwest::Response> {
        let mut request = self
            .http
            .post(format!("{}/webhooks/generic", self.url(Service::LmsAdapter)))
            .header("Content-Type", "application/json")
            .body(body.to_string());
        if let Some(sig) = signature {
            request = request.header("X-Akashi-Signature", sig);
        }
        Ok(request.send().await?)
    }

    /// Posts a completion signed now with this stack's webhook secret.
    pub async fn post_completion(&self, body: &Value) -> anyhow::Result<reqwest::Response> {
        let raw = body.to_string();
        let signature = akashi_crypto::webhook::signature_header(
            self.webhook_secret.as_bytes(),
            chrono::Utc::now().timestamp(),
            raw.as_bytes(),
        );
        self.post_webhook(&raw, Some(&signature)).await
    }

    /// An admin GET/POST with the bootstrap token.
    pub fn admin(&self, method: reqwest::Method, url: String) -> reqwest::RequestBuilder {
        self.http.request(method, url).bearer_auth(&self.admin_token)
    }

    /// An admin GET of `url` with the bootstrap token; it must answer 200.
    pub async fn admin_json(&self, url: &str) -> anyhow::Result<Value> {
        let response = self.admin(reqwest::Method::GET, url.to_string()).send().await?;
        anyhow::ensure!(response.status() == 200, "{url} answered {}", response.status());
        Ok(response.json().await?)
    }

    /// The fixed lookup: the awards of one recipient.
    pub async fn awards(&self, email: &str) -> anyhow::Result<Vec<Value>> {
        let response = self
            .admin(
                reqwest::Method::GET,
                format!("{}/admin/awards", self.url(Service::Issuer)),
            )
            .query(&[("recipient", email)])
            .send()
            .await?;
        if response.status() != 200 {
            bail!("awards lookup answered {}", response.status());
        }
        let body: Value = response.json().await?;
        Ok(body["awards"].as_array().cloned().unwrap_or_default())
    }

    /// Polls the lookup until `email` has at least `n` awards.
    pub async fn wait_for_awards(&self, email: &str, n: usize, timeout: Duration) -> anyhow::Result<Vec<Value>> {
        let deadline = Instant::now() + timeout;
        loop {
            let awards = self.awards(email).await.unwrap_or_default();
            if awards.len() >= n {
                return Ok(awards);
            }
            if Instant::now() > deadline {
                bail!("{email} has {} awards after {timeout:?}, expected {n}", awards.len());
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Posts one signed completion of `course` for `email` (accepted: 202)
    /// and waits for the learner's first award, until its badge page and
    /// hosted assertion answer (display and host hear of it over the bus);
    /// answers its lookup entry.
    pub async fn complete_course(&self, event_id: &str, email: &str, course: &str) -> anyhow::Result<Value> {
        let response = self.post_completion(&Self::completion(event_id, email, course)).await?;
        anyhow::ensure!(response.status() == 202, "webhook answered {}", response.status());
        let award = self.wait_for_awards(email, 1, Duration::from_secs(30)).await?.remove(0);
        let id = award["award_id"].as_str().context("the award has no award_id")?;
        // Asked for JSON, the page sends to the hosted assertion: 200 once both know it.
        let page = format!("{}/badges/{id}", self.url(Service::Display));
        self.wait_for_status(&page, 200, Duration::from_secs(30)).await?;
        Ok(award)
    }

    /// Revokes `award` (its lookup entry) at the issuer with `reason`;
    /// the issuer must answer 200.
    pub async fn revoke(&self, award: &Value, reason: &str) -> anyhow::Result<()> {
        let award_id = award["award_id"].as_str().context("the award has no award_id")?;
        let response = self
            .admin(
                reqwest::Method::POST,
                format!("{}/admin/awards/{award_id}/revoke", self.url(Service::Issuer)),
            )
            .json(&json!({ "reason": reason }))
            .send()
            .await?;
        anyhow::ensure!(response.status() == 200, "revocation answered {}", response.status());
        Ok(())
    }

    /// Polls a URL until it answers `status`.
    pub async fn wait_for_status(
        &self,
        url: &str,
        status: u16,
        timeout: Duration,
    ) -> anyhow::Result<reqwest::Response> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(r) = self.http.get(url).header("Accept", "application/ld+json").send().await
                && r.status().as_u16() == status
            {
                return Ok(r);
            }
            if Instant::now() > deadline {
                bail!("{url} did not answer {status} within {timeout:?}");
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Runs a `SELECT count(*) AS n …` against one service's database.
    pub async fn count(&self, service: Service, sql: &str) -> anyhow::Result<i64> {
        #[derive(QueryableByName)]
        struct N {
            #[diesel(sql_type = BigInt)]
            n: i64,
        }
        let mut conn = AsyncPgConnection::establish(&self.database_url(service)).await?;
        let row: N = diesel::sql_query(sql).get_result(&mut conn).await?;
        Ok(row.n)
    }

    /// POSTs `{"url": …}` (and an optional recipient) to the verifier.
    pub async fn verify(&self, url: &str, recipient: Option<&str>) -> anyhow::Result<Value> {
        let mut body = json!({"url": url});
        if let Some(r) = recipient {
            body["recipient"] = json!(r);
        }
        let response = self
            .http
            .post(format!("{}/verify", self.url(Service::Verifier)))
            .json(&body)
            .send()
            .await?;
        if response.status() != 200 {
            bail!(
                "verify answered {}: {}",
                response.status(),
                response.text().await.unwrap_or_default()
            );
        }
        Ok(response.json().await?)
    }

    fn cleanup(&mut self) {
        for service in Service::ALL {
            self.kill(service);
        }
        let id = self.id.clone();
        let databases: Vec<String> = Service::ALL.iter().map(|s| self.database_url(*s)).collect();
        // Drop cannot await; a short-lived runtime on its own thread does the removal.
        let _ = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
                return;
            };
            runtime.block_on(async move {
                if let Ok(mut conn) = AsyncPgConnection::establish(&format!("{PG_SERVER}/postgres")).await {
                    for url in databases {
                        let name = url.rsplit('/').next().unwrap_or_default().to_string();
                        let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                            .execute(&mut conn)
                            .await;
                    }
                }
                let _ = delete_namespace(&id).await;
            });
        })
        .join();
    }
}

/// A client that shows redirects instead of following them (a form's
/// answer is a 303 whose target matters), as a browser's network panel does.
pub fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .expect("a client")
}

/// HTML text or an attribute value as the browser reads it: character
/// references (named and numeric) decoded once.
pub fn html_text(escaped: &str) -> String {
    let mut out = String::new();
    let mut rest = escaped;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let decoded = rest.find(';').filter(|end| *end < 12).and_then(|end| {
            let entity = &rest[1..end];
            let c = match entity {
                "lt" => Some('<'),
                "gt" => Some('>'),
                "amp" => Some('&'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                _ => entity
                    .strip_prefix("#x")
                    .and_then(|h| u32::from_str_radix(h, 16).ok())
                    .or_else(|| entity.strip_prefix('#').and_then(|d| d.parse().ok()))
                    .and_then(char::from_u32),
            };
            c.map(|c| (c, end))
        });
        match decoded {
            Some((c, end)) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

impl Stack {
    /// Signs in to the admin console with the bootstrap token, as a browser
    /// posts the login form; answers the session cookie (`name=value`).
    pub async fn console_session(&self) -> anyhow::Result<String> {
        let display = self.url(Service::Display);
        let r = no_redirects()
            .post(format!("{display}/console/login"))
            .header("Origin", &display)
            .form(&[("token", self.admin_token.as_str())])
            .send()
            .await?;
        anyhow::ensure!(r.status() == 303, "console sign-in answered {}", r.status());
        r.headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|c| c.starts_with("akashi_console="))
            .and_then(|c| c.split(';').next())
            .map(str::to_owned)
            .ok_or_else(|| anyhow::anyhow!("no console cookie"))
    }
}

/// The text of a PDF as poppler's `pdftotext` reads it (layout order).
pub fn pdf_text(pdf: &[u8]) -> anyhow::Result<String> {
    let path = std::env::temp_dir().join(format!("akashi-pdf-{}.pdf", uuid::Uuid::new_v4()));
    std::fs::write(&path, pdf)?;
    let out = std::process::Command::new("pdftotext").arg(&path).arg("-").output();
    let _ = std::fs::remove_file(&path);
    let out = out.context("pdftotext (Debian poppler-utils)")?;
    anyhow::ensure!(out.status.success(), "pdftotext failed on the PDF");
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Removes a test namespace's queues and exchanges from the broker.
pub async fn delete_namespace(namespace: &str) -> anyhow::Result<()> {
    use lapin::options::{ExchangeDeleteOptions, QueueDeleteOptions};
    let connection = lapin::Connection::connect(&amqp_url(), lapin::ConnectionProperties::default()).await?;
    let channel = connection.create_channel().await?;
    for service in Service::ALL {
        for key in service.routing_keys() {
            let queue = format!("{namespace}.{}.{key}", service.name());
            let _ = channel.queue_delete(queue.into(), QueueDeleteOptions::default()).await;
        }
    }
    let _ = channel
        .queue_delete(format!("{namespace}.dead-letter").into(), QueueDeleteOptions::default())
        .await;
    for exchange in ["events", "dead-letter"] {
        let _ = channel
            .exchange_delete(
                format!("{namespace}.{exchange}").into(),
                ExchangeDeleteOptions::default(),
            )
            .await;
    }
    let _ = connection.close(200, "done".into()).await;
    Ok(())
}

impl Drop for Stack {
    fn drop(&mut self) {
        self.cleanup();
    }
}

/// Runs the 1EdTech Open Badges validator (PyPI `openbadges`, offline) on a URL.
pub fn ob2_validator(url: &str, recipient: Option<&str>) -> anyhow::Result<Value> {
    let venv = std::env::var("AKASHI_TEST_VENV").unwrap_or_else(|_| "/var/cache/akashi-venv".into());
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tools/ob2_validate.py");
    let mut command = Command::new(format!("{venv}/bin/python"));
    command.arg(script).arg(url);
    if let Some(r) = recipient {
        command.arg(r);
    }
    let output = command
        .output()
        .context("running the 1EdTech validator (./scripts/install-test-tools)")?;
    let report: Value = serde_json::from_slice(&output.stdout)
        .with_context(|| format!("validator output: {}", String::from_utf8_lossy(&output.stderr)))?;
    Ok(report)
}

/// Runs the OB 3.0 VC-JWT judge (PyJWT plus the OB 3.0 VC-JWT rules) on a
/// credential URL, or on a raw token with `--token`.
pub fn vcjwt_judge(args: &[&str]) -> anyhow::Result<Value> {
    let venv = std::env::var("AKASHI_TEST_VENV").unwrap_or_else(|_| "/var/cache/akashi-venv".into());
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tools/vcjwt_verify.py");
    let output = Command::new(format!("{venv}/bin/python"))
        .arg(script)
        .args(args)
        .output()
        .context("running the VC-JWT judge (./scripts/install-test-tools)")?;
    serde_json::from_slice(&output.stdout)
        .with_context(|| format!("judge output: {}", String::from_utf8_lossy(&output.stderr)))
}

/// Runs the independent Data Integrity judge — Digital Bazaar's
/// `@digitalbazaar/vc` with the eddsa-rdfc-2022 cryptosuite and the
/// Bitstring Status List check, offline (`tests/tools/di/verify.mjs`) — on a
/// credential URL. Answers `{verified, revoked, errors}`.
pub fn di_judge(source: &str) -> anyhow::Result<Value> {
    di_judge_with(&[source])
}

/// [`di_judge`] with the judge's own options first (`--max-clock-skew N`).
pub fn di_judge_with(args: &[&str]) -> anyhow::Result<Value> {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tools/di/verify.mjs");
    let output = Command::new("node")
        .arg(script)
        .args(args)
        .output()
        .context("running the Data Integrity judge (node; ./scripts/install-test-tools)")?;
    serde_json::from_slice(&output.stdout).with_context(|| {
        format!(
            "Data Integrity judge output: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

/// [`di_judge`] on a credential document (e.g. a tampered copy).
pub fn di_judge_document(document: &Value) -> anyhow::Result<Value> {
    let path = std::env::temp_dir().join(format!("akashi-di-{}.json", uuid::Uuid::new_v4()));
    std::fs::write(&path, serde_json::to_vec(document)?)?;
    let verdict = di_judge(path.to_str().unwrap_or_default());
    let _ = std::fs::remove_file(&path);
    verdict
}

/// Runs the Blockcerts reference verifier (`@blockcerts/cert-verifier-js`,
/// offline: `tests/tools/blockcerts/verify.mjs`) on a certificate; with
/// `rpc`, Ethereum anchors are looked up on that JSON-RPC node. Answers
/// `{status, message, steps}`.
pub fn blockcerts_judge(certificate: &Value, rpc: Option<&str>) -> anyhow::Result<Value> {
    let path = std::env::temp_dir().join(format!("akashi-blockcerts-{}.json", uuid::Uuid::new_v4()));
    std::fs::write(&path, serde_json::to_vec(certificate)?)?;
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tools/blockcerts/verify.mjs");
    let mut command = Command::new("node");
    command.arg(script).arg(&path);
    if let Some(rpc) = rpc {
        command.arg("--rpc").arg(rpc);
    }
    let output = command
        .output()
        .context("running the Blockcerts reference verifier (node; ./scripts/install-test-tools)");
    let _ = std::fs::remove_file(&path);
    let output = output?;
    serde_json::from_slice(&output.stdout).with_context(|| {
        format!(
            "Blockcerts reference verifier output: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

/// The codes of the steps a Blockcerts verdict passed.
pub fn passed_steps(verdict: &Value) -> Vec<String> {
    verdict["steps"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| s["status"] == "success")
        .filter_map(|s| s["code"].as_str().map(str::to_owned))
        .collect()
}

/// Reads what is baked into an image with openbadges-bakery; `None` if nothing.
pub fn unbake(image: &[u8], extension: &str) -> anyhow::Result<Option<String>> {
    let venv = std::env::var("AKASHI_TEST_VENV").unwrap_or_else(|_| "/var/cache/akashi-venv".into());
    let path = std::env::temp_dir().join(format!("akashi-baked-{}.{extension}", uuid::Uuid::new_v4()));
    std::fs::write(&path, image)?;
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tools/unbake.py");
    let output = Command::new(format!("{venv}/bin/python"))
        .arg(script)
        .arg(&path)
        .output()?;
    let _ = std::fs::remove_file(&path);
    Ok(output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_string()))
}

/// Runs the 1EdTech validator on a baked image (written to a file for it).
pub fn ob2_validator_on_image(image: &[u8], extension: &str, recipient: Option<&str>) -> anyhow::Result<Value> {
    let path = std::env::temp_dir().join(format!("akashi-judge-{}.{extension}", uuid::Uuid::new_v4()));
    std::fs::write(&path, image)?;
    let report = ob2_validator(path.to_str().unwrap_or_default(), recipient);
    let _ = std::fs::remove_file(&path);
    report
}

pub mod receiver;

/// A real SMTP server for tests (PyPI aiosmtpd) and reading what it received.
pub mod smtp {
    use std::path::{Path, PathBuf};
    use std::process::{Child, Command, Stdio};
    use std::time::{Duration, Instant};

    /// A running SMTP sink; stopped when dropped.
    pub struct Sink(Child);

    impl Drop for Sink {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    /// Starts `tests/tools/smtp_sink.py` (aiosmtpd) on `port`, writing each mail to `dir`.
    pub fn start_sink(port: u16, dir: &Path) -> anyhow::Result<Sink> {
        let venv = std::env::var("AKASHI_TEST_VENV").unwrap_or_else(|_| "/var/cache/akashi-venv".into());
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tools/smtp_sink.py");
        let child = Command::new(format!("{venv}/bin/python"))
            .arg(script)
            .arg(port.to_string())
            .arg(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        Ok(Sink(child))
    }

    /// The mails received so far, oldest first.
    pub fn mails(dir: &Path) -> Vec<String> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        files.sort();
        files.iter().filter_map(|f| std::fs::read_to_string(f).ok()).collect()
    }

    /// Waits until at least `n` mails arrived.
    pub async fn wait_for_mails(dir: &Path, n: usize, timeout: Duration) -> anyhow::Result<Vec<String>> {
        let deadline = Instant::now() + timeout;
        loop {
            let found = mails(dir);
            if found.len() >= n {
                return Ok(found);
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "{} mails after {timeout:?}, expected {n}",
                found.len()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The body of a mail with quoted-printable soft breaks and escapes undone
    /// enough to search it for a URL and words.
    pub fn readable(mail: &str) -> String {
        // A base64 body (lettre's choice for mostly non-ASCII text) is
        // decoded; the headers are kept as they are.
        if mail.contains("Content-Transfer-Encoding: base64") {
            let split = mail
                .find("\r\n\r\n")
                .map(|i| (i, 4))
                .or_else(|| mail.find("\n\n").map(|i| (i, 2)));
            if let Some((at, gap)) = split {
                let encoded: String = mail[at + gap..].split_whitespace().collect();
                if let Ok(bytes) = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, encoded) {
                    return format!("{}\n\n{}", &mail[..at], String::from_utf8_lossy(&bytes));
                }
            }
        }
        mail.replace("=\r\n", "").replace("=\n", "").replace("=3D", "=")
    }
}
