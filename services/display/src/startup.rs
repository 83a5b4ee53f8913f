//! Wires display: database, consumers, HTTP client, routes.

use std::time::Duration;

use actix_web::web;
use akashi_db::PgPool;
use akashi_model::messages::{
    AwardMailRequested, BadgeIssued, BadgeRevoked, BlockcertsIssued, BusMessage, EarnerPreferencesChanged,
    EarnerSignInRequested, IssuerPublished, WebhookSubscriptionDisabled,
};
use akashi_runtime::ServiceContext;
use secrecy::SecretString;

use crate::config::Config;
use std::sync::Arc;

use crate::certificate::CertificateFont;
use crate::{consumers, db, routes};

/// What handlers and consumers share.
#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub http: reqwest::Client,
    pub verifier_url: String,
    /// Sent by badge pages' status checks (see `Config::verifier_api_key`).
    pub verifier_api_key: Option<SecretString>,
    pub public_base: String,
    /// Whether earners are sent e-mail (`mail` is configured).
    pub mail_enabled: bool,
    /// The certificate font's path, and the font once loaded.
    /// The font the operator chose; `None`: the built-in IPAex Gothic.
    pub certificate_font_path: Option<String>,
    pub certificate_font: Arc<tokio::sync::OnceCell<Arc<CertificateFont>>>,
    /// Where the console reaches the admin APIs.
    pub issuer_url: String,
    pub lms_adapter_url: String,
    /// Badge images decoded or rendered once, then reused by every request.
    pub prepared_images: crate::routes::baked::PreparedImages,
}

/// Runs display until a stop signal.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let mut ctx = ServiceContext::start(crate::SERVICE, config.common.clone(), vec![&db::MIGRATIONS]).await?;
    let timeout = Duration::from_millis(config.upstream_timeout_ms);
    let http = reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(reqwest::redirect::Policy::limited(3))
        .user_agent(concat!("akashi-display/", env!("CARGO_PKG_VERSION")))
        .build()?;
    let urls = &config.common.public_urls;
    let state = AppState {
        pool: ctx.pool.clone(),
        http,
        verifier_url: config
            .verifier_internal_url
            .clone()
            .unwrap_or_else(|| urls.verifier.clone())
            .trim_end_matches('/')
            .to_string(),
        verifier_api_key: config.verifier_api_key.clone(),
        public_base: urls.display.trim_end_matches('/').to_string(),
        mail_enabled: config.mail.is_some(),
        certificate_font_path: config.certificate_font.clone(),
        certificate_font: Arc::new(tokio::sync::OnceCell::new()),
        prepared_images: crate::routes::baked::prepared_images(64 * 1024 * 1024),
        issuer_url: config
            .issuer_internal_url
            .clone()
            .unwrap_or_else(|| urls.issuer.clone())
            .trim_end_matches('/')
            .to_string(),
        lms_adapter_url: config
            .lms_adapter_internal_url
            .clone()
            .unwrap_or_else(|| urls.lms_adapter.clone())
            .trim_end_matches('/')
            .to_string(),
    };
    if let Some(mail) = &config.mail {
        let mailer = crate::mailer::Mailer::new(state.clone(), mail)?;
        ctx.spawn(move |shutdown| mailer.run(shutdown));
    }
    let s = state.clone();
    // A font the operator chose must be there: without it the service is
    // not ready (the built-in one needs nothing installed).
    if let Some(font) = config.certificate_font.clone() {
        ctx.add_readiness_check("certificate_font", move || {
            if std::path::Path::new(&font).is_file() {
                Ok(())
            } else {
                Err("the configured certificate font (AKASHI_DISPLAY_CERTIFICATE_FONT) is not a readable file".into())
            }
        });
    }
    ctx.consume(BadgeIssued::ROUTING_KEY, move |m| consumers::badge_issued(s.clone(), m));
    let s = state.clone();
    ctx.consume(BlockcertsIssued::ROUTING_KEY, move |m| {
        consumers::blockcerts_issued(s.clone(), m)
    });
    let s = state.clone();
    ctx.consume(BadgeRevoked::ROUTING_KEY, move |m| {
        consumers::badge_revoked(s.clone(), m)
    });
    let s = state.clone();
    ctx.consume(WebhookSubscriptionDisabled::ROUTING_KEY, move |m| {
        consumers::webhook_subscription_disabled(s.clone(), m)
    });
    let s = state.clone();
    ctx.consume(EarnerSignInRequested::ROUTING_KEY, move |m| {
        consumers::earner_signin_requested(s.clone(), m)
    });
    let s = state.clone();
    ctx.consume(AwardMailRequested::ROUTING_KEY, move |m| {
        consumers::award_mail_requested(s.clone(), m)
    });
    let s = state.clone();
    ctx.consume(EarnerPreferencesChanged::ROUTING_KEY, move |m| {
        consumers::earner_preferences_changed(s.clone(), m)
    });
    let s = state.clone();
    ctx.consume(IssuerPublished::ROUTING_KEY, move |m| {
        consumers::issuer_published(s.clone(), m)
    });
    let data = web::Data::new(state);
    ctx.serve(routes::openapi(), move |cfg| {
        cfg.app_data(data.clone());
        routes::configure(cfg);
        crate::console::configure(cfg);
    })
    .await
}
