//! Logging through `tracing`, set up once per process. JSON by default, with
//! the current span's fields (request id, message id, correlation id) on
//! every line, so one award can be followed across the five services.

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber; `format` is `json` or `pretty`.
pub fn init(service: &str, format: &str) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,lapin=warn,actix_server=warn,h2=warn,hyper=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_target(false);
    let result = if format == "pretty" {
        builder.try_init()
    } else {
        builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .flatten_event(true)
            .try_init()
    };
    if result.is_ok() {
        tracing::info!(service, "telemetry ready");
    }
}
