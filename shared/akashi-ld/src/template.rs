//! A fast path for canonicalizing many documents of one shape — the
//! certificates of a Blockcerts batch differ only in their strings.
//!
//! Every string of a document (outside `@context` and `type`) is replaced by
//! a slot IRI; that *shape* is canonicalized once by the general algorithm
//! ([`crate::canonicalize`]) and kept as a template. A document of a known
//! shape is then canonicalized by writing its strings into the template's
//! slots — as IRIs or literals, escaped by the same N-Quads writer the
//! general path uses — and sorting the lines again.
//!
//! This is only exact when the values cannot change the graph's structure,
//! so the fast path is refused (and the general one used) whenever that is
//! not certain: a shape with two or more blank nodes (their canonical
//! labels depend on the values), a string slot that does not appear exactly
//! once (or an IRI slot not at all), a value that contains a slot's name,
//! an IRI that is not a plain absolute `http(s)`/`urn`/`did` IRI (JSON-LD
//! would expand a compact IRI), or two lines that become equal. A
//! differential test proves the two paths byte-identical on generated documents.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, RwLock};

use serde_json::Value;

use crate::canon::{CanonError, canonicalize};

/// Where slots live: an absolute IRI, so it is valid wherever a string is.
const SLOT: &str = "urn:x-akashi-slot:";
/// Shapes remembered per process; more are canonicalized the general way.
const MAX_TEMPLATES: usize = 256;
/// Schemes an IRI slot may hold: none is a term of a bundled context, so
/// JSON-LD keeps such a value as it is.
const PLAIN_SCHEMES: [&str; 4] = ["http://", "https://", "urn:", "did:"];

/// How a slot is written in the N-Quads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SlotKind {
    Iri,
    Literal,
}

/// A shape's canonical N-Quads with slots, and each slot's kind.
#[derive(Debug)]
struct Template {
    lines: Vec<String>,
    kinds: Vec<SlotKind>,
}

type Templates = RwLock<HashMap<String, Arc<Option<Template>>>>;

fn templates() -> &'static Templates {
    static TEMPLATES: OnceLock<Templates> = OnceLock::new();
    TEMPLATES.get_or_init(|| RwLock::new(HashMap::new()))
}

/// Replaces every string outside `@context` and `type` with a slot IRI,
/// collecting the strings in order.
fn shape_of(value: &Value, strings: &mut Vec<String>) -> Value {
    match value {
        Value::String(s) => {
            strings.push(s.clone());
            Value::String(format!("{SLOT}{}", strings.len() - 1))
        }
        Value::Array(items) => Value::Array(items.iter().map(|i| shape_of(i, strings)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let kept = matches!(k.as_str(), "@context" | "type" | "@type");
                    (k.clone(), if kept { v.clone() } else { shape_of(v, strings) })
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

fn iri_token(slot: usize) -> String {
    format!("<{SLOT}{slot}>")
}

fn literal_token(slot: usize) -> String {
    format!("\"{SLOT}{slot}\"")
}

/// Builds the template of a shape, or `None` when the fast path could not be exact.
async fn build(shape: &Value, slots: usize) -> Option<Template> {
    let nquads = canonicalize(shape).await.ok()?;
    let lines: Vec<String> = nquads.lines().map(str::to_owned).collect();
    let mut blank_labels: Vec<&str> = lines
        .iter()
        .flat_map(|l| l.split(' ').filter(|t| t.starts_with("_:")))
        .collect();
    blank_labels.sort_unstable();
    blank_labels.dedup();
    if blank_labels.len() > 1 {
        return None;
    }
    let mut kinds = Vec::with_capacity(slots);
    for slot in 0..slots {
        let count = |token: &str| lines.iter().map(|l| l.matches(token).count()).sum::<usize>();
        // A node's IRI is the subject of each of its lines; a string value
        // is the object of exactly one.
        match (count(&iri_token(slot)), count(&literal_token(slot))) {
            (n, 0) if n >= 1 => kinds.push(SlotKind::Iri),
            (0, 1) => kinds.push(SlotKind::Literal),
            _ => return None,
        }
    }
    Some(Template { lines, kinds })
}

/// The template of `shape`, built on first use.
async fn template_for(shape: &Value, slots: usize) -> Arc<Option<Template>> {
    let key = shape.to_string();
    if let Some(found) = templates().read().expect("templates lock").get(&key) {
        return found.clone();
    }
    let built = Arc::new(build(shape, slots).await);
    let mut all = templates().write().expect("templates lock");
    if all.len() < MAX_TEMPLATES {
        all.insert(key, built.clone());
    }
    built
}

/// Writes `strings` into `template`; `None` when a value could change the
/// graph's structure.
fn fill(template: &Template, strings: &[String]) -> Option<String> {
    if strings.iter().any(|s| s.contains(SLOT)) {
        return None;
    }
    let mut lines = template.lines.clone();
    for (slot, (kind, value)) in template.kinds.iter().zip(strings).enumerate() {
        let (token, written) = match kind {
            SlotKind::Iri => {
                // Percent-escapes go the general way: the JSON-LD processor
                // refuses some of them (not UTF-8), and must be the one to say so.
                if !PLAIN_SCHEMES.iter().any(|s| value.starts_with(s)) || value.contains('%') {
                    return None;
                }
                let iri = oxrdf::NamedNode::new(value.as_str()).ok()?;
                (iri_token(slot), iri.to_string())
            }
            SlotKind::Literal => (
                literal_token(slot),
                oxrdf::Literal::new_simple_literal(value.as_str()).to_string(),
            ),
        };
        for line in lines.iter_mut().filter(|l| l.contains(&token)) {
            *line = line.replace(&token, &written);
        }
    }
    lines.sort_unstable();
    if lines.windows(2).any(|pair| pair[0] == pair[1]) {
        return None;
    }
    let mut out = lines.join("\n");
    out.push('\n');
    Some(out)
}

/// The canonical N-Quads of `document`, exactly as [`canonicalize`] gives
/// them, through the template of its shape when that is exact.
pub async fn canonicalize_templated(document: &Value) -> Result<String, CanonError> {
    let mut strings = Vec::new();
    let shape = shape_of(document, &mut strings);
    let template = template_for(&shape, strings.len()).await;
    match template.as_ref().as_ref().and_then(|t| fill(t, &strings)) {
        Some(nquads) => Ok(nquads),
        None => canonicalize(document).await,
    }
}
