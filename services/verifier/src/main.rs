//! The verifier: checks any badge as an outside party would.

use verifier::{config::Config, startup};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::load()?;
    startup::run(config).await
}
