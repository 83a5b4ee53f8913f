//! Display's configuration (see `akashi_runtime::config` for the layering).

use akashi_runtime::CommonConfig;
use secrecy::SecretString;
use serde::Deserialize;

/// Display settings.
#[derive(Debug, Clone, Deserialize)]
pub struct Config {
    #[serde(flatten)]
    pub common: CommonConfig,
    /// How display reaches the verifier, if not at its public URL.
    pub verifier_internal_url: Option<String>,
    /// How the admin console reaches the issuer and the lms-adapter admin
    /// APIs, if not at their public URLs.
    pub issuer_internal_url: Option<String>,
    pub lms_adapter_internal_url: Option<String>,
    /// The verifier API key badge pages verify with
    /// (`AKASHI_DISPLAY_VERIFIER_API_KEY`), so that their live status checks
    /// are not counted against the anonymous per-address limit. The public
    /// verify page never uses it: its visitors are anonymous callers.
    pub verifier_api_key: Option<SecretString>,
    /// E-mail to earners on award and revocation (`AKASHI_DISPLAY_MAIL__*`);
    /// none is sent without it.
    #[serde(default)]
    pub mail: Option<MailConfig>,
    /// Time limit for each call to host or the verifier.
    #[serde(default = "default_upstream_timeout_ms")]
    pub upstream_timeout_ms: u64,
    /// A TrueType/OpenType font with Japanese glyphs for printable
    /// certificates (`AKASHI_DISPLAY_CERTIFICATE_FONT`). Unset: IPAex
    /// Gothic, built into display (see `fonts/README.md`).
    #[serde(default)]
    pub certificate_font: Option<String>,
}

/// Where mail goes out.
#[derive(Debug, Clone, Deserialize)]
pub struct MailConfig {
    /// `smtp://host:port` (plain, for a local relay), `smtp://…?tls=required`
    /// (STARTTLS) or `smtps://user:password@host` (TLS); lettre's URL form.
    pub smtp_url: SecretString,
    /// The sender, e.g. `Akashi Badges <badges@university.example>`.
    #[serde(default = "default_mail_from")]
    pub from: String,
}

fn default_mail_from() -> String {
    "Akashi <badges@akashi.example>".into()
}

fn default_upstream_timeout_ms() -> u64 {
    5_000
}

impl Config {
    /// Defaults, `AKASHI_CONFIG` file, then the environment.
    pub fn load() -> anyhow::Result<Self> {
        Ok(akashi_runtime::config::load(crate::SERVICE, 8083)?)
    }
}
