//! The credential formats a badge class is issued in.

/// OB 2.0 hosted: always issued, it is the award's public identity.
pub const OB2_HOSTED: &str = "ob2_hosted";
/// OB 2.0 signed (compact JWS, RS256).
pub const OB2_SIGNED: &str = "ob2_signed";
/// OB 3.0 OpenBadgeCredential with a VC-JWT proof (RS256).
pub const OB3_VCJWT: &str = "ob3_vcjwt";

/// OB 3.0 OpenBadgeCredential with a Data Integrity proof (eddsa-rdfc-2022).
pub const OB3_DI: &str = "ob3_di";

/// Blockcerts v3 (`merkle-proof-2019`): batched under one Merkle root and
/// anchored on a chain; the certificate follows the award by seconds.
pub const BLOCKCERTS: &str = "blockcerts";

/// Every format Akashi issues, in a stable order.
pub const SUPPORTED: [&str; 5] = [OB2_HOSTED, OB2_SIGNED, OB3_VCJWT, OB3_DI, BLOCKCERTS];

/// The formats of a badge class that names none: every Open Badges form.
/// Blockcerts is chosen explicitly, because on a real chain each batch
/// costs the issuer a transaction fee.
pub const DEFAULT: [&str; 4] = [OB2_HOSTED, OB2_SIGNED, OB3_VCJWT, OB3_DI];

/// A checked set of formats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Formats(Vec<&'static str>);

impl Formats {
    /// Parses format names; empty means [`DEFAULT`]. `ob2_hosted`
    /// is always included.
    pub fn parse(names: &[String]) -> Result<Self, String> {
        if names.is_empty() {
            return Ok(Self(DEFAULT.to_vec()));
        }
        for name in names {
            if !SUPPORTED.contains(&name.as_str()) {
                return Err(format!(
                    "formats: unknown format {name:?} (supported: {})",
                    SUPPORTED.join(", ")
                ));
            }
        }
        Ok(Self(
            SUPPORTED
                .iter()
                .copied()
                .filter(|f| *f == OB2_HOSTED || names.iter().any(|n| n == f))
                .collect(),
        ))
    }

    /// The names, for storage.
    pub fn names(&self) -> Vec<String> {
        self.0.iter().map(|f| f.to_string()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_means_all_and_hosted_is_always_there() {
        assert_eq!(Formats::parse(&[]).unwrap().names(), DEFAULT.map(String::from).to_vec());
        assert_eq!(
            Formats::parse(&["blockcerts".into()]).unwrap().names(),
            vec!["ob2_hosted", "blockcerts"]
        );
        assert_eq!(
            Formats::parse(&["ob3_vcjwt".into()]).unwrap().names(),
            vec!["ob2_hosted", "ob3_vcjwt"]
        );
        assert!(Formats::parse(&["pdf".into()]).is_err());
    }
}
