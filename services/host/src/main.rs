//! Host: the stable public URLs of every hosted badge document.

use host::{config::Config, startup};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::load()?;
    startup::run(config).await
}
