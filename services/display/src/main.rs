//! Display: the pages people see and share.

use display::{config::Config, startup};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::load()?;
    startup::run(config).await
}
