//! LTI Advantage services, called by the tool: an OAuth 2.0 access token by
//! client credentials with a signed JWT assertion (Security Framework §4),
//! then AGS results (scores that can count as completion) and NRPS rosters
//! (LMS user → e-mail). Every list is followed through its `Link: rel="next"`
//! pages, at most [`MAX_PAGES`].

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::{Value, json};

use super::keys::ActiveKey;
use crate::db::models::PlatformRow;

/// Most pages read from one list.
pub const MAX_PAGES: usize = 100;
/// Largest page read.
const MAX_PAGE_BYTES: usize = 4 * 1024 * 1024;

/// Why a service call failed.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("the platform's token endpoint refused: {0}")]
    Token(String),
    #[error("{url} answered {status}")]
    Status { url: String, status: u16 },
    #[error("{0}")]
    Transport(String),
    #[error("{0}")]
    Format(String),
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
}

/// Access tokens by (platform, scopes), until shortly before they expire.
#[derive(Default)]
pub struct TokenCache {
    tokens: Mutex<HashMap<(uuid::Uuid, String), (String, Instant)>>,
}

/// A line item (AGS).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct LineItem {
    pub id: String,
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub score_maximum: Option<f64>,
    #[serde(default)]
    pub resource_link_id: Option<String>,
    #[serde(default)]
    pub resource_id: Option<String>,
    #[serde(default)]
    pub tag: Option<String>,
}

/// A result (AGS).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ResultItem {
    pub id: Option<String>,
    pub user_id: String,
    #[serde(default)]
    pub result_score: Option<f64>,
    #[serde(default)]
    pub result_maximum: Option<f64>,
}

/// A member (NRPS).
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Member {
    pub user_id: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub roles: Vec<String>,
}

/// The client to one platform's services.
pub struct Services<'a> {
    pub http: &'a akashi_net::PolicedClient,
    pub platform: &'a PlatformRow,
    pub key: &'a ActiveKey,
    pub cache: &'a TokenCache,
}

impl Services<'_> {
    /// An access token for `scopes`, from the cache or the token endpoint.
    pub async fn token(&self, scopes: &[&str]) -> Result<String, ServiceError> {
        let scope = scopes.join(" ");
        let cache_key = (self.platform.id, scope.clone());
        if let Some((token, until)) = self.cache.tokens.lock().expect("token cache").get(&cache_key)
            && Instant::now() < *until
        {
            return Ok(token.clone());
        }
        let now = chrono::Utc::now().timestamp();
        let audience = self
            .platform
            .token_audience
            .clone()
            .unwrap_or_else(|| self.platform.token_url.clone());
        let assertion = self
            .key
            .signer
            .sign_jws(
                Some(&self.key.kid),
                Some("JWT"),
                &json!({
                    "iss": self.platform.client_id,
                    "sub": self.platform.client_id,
                    "aud": audience,
                    "iat": now,
                    "exp": now + 300,
                    "jti": uuid::Uuid::new_v4().to_string(),
                }),
            )
            .map_err(|e| ServiceError::Token(e.to_string()))?;
        let form = [
            ("grant_type", "client_credentials"),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", assertion.as_str()),
            ("scope", scope.as_str()),
        ];
        let response = self
            .http
            .post(&self.platform.token_url)
            .map_err(|e| ServiceError::Transport(e.to_string()))?
            .form(&form)
            .send()
            .await
            .map_err(|e| ServiceError::Transport(akashi_net::describe_for_caller(&e)))?;
        if !response.status().is_success() {
            let status = response.status().as_u16();
            let body = response.text().await.unwrap_or_default();
            return Err(ServiceError::Token(format!(
                "{status} {}",
                body.chars().take(300).collect::<String>()
            )));
        }
        let parsed: TokenResponse = response
            .json()
            .await
            .map_err(|e| ServiceError::Token(format!("not a token response: {e}")))?;
        // Renew a minute early so a token never expires mid-sync.
        let lifetime = parsed.expires_in.unwrap_or(3600).saturating_sub(60).max(1);
        self.cache.tokens.lock().expect("token cache").insert(
            cache_key,
            (
                parsed.access_token.clone(),
                Instant::now() + Duration::from_secs(lifetime),
            ),
        );
        Ok(parsed.access_token)
    }

    /// Every page of a list, as JSON values.
    async fn pages(&self, first: &str, accept: &str, token: &str) -> Result<Vec<Value>, ServiceError> {
        let mut url = Some(first.to_string());
        let mut pages = Vec::new();
        while let Some(current) = url.take() {
            if pages.len() >= MAX_PAGES {
                tracing::warn!(url = %first, "stopped after {MAX_PAGES} pages");
                break;
            }
            let response = self
                .http
                .get(&current)
                .map_err(|e| ServiceError::Transport(e.to_string()))?
                .bearer_auth(token)
                .header("Accept", accept)
                .send()
                .await
                .map_err(|e| ServiceError::Transport(akashi_net::describe_for_caller(&e)))?;
            if !response.status().is_success() {
                return Err(ServiceError::Status {
                    url: current,
                    status: response.status().as_u16(),
                });
            }
            url = response
                .headers()
                .get_all("Link")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .find_map(next_link);
            let bytes = response
                .bytes()
                .await
                .map_err(|e| ServiceError::Transport(e.to_string()))?;
            if bytes.len() > MAX_PAGE_BYTES {
                return Err(ServiceError::Format(format!(
                    "{current}: a page over {MAX_PAGE_BYTES} bytes"
                )));
            }
            pages.push(serde_json::from_slice(&bytes).map_err(|e| ServiceError::Format(format!("{current}: {e}")))?);
        }
        Ok(pages)
    }

    /// The context's line items.
    pub async fn line_items(&self, lineitems_url: &str) -> Result<Vec<LineItem>, ServiceError> {
        let token = self
            .token(&[super::SCOPE_LINEITEM_READ, super::SCOPE_RESULT_READ])
            .await?;
        let mut items = Vec::new();
        for page in self
            .pages(
                lineitems_url,
                "application/vnd.ims.lis.v2.lineitemcontainer+json",
                &token,
            )
            .await?
        {
            items.extend(
                serde_json::from_value::<Vec<LineItem>>(page)
                    .map_err(|e| ServiceError::Format(format!("line items: {e}")))?,
            );
        }
        Ok(items)
    }

    /// Every result of a line item.
    pub async fn results(&self, lineitem_url: &str) -> Result<Vec<ResultItem>, ServiceError> {
        let token = self
            .token(&[super::SCOPE_LINEITEM_READ, super::SCOPE_RESULT_READ])
            .await?;
        let mut results = Vec::new();
        for page in self
            .pages(
                &results_url(lineitem_url),
                "application/vnd.ims.lis.v2.resultcontainer+json",
                &token,
            )
            .await?
        {
            results.extend(
                serde_json::from_value::<Vec<ResultItem>>(page)
                    .map_err(|e| ServiceError::Format(format!("results: {e}")))?,
            );
        }
        Ok(results)
    }

    /// Every member of a context.
    pub async fn members(&self, memberships_url: &str) -> Result<Vec<Member>, ServiceError> {
        let token = self.token(&[super::SCOPE_NRPS]).await?;
        let mut members = Vec::new();
        for page in self
            .pages(
                memberships_url,
                "application/vnd.ims.lti-nrps.v2.membershipcontainer+json",
                &token,
            )
            .await?
        {
            let list = page
                .get("members")
                .cloned()
                .ok_or_else(|| ServiceError::Format("memberships: no members".into()))?;
            members.extend(
                serde_json::from_value::<Vec<Member>>(list)
                    .map_err(|e| ServiceError::Format(format!("members: {e}")))?,
            );
        }
        Ok(members)
    }
}

/// `{lineitem}/results`, keeping the line item URL's query after the path.
pub fn results_url(lineitem: &str) -> String {
    match lineitem.split_once('?') {
        Some((path, query)) => format!("{}/results?{query}", path.trim_end_matches('/')),
        None => format!("{}/results", lineitem.trim_end_matches('/')),
    }
}

/// The `rel="next"` target of a `Link` header value.
pub fn next_link(header: &str) -> Option<String> {
    header.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        let is_next = params
            .split(';')
            .any(|p| p.trim().replace(' ', "").eq_ignore_ascii_case("rel=\"next\"") || p.trim() == "rel=next");
        let target = target.trim().strip_prefix('<')?.strip_suffix('>')?;
        is_next.then(|| target.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_urls_and_next_links() {
        assert_eq!(results_url("https://p/li/7"), "https://p/li/7/results");
        assert_eq!(results_url("https://p/li/7?type=x"), "https://p/li/7/results?type=x");
        assert_eq!(
            next_link(r#"<https://p/m?page=2>; rel="next", <https://p/m?page=9>; rel="last""#).as_deref(),
            Some("https://p/m?page=2")
        );
        assert_eq!(next_link(r#"<https://p/m?since=1>; rel="differences""#), None);
    }

    #[test]
    fn the_research_sample_parses_as_results() {
        let raw = std::fs::read(format!(
            "{}/tests/samples/lti_ags_results.json",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        let results: Vec<ResultItem> = serde_json::from_slice(&raw).unwrap();
        assert_eq!(results[0].result_score, Some(92.0));
        assert_eq!(results[0].user_id, "a6d5c443-1f51-4783-ba1a-7686ffe3b54a");
    }
}
