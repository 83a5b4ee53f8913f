//! The template fast path of canonicalization is byte-identical to the
//! general algorithm: generated certificates (any Unicode in their strings,
//! control characters and quotes included; IRIs plain, odd, compact or
//! relative) give the same N-Quads — or the same refusal — both ways.

use akashi_ld::canonicalize;
use akashi_ld::contexts;
use akashi_ld::template::canonicalize_templated;
use proptest::prelude::*;
use serde_json::{Value, json};

fn certificate(strings: &[String; 6], iris: &[String; 3], until: Option<&str>) -> Value {
    let mut doc = json!({
        "@context": [contexts::CREDENTIALS_V2, contexts::BLOCKCERTS_V3_2],
        "id": iris[0],
        "type": ["VerifiableCredential", "BlockcertsCredential"],
        "issuer": iris[1],
        "name": strings[0],
        "description": strings[1],
        "validFrom": strings[2],
        "credentialSubject": {
            "id": iris[2],
            "claim": {"name": strings[3], "description": strings[4], "criteria": strings[5]},
        },
    });
    if let Some(until) = until {
        doc["validUntil"] = json!(until);
    }
    doc
}

fn iri() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-z0-9._~%-]{0,12}(/[a-zA-Z0-9._~%-]{0,8}){0,3}".prop_map(|p| format!("https://host.example/{p}")),
        2 => "[0-9a-f]{8}".prop_map(|h| format!("urn:uuid:{h}-0000-4000-8000-000000000000")),
        1 => "[a-z0-9:]{1,12}".prop_map(|p| format!("urn:akashi:recipient:sha256:{p}")),
        1 => Just("did:example:learner".to_string()),
        // Values that must leave the fast path: compact, relative, odd.
        1 => Just("bc:introductionUrl".to_string()),
        1 => Just("schema:Thing".to_string()),
        1 => Just("relative/path".to_string()),
        1 => Just("https://host.example/with space".to_string()),
        1 => Just("https://host.example/a>b".to_string()),
        1 => Just(String::new()),
        1 => Just("urn:x-akashi-slot:0".to_string()),
    ]
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => any::<String>(),
        2 => "[a-zA-Z 日本語証明\\t\\n\\r\"\\\\\u{7f}\u{1}\u{b}\u{c}]{0,24}",
        1 => Just("urn:x-akashi-slot:3".to_string()),
        1 => Just("2026-11-27T00:00:00Z".to_string()),
    ]
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().build().unwrap()
}

proptest! {
    // 400 cases in CI; PROPTEST_CASES=N for a longer hunt.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(400),
        ..ProptestConfig::default()
    })]

    #[test]
    fn templated_and_general_canonicalization_agree(
        strings in [text(), text(), text(), text(), text(), text()],
        iris in [iri(), iri(), iri()],
        until in proptest::option::of(text()),
    ) {
        let doc = certificate(&strings, &iris, until.as_deref());
        let runtime = runtime();
        let general = runtime.block_on(canonicalize(&doc)).map_err(|e| e.to_string());
        let fast = runtime.block_on(canonicalize_templated(&doc)).map_err(|e| e.to_string());
        prop_assert_eq!(fast, general);
    }
}

#[test]
fn a_shape_with_several_blank_nodes_is_canonicalized_the_general_way() {
    let runtime = runtime();
    for n in 0..3 {
        let doc = json!({
            "@context": [contexts::CREDENTIALS_V2, contexts::BLOCKCERTS_V3_2],
            "id": format!("urn:uuid:{n}"),
            "type": ["VerifiableCredential", "BlockcertsCredential"],
            "issuer": "https://host.example/issuer",
            "validFrom": "2026-11-27T00:00:00Z",
            "credentialSubject": {
                "claim": {"name": format!("claim {n}")},
                "display": {"content": format!("content {}", 2 - n)},
            },
        });
        assert_eq!(
            runtime.block_on(canonicalize_templated(&doc)).unwrap(),
            runtime.block_on(canonicalize(&doc)).unwrap()
        );
    }
}

#[test]
fn a_percent_escape_that_is_not_utf8_is_refused_both_ways() {
    let runtime = runtime();
    let strings: [String; 6] = Default::default();
    let iris = [
        "https://host.example/".to_string(),
        "https://host.example//%a0".to_string(),
        "https://host.example/".to_string(),
    ];
    let doc = certificate(&strings, &iris, None);
    let general = runtime.block_on(canonicalize(&doc));
    let fast = runtime.block_on(canonicalize_templated(&doc));
    assert!(general.is_err(), "{general:?}");
    assert_eq!(fast.map_err(|e| e.to_string()), general.map_err(|e| e.to_string()));
}
