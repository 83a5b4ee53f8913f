//! LTI Dynamic Registration 1.0, the tool side: the platform opens our
//! registration URL with `openid_configuration` (and a `registration_token`);
//! we read the platform's configuration, register ourselves at its
//! registration endpoint, and keep the client_id (and deployment) it gives.

use serde::Deserialize;
use serde_json::{Value, json};

/// Why a registration failed.
#[derive(Debug, thiserror::Error)]
pub enum RegistrationError {
    #[error("the platform's configuration could not be read: {0}")]
    Configuration(String),
    #[error("the platform refused the registration: {0}")]
    Refused(String),
}

/// The parts of the platform's OpenID configuration the tool needs.
#[derive(Debug, Clone, Deserialize)]
pub struct PlatformConfiguration {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
    pub registration_endpoint: String,
    #[serde(default, rename = "https://purl.imsglobal.org/spec/lti-platform-configuration")]
    pub lti: Option<Value>,
}

impl PlatformConfiguration {
    /// `moodle`, `canvas`, … as the platform names its product.
    pub fn product_family(&self) -> Option<String> {
        self.lti
            .as_ref()?
            .get("product_family_code")?
            .as_str()
            .map(str::to_ascii_lowercase)
    }
}

/// Reads the configuration; its `issuer` must be a prefix of the URL it came
/// from (the spec's check that the configuration is the issuer's own).
pub async fn fetch_configuration(
    http: &akashi_net::PolicedClient,
    url: &str,
) -> Result<PlatformConfiguration, RegistrationError> {
    let response = http
        .get(url)
        .map_err(|e| RegistrationError::Configuration(format!("refused by the address policy: {e}")))?
        .header("Accept", "application/json")
        .send()
        .await
        // Never the transport's own words: "connection refused" against
        // "timed out" would tell open ports from closed ones.
        .map_err(|e| RegistrationError::Configuration(akashi_net::describe_for_caller(&e)))?;
    if !response.status().is_success() {
        return Err(RegistrationError::Configuration(format!(
            "{url} answered {}",
            response.status()
        )));
    }
    let config: PlatformConfiguration = response
        .json()
        .await
        .map_err(|e| RegistrationError::Configuration(format!("not an OpenID configuration: {e}")))?;
    if !url.starts_with(config.issuer.trim_end_matches('/')) {
        return Err(RegistrationError::Configuration(format!(
            "issuer {:?} is not a prefix of the configuration URL",
            config.issuer
        )));
    }
    Ok(config)
}

/// The tool's registration request.
pub fn tool_registration(public_url: &str) -> Value {
    let host = url::Url::parse(public_url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_default();
    let scope = [super::SCOPE_LINEITEM_READ, super::SCOPE_RESULT_READ, super::SCOPE_NRPS].join(" ");
    json!({
        "application_type": "web",
        "response_types": ["id_token"],
        "grant_types": ["implicit", "client_credentials"],
        "initiate_login_uri": format!("{public_url}/lti/login"),
        "redirect_uris": [format!("{public_url}/lti/launch")],
        "client_name": "Akashi",
        "client_name#ja": "Akashi (証)",
        "jwks_uri": format!("{public_url}/lti/jwks"),
        "token_endpoint_auth_method": "private_key_jwt",
        "scope": scope,
        "https://purl.imsglobal.org/spec/lti-tool-configuration": {
            "domain": host,
            "target_link_uri": format!("{public_url}/lti/launch"),
            "description": "Open Badges for what learners complete",
            "claims": ["iss", "sub", "name", "email", "given_name", "family_name"],
            "messages": [
                {"type": "LtiResourceLinkRequest", "label": "My badges", "label#ja": "わたしのバッジ"},
                {"type": "LtiDeepLinkingRequest", "target_link_uri": format!("{public_url}/lti/launch"),
                 "label": "Place a badge", "label#ja": "バッジを配置"}
            ],
            "custom_parameters": {"canvas_user_id": "$Canvas.user.id", "course_id": "$Context.id"}
        }
    })
}

/// What the platform answered.
#[derive(Debug, Clone, PartialEq)]
pub struct Registered {
    pub client_id: String,
    pub deployment_id: Option<String>,
}

/// Posts the registration.
pub async fn register(
    http: &akashi_net::PolicedClient,
    endpoint: &str,
    registration_token: Option<&str>,
    body: &Value,
) -> Result<Registered, RegistrationError> {
    let mut request = http
        .post(endpoint)
        .map_err(|e| RegistrationError::Refused(format!("refused by the address policy: {e}")))?
        .json(body);
    if let Some(token) = registration_token {
        request = request.bearer_auth(token);
    }
    let response = request
        .send()
        .await
        .map_err(|e| RegistrationError::Refused(akashi_net::describe_for_caller(&e)))?;
    if !response.status().is_success() {
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        return Err(RegistrationError::Refused(format!(
            "{status} {}",
            text.chars().take(300).collect::<String>()
        )));
    }
    let answer: Value = response
        .json()
        .await
        .map_err(|e| RegistrationError::Refused(format!("not JSON: {e}")))?;
    let client_id = answer
        .get("client_id")
        .and_then(Value::as_str)
        .ok_or_else(|| RegistrationError::Refused("no client_id in the answer".into()))?
        .to_string();
    let deployment_id = answer
        .pointer("/https:~1~1purl.imsglobal.org~1spec~1lti-tool-configuration/deployment_id")
        .and_then(|v| match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        });
    Ok(Registered {
        client_id,
        deployment_id,
    })
}
