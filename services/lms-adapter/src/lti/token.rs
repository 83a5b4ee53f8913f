//! The platform's id_token, validated exactly as LTI Core §5 and the
//! Security Framework §5.1.3 ask: RS256 only, the platform's key by `kid`,
//! `iss`, `aud` (and `azp`), `exp` and `iat` with a small skew, the nonce of
//! this login, a registered deployment, version 1.3.0, a known message type
//! and what that message type requires.

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;

use super::{AGS_CLAIM, CLAIM, DL_CLAIM, NRPS_CLAIM};

/// Skew allowed on `exp` and `iat`, seconds.
pub const SKEW_SECS: i64 = 60;
/// Oldest `iat` accepted, seconds (a login lives 10 minutes).
pub const MAX_AGE_SECS: i64 = 600;

/// Why an id_token is refused. Every variant is a 401 with its own code.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum TokenError {
    #[error("the id_token is not a JWS: {0}")]
    Malformed(String),
    #[error("alg {0} is not accepted: RS256 only")]
    Algorithm(String),
    #[error("the id_token's header has no kid")]
    NoKid,
    #[error("{0}")]
    Key(String),
    #[error("the signature does not verify")]
    Signature,
    #[error("the id_token has expired")]
    Expired,
    #[error("iss is not the registered platform issuer")]
    Issuer,
    #[error("aud does not contain the tool's client_id")]
    Audience,
    #[error("azp is missing or is not the tool's client_id")]
    AuthorizedParty,
    #[error("iat: {0}")]
    IssuedAt(String),
    #[error("the nonce is not the one this login issued")]
    Nonce,
    #[error("deployment_id {0:?} is not registered for this platform")]
    Deployment(String),
    #[error("version must be 1.3.0")]
    Version,
    #[error("message_type missing or not LtiResourceLinkRequest / LtiDeepLinkingRequest")]
    MessageType,
    #[error("a resource link launch needs resource_link.id and target_link_uri")]
    ResourceLink,
    #[error("{0}")]
    Claim(String),
}

impl TokenError {
    /// The machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            TokenError::Malformed(_) => "id_token_malformed",
            TokenError::Algorithm(_) => "id_token_alg",
            TokenError::NoKid | TokenError::Key(_) => "id_token_key",
            TokenError::Signature => "id_token_signature",
            TokenError::Expired => "id_token_expired",
            TokenError::Issuer => "id_token_iss",
            TokenError::Audience => "id_token_aud",
            TokenError::AuthorizedParty => "id_token_azp",
            TokenError::IssuedAt(_) => "id_token_iat",
            TokenError::Nonce => "id_token_nonce",
            TokenError::Deployment(_) => "id_token_deployment",
            TokenError::Version => "id_token_version",
            TokenError::MessageType => "id_token_message_type",
            TokenError::ResourceLink => "id_token_resource_link",
            TokenError::Claim(_) => "id_token_claim",
        }
    }
}

/// What the tool expects of this launch.
pub struct Expected<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub deployment_ids: &'a [String],
    pub nonce: &'a str,
    pub now: i64,
}

/// The launch message type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageType {
    ResourceLink,
    DeepLinking,
}

/// A course context.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Context {
    pub id: String,
    pub label: Option<String>,
    pub title: Option<String>,
}

/// Deep linking settings of a DeepLinkingRequest.
#[derive(Debug, Clone, PartialEq)]
pub struct DeepLinkSettings {
    pub return_url: String,
    pub data: Option<String>,
    pub accept_types: Vec<String>,
    pub accept_multiple: bool,
}

/// A validated launch.
#[derive(Debug, Clone, PartialEq)]
pub struct Launch {
    pub message_type: MessageType,
    pub sub: Option<String>,
    pub deployment_id: String,
    pub email: Option<String>,
    pub name: Option<String>,
    pub locale: Option<String>,
    pub roles: Vec<String>,
    pub context: Option<Context>,
    pub resource_link_id: Option<String>,
    pub deep_linking: Option<DeepLinkSettings>,
    /// AGS: the line items URL and the scopes granted.
    pub lineitems_url: Option<String>,
    pub ags_scopes: Vec<String>,
    /// NRPS: the context memberships URL.
    pub memberships_url: Option<String>,
    /// The `custom` claim.
    pub custom: Value,
}

/// The `kid` of a token whose header is acceptable (checked before any key
/// is fetched: `alg` must be RS256).
pub fn header_kid(token: &str) -> Result<String, TokenError> {
    // jsonwebtoken refuses to parse `alg: none`; read the header ourselves so
    // the refusal says what it is.
    let header_part = token.split('.').next().unwrap_or_default();
    let raw = base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, header_part)
        .map_err(|_| TokenError::Malformed("the header is not base64url".into()))?;
    let header: Value =
        serde_json::from_slice(&raw).map_err(|_| TokenError::Malformed("the header is not JSON".into()))?;
    match header.get("alg").and_then(Value::as_str) {
        Some("RS256") => {}
        Some(other) => return Err(TokenError::Algorithm(other.to_string())),
        None => return Err(TokenError::Algorithm("(missing)".into())),
    }
    header
        .get("kid")
        .and_then(Value::as_str)
        .filter(|k| !k.is_empty())
        .map(str::to_owned)
        .ok_or(TokenError::NoKid)
}

fn claim<'a>(claims: &'a Value, name: &str) -> Option<&'a Value> {
    claims.get(format!("{CLAIM}{name}"))
}

fn text(value: Option<&Value>) -> Option<String> {
    value
        .and_then(Value::as_str)
        .map(str::to_owned)
        .filter(|s| !s.is_empty())
}

/// Validates `token` against the platform's key and this login.
pub fn validate(token: &str, key: &DecodingKey, expected: &Expected<'_>) -> Result<Launch, TokenError> {
    header_kid(token)?;
    let mut validation = Validation::new(Algorithm::RS256);
    validation.leeway = SKEW_SECS as u64;
    validation.validate_exp = true;
    validation.validate_nbf = true;
    validation.set_issuer(&[expected.issuer]);
    validation.set_audience(&[expected.client_id]);
    validation.set_required_spec_claims(&["exp", "iat", "iss", "aud"]);
    let claims = jsonwebtoken::decode::<Value>(token, key, &validation)
        .map_err(|e| match e.kind() {
            ErrorKind::InvalidSignature => TokenError::Signature,
            ErrorKind::ExpiredSignature => TokenError::Expired,
            ErrorKind::InvalidIssuer => TokenError::Issuer,
            ErrorKind::InvalidAudience => TokenError::Audience,
            ErrorKind::ImmatureSignature => TokenError::IssuedAt("nbf is in the future".into()),
            ErrorKind::InvalidAlgorithm => TokenError::Algorithm("mismatch".into()),
            ErrorKind::MissingRequiredClaim(c) => TokenError::Claim(format!("{c} is required")),
            _ => TokenError::Malformed(e.to_string()),
        })?
        .claims;
    // azp: required when there are several audiences; when present, ours.
    let several = claims.get("aud").and_then(Value::as_array).is_some_and(|a| a.len() > 1);
    match claims.get("azp").and_then(Value::as_str) {
        Some(azp) if azp != expected.client_id => return Err(TokenError::AuthorizedParty),
        None if several => return Err(TokenError::AuthorizedParty),
        _ => {}
    }
    let iat = claims
        .get("iat")
        .and_then(Value::as_i64)
        .ok_or_else(|| TokenError::IssuedAt("not a number".into()))?;
    if iat > expected.now + SKEW_SECS {
        return Err(TokenError::IssuedAt("in the future".into()));
    }
    if expected.now - iat > MAX_AGE_SECS {
        return Err(TokenError::IssuedAt(format!("older than {MAX_AGE_SECS} s")));
    }
    match claims.get("nonce").and_then(Value::as_str) {
        Some(n) if akashi_crypto::token::constant_time_eq(n, expected.nonce) => {}
        _ => return Err(TokenError::Nonce),
    }
    let deployment_id = text(claim(&claims, "deployment_id")).ok_or_else(|| TokenError::Deployment(String::new()))?;
    if !expected.deployment_ids.contains(&deployment_id) {
        return Err(TokenError::Deployment(deployment_id));
    }
    if claim(&claims, "version").and_then(Value::as_str) != Some("1.3.0") {
        return Err(TokenError::Version);
    }
    let message_type = match claim(&claims, "message_type").and_then(Value::as_str) {
        Some("LtiResourceLinkRequest") => MessageType::ResourceLink,
        Some("LtiDeepLinkingRequest") => MessageType::DeepLinking,
        _ => return Err(TokenError::MessageType),
    };
    let roles = claim(&claims, "roles")
        .and_then(Value::as_array)
        .ok_or_else(|| TokenError::Claim("roles is required (it may be empty)".into()))?
        .iter()
        .filter_map(|r| r.as_str().map(str::to_owned))
        .collect();
    let resource_link_id = text(claim(&claims, "resource_link").and_then(|r| r.get("id")));
    let deep_linking = match message_type {
        MessageType::ResourceLink => {
            if resource_link_id.is_none() || text(claim(&claims, "target_link_uri")).is_none() {
                return Err(TokenError::ResourceLink);
            }
            None
        }
        MessageType::DeepLinking => {
            let settings = claims
                .get(format!("{DL_CLAIM}deep_linking_settings"))
                .ok_or_else(|| TokenError::Claim("deep_linking_settings is required".into()))?;
            Some(DeepLinkSettings {
                return_url: text(settings.get("deep_link_return_url"))
                    .ok_or_else(|| TokenError::Claim("deep_link_return_url is required".into()))?,
                data: text(settings.get("data")),
                accept_types: settings
                    .get("accept_types")
                    .and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(|t| t.as_str().map(str::to_owned)).collect())
                    .unwrap_or_default(),
                accept_multiple: settings
                    .get("accept_multiple")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
            })
        }
    };
    let context = claim(&claims, "context").and_then(|c| {
        Some(Context {
            id: text(c.get("id"))?,
            label: text(c.get("label")),
            title: text(c.get("title")),
        })
    });
    let ags = claims.get(AGS_CLAIM);
    Ok(Launch {
        message_type,
        sub: text(claims.get("sub")),
        deployment_id,
        email: text(claims.get("email")),
        name: text(claims.get("name")),
        locale: text(claim(&claims, "launch_presentation").and_then(|p| p.get("locale"))),
        roles,
        context,
        resource_link_id,
        deep_linking,
        lineitems_url: text(ags.and_then(|a| a.get("lineitems"))),
        ags_scopes: ags
            .and_then(|a| a.get("scope"))
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_owned)).collect())
            .unwrap_or_default(),
        memberships_url: text(claims.get(NRPS_CLAIM).and_then(|n| n.get("context_memberships_url"))),
        custom: claim(&claims, "custom").cloned().unwrap_or(Value::Null),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use akashi_crypto::keys::{RsaSigner, generate_rsa_2048};
    use serde_json::json;

    fn claims() -> Value {
        json!({
            "iss": "https://lms.example.edu", "aud": "client-1", "sub": "317",
            "exp": 0, "iat": 0, "nonce": "n-1",
            "https://purl.imsglobal.org/spec/lti/claim/deployment_id": "dep-1",
            "https://purl.imsglobal.org/spec/lti/claim/version": "1.3.0",
            "https://purl.imsglobal.org/spec/lti/claim/message_type": "LtiResourceLinkRequest",
            "https://purl.imsglobal.org/spec/lti/claim/roles": [],
            "https://purl.imsglobal.org/spec/lti/claim/resource_link": {"id": "rl-1"},
            "https://purl.imsglobal.org/spec/lti/claim/target_link_uri": "https://tool/lti/launch",
        })
    }

    #[test]
    fn a_good_launch_and_each_claim_it_depends_on() {
        // jsonwebtoken checks exp against the real clock; sign with times around now.
        let now = chrono::Utc::now().timestamp();
        let signer = RsaSigner::from_pkcs8_der(&generate_rsa_2048().unwrap()).unwrap();
        let base = {
            let mut c = claims();
            c["iat"] = json!(now);
            c["exp"] = json!(now + 300);
            c
        };
        let other = RsaSigner::from_pkcs8_der(&generate_rsa_2048().unwrap()).unwrap();
        let signed_by = |by: &RsaSigner, c: &Value| {
            let token = by.sign_jws(Some("k1"), Some("JWT"), c).unwrap();
            let p = signer.public();
            let key = DecodingKey::from_rsa_components(&p.n, &p.e).unwrap();
            let deployments = vec!["dep-1".to_string()];
            validate(
                &token,
                &key,
                &Expected {
                    issuer: "https://lms.example.edu",
                    client_id: "client-1",
                    deployment_ids: &deployments,
                    nonce: "n-1",
                    now,
                },
            )
        };
        let at_now = |c: &Value| signed_by(&signer, c);
        let launch = at_now(&base).unwrap();
        assert_eq!(launch.message_type, MessageType::ResourceLink);
        assert_eq!(launch.sub.as_deref(), Some("317"));
        let with = |path: &str, v: Value| {
            let mut c = base.clone();
            if v.is_null() {
                c.as_object_mut().unwrap().remove(path);
            } else {
                c[path] = v;
            }
            at_now(&c).unwrap_err()
        };
        assert_eq!(with("exp", json!(now - 120)), TokenError::Expired);
        assert!(matches!(with("iat", json!(now + 600)), TokenError::IssuedAt(_)));
        assert!(matches!(with("iat", json!(now - 3600)), TokenError::IssuedAt(_)));
        assert_eq!(with("iss", json!("https://evil")), TokenError::Issuer);
        assert_eq!(with("aud", json!("other")), TokenError::Audience);
        assert_eq!(with("aud", json!(["client-1", "other"])), TokenError::AuthorizedParty);
        assert_eq!(with("azp", json!("other")), TokenError::AuthorizedParty);
        assert_eq!(with("nonce", json!("n-2")), TokenError::Nonce);
        assert_eq!(
            with(&format!("{CLAIM}deployment_id"), json!("dep-9")),
            TokenError::Deployment("dep-9".into())
        );
        assert_eq!(with(&format!("{CLAIM}version"), json!("1.1")), TokenError::Version);
        assert_eq!(
            with(&format!("{CLAIM}message_type"), Value::Null),
            TokenError::MessageType
        );
        assert_eq!(
            with(&format!("{CLAIM}resource_link"), Value::Null),
            TokenError::ResourceLink
        );
        let mut multi = base.clone();
        multi["aud"] = json!(["client-1", "other"]);
        multi["azp"] = json!("client-1");
        assert!(at_now(&multi).is_ok(), "several audiences with our azp");
        assert_eq!(
            signed_by(&other, &base).unwrap_err(),
            TokenError::Signature,
            "another key's signature"
        );
    }

    #[test]
    fn only_rs256_headers_pass() {
        let none = "eyJhbGciOiJub25lIiwia2lkIjoiazEifQ.eyJpc3MiOiJ4In0.";
        assert_eq!(header_kid(none), Err(TokenError::Algorithm("none".into())));
        let hs = jsonwebtoken::encode(
            &jsonwebtoken::Header {
                kid: Some("k1".into()),
                ..jsonwebtoken::Header::new(Algorithm::HS256)
            },
            &json!({}),
            &jsonwebtoken::EncodingKey::from_secret(b"public key pem"),
        )
        .unwrap();
        assert_eq!(header_kid(&hs), Err(TokenError::Algorithm("HS256".into())));
        let no_kid = jsonwebtoken::encode(
            &jsonwebtoken::Header::new(Algorithm::HS256),
            &json!({}),
            &jsonwebtoken::EncodingKey::from_secret(b"x"),
        )
        .unwrap();
        assert!(header_kid(&no_kid).is_err());
    }
}
