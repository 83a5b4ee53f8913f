//! Where a service may send requests. The verifier fetches URLs that
//! strangers give it, the lms-adapter URLs that LMS administrators give it:
//! without a policy either would be a proxy into the operator's network
//! (SSRF). Only http(s), and never to private, loopback, link-local or other
//! special addresses unless the host is allow-listed. The check applies to
//! the addresses a name resolves to, at connection time (see
//! [`crate::client`]), so DNS rebinding cannot slip past it.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Why a URL or address may not be fetched.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum PolicyError {
    #[error("only http and https URLs can be verified")]
    Scheme,
    #[error("the URL has no host")]
    NoHost,
    #[error("{0} is a private, loopback or otherwise non-public address")]
    NonPublic(String),
    #[error("only https is allowed for this host")]
    PlainHttp,
    #[error("{0} does not resolve")]
    Unresolvable(String),
}

/// The outbound address policy.
#[derive(Debug, Clone, Default)]
pub struct NetPolicy {
    allowed_hosts: Vec<String>,
}

fn normalise_host(host: &str) -> String {
    host.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase()
}

impl NetPolicy {
    /// A policy allowing these hosts (names or IP literals) despite non-public addresses.
    pub fn new(allowed_hosts: &[String]) -> Self {
        Self {
            allowed_hosts: allowed_hosts.iter().map(|h| normalise_host(h)).collect(),
        }
    }

    fn is_allow_listed(&self, host: &str) -> bool {
        let host = normalise_host(host);
        self.allowed_hosts.contains(&host)
    }

    /// Checks a URL before any connection: scheme, and an IP-literal host.
    pub fn check_url(&self, url: &url::Url) -> Result<(), PolicyError> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(PolicyError::Scheme);
        }
        let host = url.host_str().ok_or(PolicyError::NoHost)?;
        if let Ok(ip) = normalise_host(host).parse::<IpAddr>()
            && !is_public(ip)
            && !self.is_allow_listed(host)
        {
            return Err(PolicyError::NonPublic(ip.to_string()));
        }
        Ok(())
    }

    /// Checks an endpoint that will receive data from us (an outgoing
    /// webhook's): as [`NetPolicy::check_url`], https unless the host is
    /// allow-listed, and every address its name resolves to now is allowed.
    /// Delivery checks again at each connection (DNS may change).
    pub async fn check_receiver(&self, url: &url::Url) -> Result<(), PolicyError> {
        self.check_url(url)?;
        let host = url.host_str().ok_or(PolicyError::NoHost)?;
        if url.scheme() != "https" && !self.is_allow_listed(host) {
            return Err(PolicyError::PlainHttp);
        }
        let port = url.port_or_known_default().unwrap_or(443);
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host((normalise_host(host).as_str(), port))
            .await
            .map_err(|_| PolicyError::Unresolvable(host.to_string()))?
            .collect();
        if addrs.is_empty() {
            return Err(PolicyError::Unresolvable(host.to_string()));
        }
        // Every address, not just one: a name that also points inside would
        // be reached there by some connection.
        if !self.is_allow_listed(host)
            && let Some(inside) = addrs.iter().find(|a| !is_public(a.ip()))
        {
            return Err(PolicyError::NonPublic(inside.ip().to_string()));
        }
        Ok(())
    }

    /// Keeps the resolved addresses of `host` that may be connected to.
    pub fn filter_resolved(&self, host: &str, addrs: Vec<SocketAddr>) -> Result<Vec<SocketAddr>, PolicyError> {
        if self.is_allow_listed(host) {
            return Ok(addrs);
        }
        let first = addrs
            .first()
            .map(|a| a.ip().to_string())
            .unwrap_or_else(|| host.to_string());
        let public: Vec<SocketAddr> = addrs.into_iter().filter(|a| is_public(a.ip())).collect();
        if public.is_empty() {
            return Err(PolicyError::NonPublic(first));
        }
        Ok(public)
    }
}

/// Whether an address is on the public internet.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public_v4(v4);
            }
            let seg = v6.segments();
            // NAT64 (64:ff9b::/96) embeds an IPv4 address.
            if seg[0] == 0x64 && seg[1] == 0xff9b && seg[2..6] == [0, 0, 0, 0] {
                let v4 = Ipv4Addr::new((seg[6] >> 8) as u8, seg[6] as u8, (seg[7] >> 8) as u8, seg[7] as u8);
                return is_public_v4(v4);
            }
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (seg[0] & 0xfe00) == 0xfc00 // unique local fc00::/7
                || (seg[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
                || (seg[0] & 0xffc0) == 0xfec0 // site-local (deprecated) fec0::/10
                || (seg[0] == 0x2001 && seg[1] == 0x0db8) // documentation
                || v6 == Ipv6Addr::new(0, 0, 0, 0, 0, 0, 0, 1))
        }
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let o = ip.octets();
    !(ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_unspecified()
        || ip.is_multicast()
        || o[0] == 0 // "this network"
        || (o[0] == 100 && (o[1] & 0xc0) == 64) // carrier-grade NAT 100.64.0.0/10
        || (o[0] == 192 && o[1] == 0 && o[2] == 0) // IETF protocol assignments
        || (o[0] == 198 && (o[1] & 0xfe) == 18) // benchmarking 198.18.0.0/15
        || o[0] >= 240) // reserved
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    /// Literal addresses and `localhost` (from /etc/hosts): no packet
    /// leaves the machine.
    #[tokio::test]
    async fn a_receiver_must_be_https_and_public_unless_allow_listed() {
        let policy = NetPolicy::new(&["127.0.0.1".to_string()]);
        let check = |raw: &str| {
            let policy = policy.clone();
            let url = url::Url::parse(raw).unwrap();
            async move { policy.check_receiver(&url).await }
        };
        assert_eq!(check("https://93.184.216.34/hooks").await, Ok(()));
        assert_eq!(check("https://[2606:2800:220:1::]/hooks").await, Ok(()));
        assert_eq!(check("http://93.184.216.34/hooks").await, Err(PolicyError::PlainHttp));
        assert_eq!(check("ftp://93.184.216.34/hooks").await, Err(PolicyError::Scheme));
        for inside in [
            "https://10.0.0.7/h",
            "https://192.168.1.1/h",
            "https://169.254.169.254/h",
            "https://[fd00::1]/h",
        ] {
            assert!(
                matches!(check(inside).await, Err(PolicyError::NonPublic(_))),
                "{inside}"
            );
        }
        assert!(matches!(
            check("https://localhost:9/h").await,
            Err(PolicyError::NonPublic(_))
        ));
        assert_eq!(check("http://127.0.0.1:9/h").await, Ok(()), "allow-listed: http too");
        assert!(matches!(
            check("https://127.0.0.2/h").await,
            Err(PolicyError::NonPublic(_))
        ));
    }

    #[test]
    fn classifies_special_ranges_as_non_public() {
        for s in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "198.18.0.1",
            "192.0.0.8",
            "240.0.0.1",
            "::1",
            "::",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "ff02::1",
            "2001:db8::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a00:1",
        ] {
            assert!(!is_public(ip(s)), "{s} must not count as public");
        }
    }

    #[test]
    fn classifies_ordinary_addresses_as_public() {
        for s in [
            "8.8.8.8",
            "133.11.0.1",
            "172.32.0.1",
            "100.128.0.1",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(is_public(ip(s)), "{s} must count as public");
        }
    }

    #[test]
    fn urls_need_http_and_a_public_or_allow_listed_host() {
        let policy = NetPolicy::new(&["127.0.0.1".into(), "localhost".into()]);
        let url = |s: &str| url::Url::parse(s).unwrap();
        assert_eq!(policy.check_url(&url("ftp://example.org/x")), Err(PolicyError::Scheme));
        assert_eq!(policy.check_url(&url("file:///etc/passwd")), Err(PolicyError::Scheme));
        assert!(policy.check_url(&url("http://127.0.0.1:8082/ob2/assertions/x")).is_ok());
        assert!(matches!(
            policy.check_url(&url("http://10.0.0.5/")),
            Err(PolicyError::NonPublic(_))
        ));
        assert!(matches!(
            policy.check_url(&url("http://[::1]:8082/")),
            Err(PolicyError::NonPublic(_))
        ));
        assert!(matches!(
            policy.check_url(&url("http://169.254.169.254/latest/meta-data")),
            Err(PolicyError::NonPublic(_))
        ));
        assert!(
            NetPolicy::default().check_url(&url("http://127.0.0.1/")).is_err(),
            "nothing is allow-listed by default"
        );
    }

    #[test]
    fn resolved_addresses_are_filtered_unless_the_name_is_allow_listed() {
        let policy = NetPolicy::new(&["localhost".into()]);
        let a = |s: &str| -> SocketAddr { s.parse().unwrap() };
        // A name resolving to a private address (DNS rebinding) is refused...
        assert!(policy.filter_resolved("evil.example", vec![a("10.0.0.1:80")]).is_err());
        // ...and a mix keeps only the public addresses.
        assert_eq!(
            policy
                .filter_resolved("mixed.example", vec![a("10.0.0.1:80"), a("8.8.8.8:80")])
                .unwrap(),
            vec![a("8.8.8.8:80")]
        );
        assert_eq!(
            policy
                .filter_resolved("localhost", vec![a("127.0.0.1:80")])
                .unwrap()
                .len(),
            1
        );
    }
}
