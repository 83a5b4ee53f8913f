//! The credential formats a badge class is issued in.

/// OB 2.0 hosted: always issued, it is the award's public identity.
pub const OB2_HOSTED: &str = "ob2_hosted";
/// OB 2.0 signed (compact JWS, RS256).
pub const OB2_SIGNED: &str = "ob2_signed";
/// OB 3.0 OpenBadgeCredential with a VC-JWT proof (RS256).
pub const OB3_VCJWT: &str = "ob3_vcjwt";

/// OB 3.0 OpenBadgeCredential with a Data Integrity proof (eddsa-rdfc-2022).
pub const OB3_DI: &str = "ob3_di";

/// Every format Akashi issues today, in a stable order.
pub const SUPPORTED: [&str; 4] = [OB2_HOSTED, OB2_SIGNED, OB3_VCJWT, OB3_DI];

/// A checked set of formats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Formats(Vec<&'static str>);

impl Formats {
    /// Parses format names; empty means every supported format. `ob2_hosted`
    /// is always included.
    pub fn parse(names: &[String]) -> Result<Self, String> {
        if names.is_empty() {
            return Ok(Self(SUPPORTED.to_vec()));
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
        assert_eq!(
            Formats::parse(&[]).unwrap().names(),
            SUPPORTED.map(String::from).to_vec()
        );
        assert_eq!(
            Formats::parse(&["ob3_vcjwt".into()]).unwrap().names(),
            vec!["ob2_hosted", "ob3_vcjwt"]
        );
        assert!(Formats::parse(&["pdf".into()]).is_err());
    }
}
