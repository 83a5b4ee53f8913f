//! Outbound HTTP to addresses that callers or administrators give us.
//!
//! Every service that fetches a URL it did not choose itself (the
//! verifier's credentials, an LTI platform's OpenID configuration and JWKS,
//! a Canvas instance's API, outgoing webhooks) does it through [`client`],
//! so that one [`NetPolicy`] decides where requests may go: http(s) only,
//! and no private, loopback, link-local or otherwise special address unless
//! its host is allow-listed — checked on the addresses a name resolves to,
//! at connection time, so that DNS rebinding cannot slip past it.

mod policy;

pub use policy::{NetPolicy, PolicyError, is_public};

use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Resolves names, then keeps only the addresses the policy allows.
struct PolicyResolver {
    policy: Arc<NetPolicy>,
}

impl Resolve for PolicyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy.clone();
        Box::pin(async move {
            let host = name.as_str().to_string();
            let addrs: Vec<std::net::SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed = policy.filter_resolved(&host, addrs)?;
            let addrs: Addrs = Box::new(allowed.into_iter());
            Ok(addrs)
        })
    }
}

/// How a policed client behaves besides the address policy.
pub struct ClientOptions {
    /// Bounds connecting and each whole request.
    pub timeout: Duration,
    /// `User-Agent`.
    pub user_agent: &'static str,
    /// Redirects followed (each target checked by the policy); 0 follows none.
    pub max_redirects: usize,
}

/// A client whose every connection obeys `policy`, and whose redirects
/// (at most `max_redirects`) are checked by it too.
pub fn client(policy: Arc<NetPolicy>, options: ClientOptions) -> reqwest::Result<reqwest::Client> {
    let redirect_policy = policy.clone();
    let max_redirects = options.max_redirects;
    let redirects = if max_redirects == 0 {
        reqwest::redirect::Policy::none()
    } else {
        reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() >= max_redirects {
                return attempt.error(format!("more than {max_redirects} redirects"));
            }
            match redirect_policy.check_url(attempt.url()) {
                Ok(()) => attempt.follow(),
                Err(e) => attempt.error(e),
            }
        })
    };
    reqwest::Client::builder()
        .dns_resolver(PolicyResolver { policy })
        .redirect(redirects)
        .timeout(options.timeout)
        .connect_timeout(options.timeout)
        .user_agent(options.user_agent)
        .build()
}

/// A client that obeys the policy for every request it builds.
///
/// A name is checked when it resolves (see [`client`]); an IP literal
/// (`http://127.0.0.2/…`) never reaches a resolver, so [`PolicedClient::get`]
/// and [`PolicedClient::post`] check the URL itself before a request exists.
/// Services that fetch what others name hold this, never a bare
/// `reqwest::Client`.
#[derive(Clone)]
pub struct PolicedClient {
    inner: reqwest::Client,
    policy: Arc<NetPolicy>,
}

impl PolicedClient {
    /// A policed client with `options`.
    pub fn new(policy: NetPolicy, options: ClientOptions) -> reqwest::Result<Self> {
        let policy = Arc::new(policy);
        Ok(Self {
            inner: client(policy.clone(), options)?,
            policy,
        })
    }

    fn checked(&self, url: &str) -> Result<url::Url, PolicyError> {
        let url = url::Url::parse(url).map_err(|_| PolicyError::NoHost)?;
        self.policy.check_url(&url)?;
        Ok(url)
    }

    /// A GET of `url`, if the policy allows it.
    pub fn get(&self, url: &str) -> Result<reqwest::RequestBuilder, PolicyError> {
        Ok(self.inner.get(self.checked(url)?))
    }

    /// A POST to `url`, if the policy allows it.
    pub fn post(&self, url: &str) -> Result<reqwest::RequestBuilder, PolicyError> {
        Ok(self.inner.post(self.checked(url)?))
    }
}

/// The policy refusal behind a reqwest error, if that is what it was
/// (from the resolver or a redirect check).
pub fn policy_refusal(e: &reqwest::Error) -> Option<PolicyError> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if let Some(policy) = err.downcast_ref::<PolicyError>() {
            return Some(policy.clone());
        }
        source = err.source();
    }
    None
}

/// A description of a failed fetch that is safe to show a caller: it says
/// whether the policy refused the address, and otherwise only that the
/// fetch failed — never whether a port was open, closed or filtered, which
/// would make the service a scanner of the operator's network.
pub fn describe_for_caller(e: &reqwest::Error) -> String {
    match policy_refusal(e) {
        Some(refused) => format!("refused by the address policy: {refused}"),
        None if e.is_timeout() => "the request timed out".into(),
        None => "the request failed".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loopback_only_if(allowed: &[&str]) -> reqwest::Client {
        let allowed: Vec<String> = allowed.iter().map(|h| h.to_string()).collect();
        client(
            Arc::new(NetPolicy::new(&allowed)),
            ClientOptions {
                timeout: Duration::from_secs(2),
                user_agent: "akashi-net-test",
                max_redirects: 0,
            },
        )
        .unwrap()
    }

    #[tokio::test]
    async fn a_name_resolving_to_loopback_is_refused_at_connection_time() {
        // "localhost" is a name: the URL check passes, the resolver refuses.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let err = loopback_only_if(&[])
            .get(format!("http://localhost:{port}/"))
            .send()
            .await
            .unwrap_err();
        assert!(
            matches!(policy_refusal(&err), Some(PolicyError::NonPublic(_))),
            "{err:?}"
        );
        assert!(describe_for_caller(&err).starts_with("refused by the address policy"));
    }

    #[test]
    fn an_ip_literal_is_refused_before_any_request_exists() {
        let policed = PolicedClient::new(
            NetPolicy::new(&["127.0.0.1".to_string()]),
            ClientOptions {
                timeout: Duration::from_secs(1),
                user_agent: "akashi-net-test",
                max_redirects: 0,
            },
        )
        .unwrap();
        assert!(matches!(
            policed.get("http://127.0.0.2:9001/x"),
            Err(PolicyError::NonPublic(_))
        ));
        assert!(matches!(policed.post("http://[::1]/"), Err(PolicyError::NonPublic(_))));
        assert!(matches!(
            policed.get("http://10.0.0.7/"),
            Err(PolicyError::NonPublic(_))
        ));
        assert!(matches!(policed.get("ftp://example.com/"), Err(PolicyError::Scheme)));
        // The allow-listed address and public names build.
        assert!(policed.get("http://127.0.0.1:9001/x").is_ok());
        assert!(policed.get("https://lms.example.edu/jwks").is_ok());
    }

    #[tokio::test]
    async fn open_and_closed_ports_look_the_same_to_the_caller() {
        let closed = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let open = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let open_port = open.local_addr().unwrap().port();
        // The open port accepts and hangs up without answering HTTP.
        tokio::spawn(async move {
            while let Ok((socket, _)) = open.accept().await {
                drop(socket);
            }
        });
        let http = loopback_only_if(&["localhost"]);
        let a = http
            .get(format!("http://localhost:{closed}/"))
            .send()
            .await
            .unwrap_err();
        let b = http
            .get(format!("http://localhost:{open_port}/"))
            .send()
            .await
            .unwrap_err();
        assert_eq!(describe_for_caller(&a), describe_for_caller(&b));
    }
}
