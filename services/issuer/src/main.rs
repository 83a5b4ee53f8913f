//! The issuer: issuer organizations, badge classes, every issued credential.

use issuer::{config::Config, startup};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::load()?;
    startup::run(config).await
}
