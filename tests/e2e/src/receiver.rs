//! An HR system's webhook endpoint for tests: `tests/tools/webhook_receiver.py`
//! checks every request with the Standard Webhooks reference library
//! (PyPI `standardwebhooks`) and records it.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// A running receiver; stopped when dropped.
pub struct Receiver {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Receiver {
    /// Starts a receiver on a free loopback port that accepts `secrets`.
    pub async fn start(secrets: &[&str]) -> anyhow::Result<Receiver> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let dir = std::env::temp_dir().join(format!("akashi-receiver-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir)?;
        let mut receiver = Receiver { child: None, port, dir };
        receiver.set_secrets(secrets)?;
        receiver.resume().await?;
        Ok(receiver)
    }

    /// The endpoint to subscribe.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hooks/akashi", self.port)
    }

    /// The secrets requests are checked against (by position).
    pub fn set_secrets(&self, secrets: &[&str]) -> anyhow::Result<()> {
        Ok(std::fs::write(self.dir.join("secrets"), secrets.join("\n"))?)
    }

    /// What the next requests are answered, one line each: a status code,
    /// or `sleep <seconds> <code>`.
    pub fn plan(&self, steps: &[&str]) -> anyhow::Result<()> {
        Ok(std::fs::write(
            self.dir.join("plan"),
            steps.iter().map(|s| format!("{s}\n")).collect::<String>(),
        )?)
    }

    /// Stops listening (an outage): connections are refused.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Listens again on the same port.
    pub async fn resume(&mut self) -> anyhow::Result<()> {
        let venv = std::env::var("AKASHI_TEST_VENV").unwrap_or_else(|_| "/var/cache/akashi-venv".into());
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tools/webhook_receiver.py");
        self.child = Some(
            Command::new(format!("{venv}/bin/python"))
                .arg(script)
                .arg(self.port.to_string())
                .arg(&self.dir)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()?,
        );
        let deadline = Instant::now() + Duration::from_secs(10);
        while tokio::net::TcpStream::connect(("127.0.0.1", self.port)).await.is_err() {
            anyhow::ensure!(
                Instant::now() < deadline,
                "the receiver did not listen (is standardwebhooks installed? ./scripts/install-test-tools)"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(())
    }

    /// Every request received so far, in order of arrival.
    pub fn received(&self) -> Vec<Value> {
        std::fs::read_to_string(self.dir.join("received.jsonl"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// Waits until `pick` finds what it needs in the requests received.
    pub async fn wait_for<T>(
        &self,
        what: &str,
        timeout: Duration,
        pick: impl Fn(&[Value]) -> Option<T>,
    ) -> anyhow::Result<T> {
        let deadline = Instant::now() + timeout;
        loop {
            let received = self.received();
            if let Some(found) = pick(&received) {
                return Ok(found);
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "{what}: not received after {timeout:?}; received: {}",
                serde_json::to_string_pretty(&received)?
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
