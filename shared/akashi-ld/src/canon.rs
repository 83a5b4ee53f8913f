//! JSON-LD → RDF → RDFC-1.0 canonical N-Quads, in safe mode.

use json_ld::JsonLdProcessor;
use json_ld::expansion::{Action, Policy};
use ssi_json_ld::{RemoteDocument, json_ld};

use crate::contexts;

/// Why a document could not be canonicalized.
#[derive(Debug, thiserror::Error)]
pub enum CanonError {
    /// Expansion failed: an unknown context, an undefined term, a term or
    /// type that is not an absolute IRI, or malformed JSON-LD.
    #[error("JSON-LD expansion failed: {0}")]
    Expansion(String),
    /// A node id or type stayed relative after expansion.
    #[error("JSON-LD: {0:?} is not an absolute IRI")]
    RelativeIri(String),
    /// The document is larger or more tangled than any credential needs
    /// (see [`LIMITS`]): canonicalizing it could exhaust the stack or the CPU.
    #[error("the document is too complex to canonicalize: {0}")]
    TooComplex(String),
}

/// Bounds on what is canonicalized, so that no input can crash or pin the
/// process that canonicalizes it.
///
/// RDFC-1.0's "hash N-degree quads" recurses along paths of blank nodes
/// that share a first-degree hash: a chain of 3,000 such nodes overflowed a
/// worker thread's stack. A credential has a few dozen blank nodes (subject,
/// results, evidence, alignments); the bounds leave two orders of magnitude
/// to spare and are documented in docs/api.md.
pub struct Limits {
    /// Blank nodes in the dataset.
    pub max_blank_nodes: usize,
    /// Quads in the dataset.
    pub max_quads: usize,
    /// Calls of "hash N-degree quads" (RDFC-1.0 §4.8.3); a dataset crafted
    /// to make them explode is refused, not computed.
    pub max_hndq_calls: usize,
}

/// The limits every canonicalization runs under.
pub const LIMITS: Limits = Limits {
    max_blank_nodes: 500,
    max_quads: 20_000,
    max_hndq_calls: 5_000,
};

/// The expansion policy of "safe mode": reject what cannot be expanded
/// instead of dropping it, so that every implementation hashes the same data.
fn safe_mode() -> Policy {
    Policy {
        invalid: Action::Reject,
        vocab: Action::Keep,
        allow_undefined: false,
    }
}

/// The canonical N-Quads of `document`, with contexts from the bundle only.
///
/// A panic inside the JSON-LD processor is an error about this input, not
/// a crash of the service: the differential test found one (`pct-str`
/// unwraps the UTF-8 of a percent-escape while hashing an IRI such as
/// `https://host.example/%a0`).
pub async fn canonicalize(document: &serde_json::Value) -> Result<String, CanonError> {
    use futures_util::FutureExt;
    match std::panic::AssertUnwindSafe(canonicalize_unguarded(document))
        .catch_unwind()
        .await
    {
        Ok(result) => result,
        Err(panic) => {
            let message = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("unknown failure");
            Err(CanonError::Expansion(format!(
                "the JSON-LD processor cannot read this document ({message})"
            )))
        }
    }
}

async fn canonicalize_unguarded(document: &serde_json::Value) -> Result<String, CanonError> {
    check_contexts(document)?;
    check_percent_escapes(document)?;
    let document = without_redundant_contexts(document);
    let remote = RemoteDocument::new(None, None, json_syntax::Value::from_serde_json(document));
    let options = json_ld::Options {
        expansion_policy: safe_mode(),
        ..Default::default()
    };
    let mut generator = rdf_types::generator::Blank::new();
    let mut rdf = remote
        .to_rdf_using(&mut generator, contexts::loader(), options)
        .await
        .map_err(|e| CanonError::Expansion(e.to_string()))?;
    let mut quads = Vec::new();
    for quad in rdf.cloned_quads() {
        let quad = quad.map_predicate(|p| p.into_iri().expect("predicates are IRIs in non-generalized RDF"));
        quads.push(to_oxrdf(quad.as_lexical_quad_ref()));
    }
    // rdf-canon (RDFC-1.0) rather than ssi-rdf's URDNA2015: ssi-rdf writes
    // control characters such as a tab raw inside literals, where RDFC-1.0
    // and the JavaScript and Python implementations escape them (`\t`), so
    // a description with a tab would hash differently from every verifier.
    let blank_nodes = check_size(&quads)?;
    if blank_nodes <= INLINE_BLANK_NODES {
        rdfc(&quads)
    } else {
        rdfc_on_its_own_stack(&quads)
    }
}

/// Up to this many blank nodes RDFC-1.0 runs on the caller's stack: its
/// recursion is at most this deep (a chain of 490 overflowed a 2 MiB
/// worker in a debug build, so 64 leaves a wide margin), and a thread per
/// canonicalization costs more than canonicalizing a typical credential
/// (a handful of blank nodes): 0.42 against 0.59 ms a certificate. Above
/// it, a thread of its own with [`RDFC_STACK_BYTES`].
const INLINE_BLANK_NODES: usize = 64;

/// Stack of the thread RDFC-1.0 runs on. Its recursion depth follows the
/// longest path of blank nodes (at most [`LIMITS`]`.max_blank_nodes`): 490
/// chained nodes already overflow a 2 MiB tokio worker in a debug build, so
/// above [`INLINE_BLANK_NODES`] the caller's stack is not relied on.
/// Untouched stack pages cost no memory.
const RDFC_STACK_BYTES: usize = 64 * 1024 * 1024;

/// RDFC-1.0 with the hashing-step limit, on the current thread.
fn rdfc(quads: &[oxrdf::Quad]) -> Result<String, CanonError> {
    let options = rdf_canon::CanonicalizationOptions {
        hndq_call_limit: Some(LIMITS.max_hndq_calls),
    };
    rdf_canon::canonicalize_quads_with::<sha2_rdf_canon::Sha256>(quads, &options).map_err(|e| match e {
        rdf_canon::CanonicalizationError::HndqCallLimitExceeded(limit) => {
            CanonError::TooComplex(format!("its blank nodes need more than {limit} hashing steps"))
        }
        other => CanonError::Expansion(other.to_string()),
    })
}

/// [`rdfc`] on a thread of its own with [`RDFC_STACK_BYTES`].
fn rdfc_on_its_own_stack(quads: &[oxrdf::Quad]) -> Result<String, CanonError> {
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("rdfc".into())
            .stack_size(RDFC_STACK_BYTES)
            .spawn_scoped(scope, || rdfc(quads))
            .map_err(|e| CanonError::Expansion(format!("no thread to canonicalize on: {e}")))?
            .join()
            .map_err(|_| CanonError::Expansion("the canonicalization failed on this document".into()))?
    })
}

/// Refuses a dataset over [`LIMITS`] before RDFC-1.0 runs on it; answers
/// how many blank nodes it has.
fn check_size(quads: &[oxrdf::Quad]) -> Result<usize, CanonError> {
    if quads.len() > LIMITS.max_quads {
        return Err(CanonError::TooComplex(format!(
            "{} statements (at most {})",
            quads.len(),
            LIMITS.max_quads
        )));
    }
    let mut blank = std::collections::HashSet::new();
    for quad in quads {
        if let oxrdf::Subject::BlankNode(b) = &quad.subject {
            blank.insert(b.as_str());
        }
        if let oxrdf::Term::BlankNode(b) = &quad.object {
            blank.insert(b.as_str());
        }
        if let oxrdf::GraphName::BlankNode(b) = &quad.graph_name {
            blank.insert(b.as_str());
        }
    }
    if blank.len() > LIMITS.max_blank_nodes {
        return Err(CanonError::TooComplex(format!(
            "{} blank nodes (at most {})",
            blank.len(),
            LIMITS.max_blank_nodes
        )));
    }
    Ok(blank.len())
}

/// One json-ld quad as oxrdf's, which rdf-canon takes.
fn to_oxrdf(quad: rdf_types::LexicalQuadRef<'_>) -> oxrdf::Quad {
    use rdf_types::{Id, Term};
    let id = |id: Id<&iref::Iri, &rdf_types::BlankId>| -> oxrdf::Subject {
        match id {
            Id::Iri(iri) => oxrdf::NamedNode::new_unchecked(iri.as_str()).into(),
            Id::Blank(b) => oxrdf::BlankNode::new_unchecked(b.suffix()).into(),
        }
    };
    let rdf_types::Quad(subject, predicate, object, graph) = quad;
    let object: oxrdf::Term = match object {
        Term::Id(i) => match id(i) {
            oxrdf::Subject::NamedNode(n) => n.into(),
            oxrdf::Subject::BlankNode(b) => b.into(),
        },
        Term::Literal(literal) => match &literal.type_ {
            rdf_types::LiteralType::Any(datatype) => oxrdf::Literal::new_typed_literal(
                literal.value.as_str(),
                oxrdf::NamedNode::new_unchecked(datatype.as_str()),
            )
            .into(),
            rdf_types::LiteralType::LangString(tag) => oxrdf::Literal::new_language_tagged_literal_unchecked(
                literal.value.as_str(),
                tag.as_str().to_lowercase(),
            )
            .into(),
        },
    };
    let graph = match graph.map(id) {
        None => oxrdf::GraphName::DefaultGraph,
        Some(oxrdf::Subject::NamedNode(n)) => n.into(),
        Some(oxrdf::Subject::BlankNode(b)) => b.into(),
    };
    oxrdf::Quad::new(
        id(subject),
        oxrdf::NamedNode::new_unchecked(predicate.as_str()),
        object,
        graph,
    )
}

/// The document without a Data Integrity v2 context that follows VC 2.0's.
///
/// VC 2.0 already defines every term of Data Integrity v2 (`id`, `type`,
/// `DataIntegrityProof`), identically and protected, so listing both — as
/// cert-issuer does — changes nothing in JSON-LD 1.1 (jsonld.js and pyld
/// accept the identical redefinition). The json-ld crate, however, also
/// compares the contexts' base URLs and refuses it as a "protected term
/// redefinition"; dropping the redundant context gives the same expansion.
fn without_redundant_contexts(document: &serde_json::Value) -> serde_json::Value {
    let mut document = document.clone();
    if let Some(list) = document.get_mut("@context").and_then(|c| c.as_array_mut())
        && let Some(vc2) = list.iter().position(|c| c == contexts::CREDENTIALS_V2)
    {
        let mut index = 0;
        list.retain(|c| {
            index += 1;
            !(index - 1 > vc2 && c == contexts::DATA_INTEGRITY_V2)
        });
    }
    document
}

/// Refuses a string (key or value) whose percent-escapes do not decode to
/// UTF-8, before the JSON-LD processor sees it: `pct-str` panics on such an
/// IRI (`https://h/%a0`, or a key `%EE` expanded against a vocabulary).
/// The panic is caught too, but a refusal up front is cheaper and clearer —
/// and fuzzing treats any panic as a crash.
fn check_percent_escapes(value: &serde_json::Value) -> Result<(), CanonError> {
    let check = |s: &str| {
        if s.contains('%') && percent_encoding::percent_decode_str(s).decode_utf8().is_err() {
            return Err(CanonError::Expansion(format!(
                "{s:?} has percent-escapes that are not UTF-8"
            )));
        }
        Ok(())
    };
    match value {
        serde_json::Value::String(s) => check(s),
        serde_json::Value::Array(items) => items.iter().try_for_each(check_percent_escapes),
        serde_json::Value::Object(map) => map.iter().try_for_each(|(k, v)| {
            check(k)?;
            check_percent_escapes(v)
        }),
        _ => Ok(()),
    }
}

/// Refuses a context the bundle does not hold before any processing, with
/// an error that names it (the loader's own error is less telling).
fn check_contexts(document: &serde_json::Value) -> Result<(), CanonError> {
    let mut urls = Vec::new();
    match &document["@context"] {
        serde_json::Value::String(url) => urls.push(url.as_str()),
        serde_json::Value::Array(items) => urls.extend(items.iter().filter_map(|i| i.as_str())),
        _ => {}
    }
    match urls.into_iter().find(|u| !contexts::is_bundled(u)) {
        Some(unknown) => Err(CanonError::Expansion(format!("unknown context {unknown}"))),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ob3() -> serde_json::Value {
        json!({
            "@context": [contexts::CREDENTIALS_V2, contexts::OB_V3P0_3_0_3],
            "id": "http://127.0.0.1:8082/ob3/credentials/1",
            "type": ["VerifiableCredential", "OpenBadgeCredential"],
            "issuer": {"id": "http://127.0.0.1:8082/ob3/issuers/1", "type": ["Profile"], "name": "大学"},
            "validFrom": "2026-11-27T00:00:00Z",
            "credentialSubject": {
                "type": ["AchievementSubject"],
                "achievement": {
                    "id": "http://127.0.0.1:8082/ob2/badges/1",
                    "type": ["Achievement"],
                    "name": "Rust", "description": "d", "criteria": {"narrative": "n"}
                }
            }
        })
    }

    #[tokio::test]
    async fn canonical_form_does_not_depend_on_key_order() {
        let a = canonicalize(&ob3()).await.unwrap();
        let mut reordered = serde_json::Map::new();
        let original = ob3();
        for (k, v) in original.as_object().unwrap().iter().rev() {
            reordered.insert(k.clone(), v.clone());
        }
        let b = canonicalize(&serde_json::Value::Object(reordered)).await.unwrap();
        assert_eq!(a, b);
        assert!(
            a.contains("<https://purl.imsglobal.org/spec/vc/ob/vocab.html#OpenBadgeCredential>"),
            "{a}"
        );
        assert!(a.contains("\"大学\""), "{a}");
    }

    #[tokio::test]
    async fn an_undefined_term_is_an_error_not_a_dropped_triple() {
        let mut doc = ob3();
        doc["credentialSubject"]["achievement"]["grade"] = json!("A");
        let err = canonicalize(&doc).await.unwrap_err();
        assert!(matches!(err, CanonError::Expansion(_)), "{err}");
    }

    #[tokio::test]
    async fn an_undefined_type_is_an_error() {
        let mut doc = ob3();
        doc["type"] = json!(["VerifiableCredential", "Claim"]);
        assert!(canonicalize(&doc).await.is_err());
    }

    #[tokio::test]
    async fn the_1edtech_schema_type_needs_the_ob_extensions_context() {
        let mut doc = ob3();
        doc["credentialSchema"] = json!([{
            "id": "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_achievementcredential_schema.json",
            "type": "1EdTechJsonSchemaValidator2019"
        }]);
        assert!(canonicalize(&doc).await.is_err(), "OB 3.0.3 alone does not define it");
        doc["@context"]
            .as_array_mut()
            .unwrap()
            .push(json!(contexts::OB_V3P0_EXTENSIONS));
        let nquads = canonicalize(&doc).await.unwrap();
        assert!(
            nquads.contains("<https://purl.imsglobal.org/spec/vccs/v1p0/context.json#1EdTechJsonSchemaValidator2019>"),
            "{nquads}"
        );
    }

    #[tokio::test]
    async fn a_percent_escape_that_is_not_utf8_is_an_error_not_a_crash() {
        let mut doc = ob3();
        doc["issuer"]["id"] = json!("https://host.example//%a0");
        let err = canonicalize(&doc).await.unwrap_err();
        assert!(matches!(err, CanonError::Expansion(_)), "{err}");
        // Found by cargo-fuzz: a key, expanded against a vocabulary.
        let err = canonicalize(&json!({"%EE": 3})).await.unwrap_err();
        assert!(matches!(err, CanonError::Expansion(_)), "{err}");
        // Valid escapes are fine.
        let mut doc = ob3();
        doc["issuer"]["id"] = json!("https://host.example/%C3%A9cole");
        assert!(canonicalize(&doc).await.is_ok());
    }

    /// Data Integrity v2 after VC 2.0 redefines three protected terms
    /// identically: JSON-LD 1.1 allows it, and it changes nothing.
    #[tokio::test]
    async fn a_data_integrity_context_after_vc2_changes_nothing() {
        let mut doc = ob3();
        let plain = canonicalize(&doc).await.unwrap();
        doc["@context"]
            .as_array_mut()
            .unwrap()
            .push(json!(contexts::DATA_INTEGRITY_V2));
        assert_eq!(canonicalize(&doc).await.unwrap(), plain);
    }

    /// An OB 3.0 credential whose evidence is a chain of `length` blank
    /// nodes, each naming the next as its parent organisation — the
    /// security review's payload (3,000 nodes killed the verifier).
    fn blank_node_chain(length: usize) -> serde_json::Value {
        let mut credential = ob3();
        credential["issuer"]["parentOrg"] = serde_json::json!("_:b0");
        let evidence: Vec<_> = (0..length)
            .map(|i| serde_json::json!({"id": format!("_:b{i}"), "type": ["Profile"], "parentOrg": format!("_:b{}", i + 1)}))
            .collect();
        credential["evidence"] = serde_json::Value::Array(evidence);
        credential
    }

    /// Runs a canonicalization on a thread with a tokio worker's 2 MiB stack,
    /// where the attack overflowed.
    fn on_a_small_stack(document: serde_json::Value) -> Result<String, CanonError> {
        std::thread::Builder::new()
            .stack_size(2 * 1024 * 1024)
            .spawn(move || {
                tokio::runtime::Builder::new_current_thread()
                    .build()
                    .unwrap()
                    .block_on(canonicalize(&document))
            })
            .unwrap()
            .join()
            .expect("canonicalization must not crash its thread")
    }

    #[test]
    fn a_long_blank_node_chain_is_refused_not_a_stack_overflow() {
        match on_a_small_stack(blank_node_chain(3_000)) {
            Err(CanonError::TooComplex(why)) => assert!(why.contains("blank nodes"), "{why}"),
            other => panic!("expected TooComplex, got {other:?}"),
        }
    }

    #[test]
    fn credentials_under_the_limits_still_canonicalize_on_a_small_stack() {
        // The positive controls: a 60-node chain (about 1,800 hashing steps)
        // and 450 independent evidence nodes (near the blank-node cap) are
        // canonical N-Quads, computed without exhausting a 2 MiB caller stack.
        let chain = on_a_small_stack(blank_node_chain(60)).unwrap();
        assert!(chain.contains("_:c14n59"), "{}", &chain[..200]);
        let mut wide = ob3();
        wide["evidence"] = (0..450)
            .map(|i| serde_json::json!({"type": ["Evidence"], "name": format!("exercise {i}")}))
            .collect();
        let nquads = on_a_small_stack(wide).unwrap();
        assert!(nquads.contains("exercise 449"));
    }

    #[test]
    fn too_many_hashing_steps_are_refused() {
        match on_a_small_stack(blank_node_chain(300)) {
            Err(CanonError::TooComplex(why)) => assert!(why.contains("hashing steps"), "{why}"),
            other => panic!("expected TooComplex, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn an_unknown_context_is_refused_without_the_network() {
        let mut doc = ob3();
        doc["@context"] = json!([contexts::CREDENTIALS_V2, "https://example.org/ctx.json"]);
        let err = canonicalize(&doc).await.unwrap_err().to_string();
        assert!(err.contains("https://example.org/ctx.json"), "{err}");
    }
}
