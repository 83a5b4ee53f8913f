//! The console's client of the admin APIs (issuer and lms-adapter), with
//! the signed-in admin's own token: the console can do nothing the token
//! cannot, and every tenant and role check stays in the APIs.

use reqwest::Method;
use serde_json::Value;

/// Which service an admin call goes to.
#[derive(Debug, Clone, Copy)]
pub enum Service {
    Issuer,
    LmsAdapter,
}

/// An admin API's refusal or failure, shown to the admin as it came.
#[derive(Debug, thiserror::Error)]
pub enum ApiCallError {
    #[error("{status}: {message}")]
    Refused { status: u16, code: String, message: String },
    #[error("the admin API could not be reached: {0}")]
    Unreachable(String),
}

impl ApiCallError {
    /// The HTTP status to answer the browser with.
    pub fn status(&self) -> u16 {
        match self {
            ApiCallError::Refused { status, .. } => *status,
            ApiCallError::Unreachable(_) => 502,
        }
    }
}

/// Admin calls with one token.
pub struct AdminApi<'a> {
    pub http: &'a reqwest::Client,
    pub token: &'a str,
    pub issuer_url: &'a str,
    pub lms_url: &'a str,
}

impl AdminApi<'_> {
    fn url(&self, service: Service, path: &str) -> String {
        let base = match service {
            Service::Issuer => self.issuer_url,
            Service::LmsAdapter => self.lms_url,
        };
        format!("{base}{path}")
    }

    /// A call with an optional JSON body; the answer's JSON (or null).
    pub async fn call(
        &self,
        method: Method,
        service: Service,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, ApiCallError> {
        let mut request = self
            .http
            .request(method, self.url(service, path))
            .bearer_auth(self.token);
        if let Some(body) = body {
            request = request.json(body);
        }
        answer(request.send().await).await
    }

    /// GET.
    pub async fn get(&self, service: Service, path: &str) -> Result<Value, ApiCallError> {
        self.call(Method::GET, service, path, None).await
    }

    /// POST of a multipart form (badge class images).
    pub async fn post_multipart(
        &self,
        service: Service,
        path: &str,
        form: reqwest::multipart::Form,
    ) -> Result<Value, ApiCallError> {
        let request = self
            .http
            .post(self.url(service, path))
            .bearer_auth(self.token)
            .multipart(form);
        answer(request.send().await).await
    }
}

async fn answer(sent: Result<reqwest::Response, reqwest::Error>) -> Result<Value, ApiCallError> {
    let response = sent.map_err(|e| ApiCallError::Unreachable(e.to_string()))?;
    let status = response.status().as_u16();
    let text = response
        .text()
        .await
        .map_err(|e| ApiCallError::Unreachable(e.to_string()))?;
    let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    if (200..300).contains(&status) {
        return Ok(body);
    }
    Err(ApiCallError::Refused {
        status,
        code: body["error"]["code"].as_str().unwrap_or("error").to_string(),
        message: body["error"]["message"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| text.chars().take(300).collect()),
    })
}
