//! Who may post to a webhook source, and how each proves it.
//!
//! LMSs authenticate in their own ways (`../docs/integrations.md`):
//!
//! | source | accepted credentials |
//! |---|---|
//! | generic | `X-Akashi-Signature` (HMAC of timestamp and body) |
//! | moodle | the `token` inside the body (local_webhooks), or `X-Akashi-Signature` |
//! | canvas | a body that is a JWT signed by a key in the source's JWKS ("Sign Payload"), or `Authorization: Bearer`, or `X-Akashi-Signature` |
//! | xapi | `Authorization: Basic` (the password is the secret, as LRSs forward), `Bearer`, or `X-Akashi-Signature` |
//! | caliper, openedx | `Authorization: Bearer`, or `X-Akashi-Signature` |
//!
//! A presented credential that is wrong refuses the delivery even if another
//! would have been right. Every comparison is constant-time; nothing is
//! parsed for its meaning before it is authenticated, except the Moodle body
//! that carries its own token.

use akashi_crypto::token::constant_time_eq;
use akashi_crypto::webhook::{self, SignatureError};
use base64::Engine;
use jsonwebtoken::{Algorithm, Validation};
use serde_json::Value;

use crate::jwks::{JwksCache, JwksError};

/// Why a delivery is refused (401; nothing is stored).
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum AuthError {
    #[error("signature_missing: this source needs {0}")]
    Missing(&'static str),
    #[error("signature_malformed: {0}")]
    Malformed(String),
    #[error("signature_stale: the delivery is older (or further ahead) than {0} s")]
    Stale(i64),
    #[error("signature_mismatch: the signature or token does not match any of the source's secrets")]
    Mismatch,
    #[error("jwt_invalid: {0}")]
    Jwt(String),
}

impl From<SignatureError> for AuthError {
    fn from(e: SignatureError) -> Self {
        match e {
            SignatureError::Missing => AuthError::Missing("X-Akashi-Signature"),
            SignatureError::Malformed(m) => AuthError::Malformed(m.to_string()),
            SignatureError::Stale(t) => AuthError::Stale(t),
            SignatureError::Mismatch => AuthError::Mismatch,
        }
    }
}

/// The credentials a delivery presented.
#[derive(Debug, Default)]
pub struct Presented<'a> {
    pub signature: Option<&'a str>,
    pub authorization: Option<&'a str>,
}

/// What a source accepts besides the HMAC signature.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Extra {
    None,
    Bearer,
    BasicOrBearer,
}

/// The extra credential each source accepts.
pub fn extra_for(source: &str) -> Extra {
    match source {
        "xapi" => Extra::BasicOrBearer,
        "canvas" | "caliper" | "openedx" => Extra::Bearer,
        _ => Extra::None,
    }
}

/// Checks the header credentials of a delivery: the HMAC signature if
/// present, else an `Authorization` header the source accepts. `Ok(false)`:
/// no header credential was presented (the caller may still accept a body
/// credential: Moodle's token, Canvas's JWT).
pub fn check_headers(
    presented: &Presented<'_>,
    extra: Extra,
    body: &[u8],
    secrets: &[String],
    now: i64,
    tolerance: i64,
) -> Result<bool, AuthError> {
    if let Some(signature) = presented.signature {
        webhook::verify(Some(signature), body, secrets, now, tolerance)?;
        return Ok(true);
    }
    let Some(authorization) = presented.authorization else {
        return Ok(false);
    };
    let (scheme, value) = authorization
        .split_once(' ')
        .ok_or_else(|| AuthError::Malformed("Authorization: expected `<scheme> <credentials>`".into()))?;
    let secret = match (scheme.to_ascii_lowercase().as_str(), extra) {
        ("bearer", Extra::Bearer | Extra::BasicOrBearer) => value.trim().to_string(),
        ("basic", Extra::BasicOrBearer) => {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(value.trim())
                .map_err(|_| AuthError::Malformed("Authorization: Basic credentials are not base64".into()))?;
            let text = String::from_utf8(decoded)
                .map_err(|_| AuthError::Malformed("Authorization: Basic credentials are not UTF-8".into()))?;
            let (_, password) = text
                .split_once(':')
                .ok_or_else(|| AuthError::Malformed("Authorization: Basic needs user:password".into()))?;
            password.to_string()
        }
        _ => {
            return Err(AuthError::Malformed(format!(
                "Authorization: the {scheme} scheme is not accepted by this source"
            )));
        }
    };
    if matches_a_secret(&secret, secrets) {
        Ok(true)
    } else {
        Err(AuthError::Mismatch)
    }
}

/// Whether `candidate` equals one of `secrets` (constant-time per secret).
pub fn matches_a_secret(candidate: &str, secrets: &[String]) -> bool {
    // Every secret is compared, so timing says nothing about which matched.
    secrets
        .iter()
        .fold(false, |hit, s| constant_time_eq(candidate, s) | hit)
}

/// Whether a body is a compact JWS (Canvas "Sign Payload") rather than JSON.
pub fn looks_like_jwt(body: &[u8]) -> bool {
    let trimmed = body.trim_ascii();
    trimmed.starts_with(b"eyJ") && trimmed.iter().filter(|b| **b == b'.').count() == 2
}

/// Verifies a signed Canvas payload against the source's JWKS and returns
/// its claims (the Live Event). RS256 only; `exp` is enforced; without
/// `exp`, `iat` must be within the tolerance.
pub async fn verify_canvas_jwt(
    body: &[u8],
    jwks: &JwksCache,
    jwks_url: &str,
    now: i64,
    tolerance: i64,
) -> Result<Value, AuthError> {
    let token = std::str::from_utf8(body.trim_ascii()).map_err(|_| AuthError::Jwt("not UTF-8".into()))?;
    let header = jsonwebtoken::decode_header(token).map_err(|e| AuthError::Jwt(format!("header: {e}")))?;
    if header.alg != Algorithm::RS256 {
        return Err(AuthError::Jwt(format!(
            "alg {:?} is not accepted; RS256 only",
            header.alg
        )));
    }
    let kid = header
        .kid
        .filter(|k| !k.is_empty())
        .ok_or_else(|| AuthError::Jwt("the header has no kid".into()))?;
    let key = jwks.key(jwks_url, &kid).await.map_err(|e| match e {
        JwksError::UnknownKid(_) | JwksError::BadKey(_) => AuthError::Jwt(e.to_string()),
        JwksError::Fetch(_) => AuthError::Jwt(e.to_string()),
    })?;
    let mut validation = Validation::new(Algorithm::RS256);
    validation.required_spec_claims.clear();
    validation.validate_exp = true;
    validation.validate_aud = false;
    validation.leeway = 60;
    let data = jsonwebtoken::decode::<Value>(token, &key, &validation).map_err(|e| AuthError::Jwt(e.to_string()))?;
    let claims = data.claims;
    let iat = claims.get("iat").and_then(Value::as_i64);
    let exp = claims.get("exp").and_then(Value::as_i64);
    match (iat, exp) {
        (Some(iat), _) if iat > now + 60 => return Err(AuthError::Jwt("iat is in the future".into())),
        (Some(iat), None) if now - iat > tolerance => return Err(AuthError::Stale(tolerance)),
        (None, None) => return Err(AuthError::Jwt("the payload has neither exp nor iat".into())),
        _ => {}
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secrets() -> Vec<String> {
        vec!["old-secret-1".into(), "new-secret-2".into()]
    }

    #[test]
    fn bearer_and_basic_take_any_current_secret() {
        let bearer = Presented {
            authorization: Some("Bearer new-secret-2"),
            ..Presented::default()
        };
        assert_eq!(
            check_headers(&bearer, Extra::Bearer, b"{}", &secrets(), 0, 300),
            Ok(true)
        );
        let basic = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("lrs:old-secret-1")
        );
        let basic = Presented {
            authorization: Some(&basic),
            ..Presented::default()
        };
        assert_eq!(
            check_headers(&basic, Extra::BasicOrBearer, b"{}", &secrets(), 0, 300),
            Ok(true)
        );
        assert!(
            matches!(
                check_headers(&basic, Extra::Bearer, b"{}", &secrets(), 0, 300),
                Err(AuthError::Malformed(_))
            ),
            "caliper takes no Basic"
        );
        let wrong = Presented {
            authorization: Some("Bearer nope"),
            ..Presented::default()
        };
        assert_eq!(
            check_headers(&wrong, Extra::Bearer, b"{}", &secrets(), 0, 300),
            Err(AuthError::Mismatch)
        );
        assert_eq!(
            check_headers(&Presented::default(), Extra::Bearer, b"{}", &secrets(), 0, 300),
            Ok(false)
        );
    }

    #[test]
    fn a_wrong_signature_is_not_rescued_by_a_right_token() {
        let p = Presented {
            signature: Some("t=100,v1=00"),
            authorization: Some("Bearer new-secret-2"),
        };
        assert!(check_headers(&p, Extra::Bearer, b"{}", &secrets(), 100, 300).is_err());
        let good = webhook::signature_header(b"new-secret-2", 100, b"{}");
        let p = Presented {
            signature: Some(&good),
            authorization: None,
        };
        assert_eq!(check_headers(&p, Extra::None, b"{}", &secrets(), 100, 300), Ok(true));
        assert_eq!(
            check_headers(&p, Extra::None, b"{}", &secrets(), 1000, 300),
            Err(AuthError::Stale(300))
        );
    }

    #[test]
    fn jwt_bodies_are_recognised() {
        assert!(looks_like_jwt(b"eyJhbGciOiJSUzI1NiJ9.eyJ9.sig\n"));
        assert!(!looks_like_jwt(b"{\"metadata\": {}}"));
    }
}
