//! SVG: bounded parsing, `<use>` expansion measured without rendering, and
//! an allow-list sanitizer.

use std::collections::{HashMap, HashSet};

use akashi_model::text::escape_markup_into;
use roxmltree::{Document, Node, NodeId, ParsingOptions};

use crate::{ImageError, LIMITS};

const SVG_NS: &str = "http://www.w3.org/2000/svg";
const XLINK_NS: &str = "http://www.w3.org/1999/xlink";
const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";

/// Elements that draw. Anything else — `script`, `foreignObject`,
/// `iframe`, `style` (CSS can fetch), animation (can rewrite `href`),
/// elements of another namespace (`<h:script>`) — is dropped with its content.
const ELEMENTS: &[&str] = &[
    "svg",
    "g",
    "defs",
    "symbol",
    "use",
    "title",
    "desc",
    "path",
    "rect",
    "circle",
    "ellipse",
    "line",
    "polyline",
    "polygon",
    "text",
    "tspan",
    "textPath",
    "linearGradient",
    "radialGradient",
    "stop",
    "clipPath",
    "mask",
    "pattern",
    "image",
    "marker",
    "filter",
    "feGaussianBlur",
    "feOffset",
    "feBlend",
    "feColorMatrix",
    "feFlood",
    "feComposite",
    "feMerge",
    "feMergeNode",
    "feDropShadow",
];

/// Elements whose text content is kept.
const TEXT_ELEMENTS: &[&str] = &["text", "tspan", "textPath", "title", "desc"];

/// Attributes (without a namespace) that describe geometry or paint. No
/// event handler (`on…`) is among them.
const ATTRIBUTES: &[&str] = &[
    "id",
    "x",
    "y",
    "x1",
    "y1",
    "x2",
    "y2",
    "cx",
    "cy",
    "r",
    "rx",
    "ry",
    "fx",
    "fy",
    "fr",
    "width",
    "height",
    "d",
    "points",
    "transform",
    "viewBox",
    "preserveAspectRatio",
    "version",
    "fill",
    "fill-opacity",
    "fill-rule",
    "stroke",
    "stroke-width",
    "stroke-opacity",
    "stroke-linecap",
    "stroke-linejoin",
    "stroke-dasharray",
    "stroke-dashoffset",
    "stroke-miterlimit",
    "opacity",
    "color",
    "font-family",
    "font-size",
    "font-weight",
    "font-style",
    "font-variant",
    "text-anchor",
    "dominant-baseline",
    "alignment-baseline",
    "baseline-shift",
    "letter-spacing",
    "word-spacing",
    "text-decoration",
    "writing-mode",
    "dx",
    "dy",
    "rotate",
    "textLength",
    "lengthAdjust",
    "startOffset",
    "offset",
    "stop-color",
    "stop-opacity",
    "gradientUnits",
    "gradientTransform",
    "spreadMethod",
    "clip-path",
    "clip-rule",
    "clipPathUnits",
    "mask",
    "maskUnits",
    "maskContentUnits",
    "patternUnits",
    "patternContentUnits",
    "patternTransform",
    "marker-start",
    "marker-mid",
    "marker-end",
    "markerWidth",
    "markerHeight",
    "refX",
    "refY",
    "orient",
    "markerUnits",
    "filter",
    "filterUnits",
    "primitiveUnits",
    "in",
    "in2",
    "stdDeviation",
    "result",
    "mode",
    "type",
    "values",
    "operator",
    "k1",
    "k2",
    "k3",
    "k4",
    "flood-color",
    "flood-opacity",
    "visibility",
    "display",
    "overflow",
    "shape-rendering",
    "text-rendering",
    "image-rendering",
    "mix-blend-mode",
    "isolation",
    "style",
    "href",
];

/// Parses with no DTD (no entities to expand) and a node limit.
fn parse(text: &str) -> Result<Document<'_>, ImageError> {
    let options = ParsingOptions {
        allow_dtd: false,
        nodes_limit: LIMITS.max_svg_nodes,
        ..ParsingOptions::default()
    };
    let document = Document::parse_with_options(text, options).map_err(|e| match e {
        roxmltree::Error::NodesLimitReached => {
            ImageError::SvgTooComplex(format!("more than {} XML nodes", LIMITS.max_svg_nodes))
        }
        other => ImageError::Svg(other.to_string()),
    })?;
    let root = document.root_element();
    if root.tag_name().name() != "svg" || root.tag_name().namespace() != Some(SVG_NS) {
        return Err(ImageError::Svg("the root element is not an SVG <svg>".into()));
    }
    Ok(document)
}

fn as_text(bytes: &[u8]) -> Result<&str, ImageError> {
    std::str::from_utf8(bytes).map_err(|_| ImageError::Svg("not UTF-8".into()))
}

/// The element a `<use>` points at, if it is in this document.
fn use_target<'a, 'input>(node: Node<'a, 'input>, ids: &HashMap<&str, Node<'a, 'input>>) -> Option<Node<'a, 'input>> {
    let href = node.attribute((XLINK_NS, "href")).or_else(|| node.attribute("href"))?;
    ids.get(href.strip_prefix('#')?).copied()
}

/// Checks that `bytes` are an SVG whose elements, with every `<use>`
/// expanded, stay within [`LIMITS`] — computed over the document, without
/// rendering it. A `<use>` cycle is refused too.
pub fn check_svg(bytes: &[u8]) -> Result<(), ImageError> {
    let document = parse(as_text(bytes)?)?;
    let ids: HashMap<&str, Node> = document
        .descendants()
        .filter_map(|n| n.attribute("id").map(|id| (id, n)))
        .collect();
    let too_many = || {
        ImageError::SvgTooComplex(format!(
            "more than {} elements once every <use> is expanded",
            LIMITS.max_svg_expanded
        ))
    };
    // Post-order over elements and use-references, with an explicit stack
    // (a deeply nested document must not exhaust ours).
    let mut size: HashMap<NodeId, u64> = HashMap::new();
    let mut open: HashSet<NodeId> = HashSet::new();
    let mut stack: Vec<(Node, bool)> = vec![(document.root_element(), false)];
    while let Some((node, children_done)) = stack.pop() {
        if !children_done {
            if size.contains_key(&node.id()) {
                continue;
            }
            if !open.insert(node.id()) {
                return Err(ImageError::SvgTooComplex(
                    "a <use> refers to itself or an ancestor".into(),
                ));
            }
            stack.push((node, true));
            for child in node.children().filter(Node::is_element) {
                stack.push((child, false));
            }
            if let Some(target) = use_target(node, &ids) {
                if open.contains(&target.id()) {
                    return Err(ImageError::SvgTooComplex(
                        "a <use> refers to itself or an ancestor".into(),
                    ));
                }
                stack.push((target, false));
            }
            continue;
        }
        let mut total: u64 = 1;
        for child in node.children().filter(Node::is_element) {
            total = total.saturating_add(size.get(&child.id()).copied().unwrap_or(0));
        }
        if let Some(target) = use_target(node, &ids) {
            total = total.saturating_add(size.get(&target.id()).copied().unwrap_or(0));
        }
        if total > LIMITS.max_svg_expanded {
            return Err(too_many());
        }
        open.remove(&node.id());
        size.insert(node.id(), total);
    }
    Ok(())
}

/// Whether an attribute value may stay: no script URL however it was
/// written (entities are already decoded by the parser), and paint or
/// reference URLs only to this document (`url(#…)`).
fn safe_value(name: &str, value: &str) -> bool {
    let folded: String = value
        .chars()
        .filter(|c| !c.is_whitespace() && !c.is_control())
        .collect::<String>()
        .to_ascii_lowercase();
    if folded.contains("javascript:") || folded.contains("vbscript:") || folded.contains("expression(") {
        return false;
    }
    if name == "style" && (folded.contains("@import") || folded.contains('\\')) {
        return false;
    }
    // Every url(...) must point inside the document.
    let mut rest = folded.as_str();
    while let Some(at) = rest.find("url(") {
        rest = &rest[at + 4..];
        let target = rest.trim_start_matches(['"', '\'']);
        if !target.starts_with('#') {
            return false;
        }
    }
    true
}

/// Whether an `href` may stay: a fragment of this document, or (on
/// `<image>`) an embedded PNG or JPEG. Never a file, a page or a script.
fn safe_href(element: &str, value: &str) -> bool {
    let value = value.trim();
    value.starts_with('#')
        || (element == "image"
            && (value.starts_with("data:image/png;base64,") || value.starts_with("data:image/jpeg;base64,")))
}

/// The SVG rewritten through an allow-list: only [`ELEMENTS`] of the SVG
/// namespace and their [`ATTRIBUTES`] (plus `xlink:href` and `xml:space`),
/// values without script or outside URLs, text only where SVG shows text.
/// Comments, processing instructions and everything else are dropped. The
/// size limits of [`check_svg`] apply first.
pub fn sanitize_svg(bytes: &[u8]) -> Result<String, ImageError> {
    check_svg(bytes)?;
    let document = parse(as_text(bytes)?)?;
    let mut out = String::with_capacity(bytes.len());
    // Depth-first with an explicit stack of (node, closing?): a deeply
    // nested document must not exhaust ours. A dropped element is not
    // entered, so its whole content goes with it.
    let root = document.root_element();
    let mut stack: Vec<(Node, bool)> = vec![(root, false)];
    while let Some((node, closing)) = stack.pop() {
        if closing {
            out.push_str("</");
            out.push_str(node.tag_name().name());
            out.push('>');
            continue;
        }
        if node.is_text() {
            let in_text_element = node
                .parent_element()
                .is_some_and(|p| TEXT_ELEMENTS.contains(&p.tag_name().name()));
            if in_text_element && let Some(text) = node.text() {
                escape_markup_into(text, &mut out);
            }
            continue;
        }
        if !node.is_element() {
            continue;
        }
        let name = node.tag_name().name();
        if node.tag_name().namespace() != Some(SVG_NS) || !ELEMENTS.contains(&name) {
            continue;
        }
        out.push('<');
        out.push_str(name);
        if node.id() == root.id() {
            out.push_str(r#" xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink""#);
        }
        for attribute in node.attributes() {
            let written = match (attribute.namespace(), attribute.name()) {
                (None, "href") | (Some(XLINK_NS), "href") => safe_href(name, attribute.value()).then_some("xlink:href"),
                (Some(XML_NS), "space") => Some("xml:space"),
                (None, other) if ATTRIBUTES.contains(&other) => safe_value(other, attribute.value()).then_some(other),
                _ => None,
            };
            if let Some(written) = written {
                out.push(' ');
                out.push_str(written);
                out.push_str("=\"");
                escape_markup_into(attribute.value(), &mut out);
                out.push('"');
            }
        }
        out.push('>');
        stack.push((node, true));
        let children: Vec<Node> = node.children().collect();
        stack.extend(children.into_iter().rev().map(|child| (child, false)));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLEAN: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="100" height="100" viewBox="0 0 100 100"><defs><linearGradient id="g"><stop offset="0" stop-color="#fff"/></linearGradient></defs><circle cx="50" cy="50" r="40" fill="url(#g)"/><text x="10" y="90" font-size="12">証 A&amp;B</text><use xlink:href="#c"/><rect id="c" width="1" height="1"/></svg>"##;

    #[test]
    fn what_draws_survives_sanitizing() {
        let clean = sanitize_svg(CLEAN.as_bytes()).unwrap();
        for kept in [
            "<circle",
            r##"fill="url(#g)""##,
            "証 A&amp;B",
            r##"xlink:href="#c""##,
            "<stop",
            "viewBox",
        ] {
            assert!(clean.contains(kept), "{kept} in {clean}");
        }
        // The output is itself a valid SVG that passes the checks.
        check_svg(clean.as_bytes()).unwrap();
    }

    #[test]
    fn what_runs_or_fetches_is_dropped() {
        let attacks = [
            r#"<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect width="1" height="1"/></svg>"#,
            r#"<svg xmlns="http://www.w3.org/2000/svg" xmlns:h="http://www.w3.org/1999/xhtml"><h:script>alert(1)</h:script></svg>"#,
            r#"<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"><a xlink:href="&#106;avascript:alert(1)"><rect width="9" height="9"/></a></svg>"#,
            r#"<svg xmlns="http://www.w3.org/2000/svg"><foreignObject><div xmlns="http://www.w3.org/1999/xhtml">x<script>alert(1)</script></div></foreignObject></svg>"#,
            r#"<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>"#,
            r#"<svg xmlns="http://www.w3.org/2000/svg"><image href="https://evil.example/track.png" width="1" height="1"/></svg>"#,
            r#"<svg xmlns="http://www.w3.org/2000/svg"><rect fill="url(https://evil.example/x)" width="1" height="1"/></svg>"#,
            r#"<svg xmlns="http://www.w3.org/2000/svg"><rect style="fill:url(javascript:alert(1))" width="1" height="1"/></svg>"#,
            r#"<svg xmlns="http://www.w3.org/2000/svg"><style>@import url(https://evil.example/x.css)</style></svg>"#,
            r#"<svg xmlns="http://www.w3.org/2000/svg"><set attributeName="onmouseover" to="alert(1)"/><animate attributeName="href" to="javascript:alert(1)"/></svg>"#,
        ];
        for attack in attacks {
            let clean = sanitize_svg(attack.as_bytes()).unwrap();
            let lower = clean.to_ascii_lowercase();
            for bad in [
                "script",
                "onload",
                "javascript",
                "foreignobject",
                "evil.example",
                "<a",
                "<style",
                "<set",
                "<animate",
            ] {
                assert!(!lower.contains(bad), "{bad} survived {attack}: {clean}");
            }
        }
    }

    #[test]
    fn a_dtd_and_entities_are_refused() {
        let xxe = r#"<!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]><svg xmlns="http://www.w3.org/2000/svg"><text>&x;</text></svg>"#;
        assert!(matches!(sanitize_svg(xxe.as_bytes()), Err(ImageError::Svg(_))));
    }

    #[test]
    fn a_use_bomb_is_measured_without_rendering() {
        // Ten levels of ten <use> each: 10^10 elements once expanded.
        let mut svg = String::from(
            r#"<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"><defs><rect id="l0" width="1" height="1"/>"#,
        );
        for level in 1..=10 {
            svg.push_str(&format!(r#"<g id="l{level}">"#));
            for _ in 0..10 {
                svg.push_str(&format!(r##"<use xlink:href="#l{}"/>"##, level - 1));
            }
            svg.push_str("</g>");
        }
        svg.push_str(r##"</defs><use xlink:href="#l10"/></svg>"##);
        assert!(svg.len() < 4_000, "{}", svg.len());
        let started = std::time::Instant::now();
        assert!(matches!(check_svg(svg.as_bytes()), Err(ImageError::SvgTooComplex(_))));
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
        // Two levels (100 copies) are fine.
        let small = r##"<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"><defs><rect id="a" width="1" height="1"/><g id="b"><use xlink:href="#a"/><use xlink:href="#a"/></g></defs><use xlink:href="#b"/></svg>"##;
        check_svg(small.as_bytes()).unwrap();
    }

    #[test]
    fn use_cycles_and_deep_nesting_are_refused_not_a_crash() {
        let cycle = r##"<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"><g id="a"><use xlink:href="#a"/></g></svg>"##;
        assert!(matches!(check_svg(cycle.as_bytes()), Err(ImageError::SvgTooComplex(_))));
        let deep = format!(
            r#"<svg xmlns="http://www.w3.org/2000/svg">{}{}</svg>"#,
            "<g>".repeat(15_000),
            "</g>".repeat(15_000)
        );
        // Within the node limit; measured and sanitized without recursion.
        check_svg(deep.as_bytes()).unwrap();
        assert!(sanitize_svg(deep.as_bytes()).is_ok());
        let deeper = format!(
            r#"<svg xmlns="http://www.w3.org/2000/svg">{}{}</svg>"#,
            "<g>".repeat(30_000),
            "</g>".repeat(30_000)
        );
        assert!(matches!(
            check_svg(deeper.as_bytes()),
            Err(ImageError::SvgTooComplex(_))
        ));
    }

    #[test]
    fn not_an_svg_is_named() {
        assert!(matches!(check_svg(b"<html/>"), Err(ImageError::Svg(_))));
        assert!(matches!(check_svg(&[0xff, 0xfe]), Err(ImageError::Svg(_))));
    }
}
