//! The lms-adapter: hears LMS completions, applies the rules, requests awards.

use lms_adapter::{config::Config, startup};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::load()?;
    startup::run(config).await
}
