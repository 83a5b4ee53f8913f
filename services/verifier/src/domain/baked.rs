//! Reading what is baked into an uploaded badge image, defensively: the
//! file comes from a stranger. PNG decoding is bounded (no decompression
//! bombs); SVG is searched as text, never parsed with entity expansion, and
//! refused outright if it declares a DOCTYPE or entities.

use std::io::Cursor;

/// Largest decoded PNG accepted.
const MAX_DECODED_BYTES: usize = 32 * 1024 * 1024;

/// Why nothing usable was found in an upload.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BakedError {
    #[error("the file is neither a PNG nor an SVG")]
    NotAnImage,
    #[error("the PNG could not be read: {0}")]
    BadPng(String),
    #[error("the SVG declares a DOCTYPE or entities, which are refused")]
    UnsafeSvg,
    #[error("no Open Badge is baked into this image")]
    NothingBaked,
}

/// What an image carries: a URL, assertion JSON, or a JWS, as baked.
pub fn extract(bytes: &[u8]) -> Result<String, BakedError> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        return from_png(bytes);
    }
    // The first KiB is searched as bytes: cut as text, it could split a
    // character (cargo-fuzz found that panic).
    let head = &bytes[..bytes.len().min(1024)];
    if !head.windows(4).any(|w| w == b"<svg") {
        return Err(BakedError::NotAnImage);
    }
    let text = std::str::from_utf8(bytes).map_err(|_| BakedError::NotAnImage)?;
    from_svg(text)
}

fn from_png(bytes: &[u8]) -> Result<String, BakedError> {
    // The size a PNG declares is checked from its header before anything
    // is decoded: png's `Limits` does not bound the frame buffer, and a
    // 100-byte upload declaring 20000×20000 pixels asked for 1.6 GB (the
    // fuzzer's deep seeds found it).
    akashi_image::check_png(bytes).map_err(|e| BakedError::BadPng(e.to_string()))?;
    let mut decoder = png::Decoder::new(Cursor::new(bytes));
    decoder.set_limits(png::Limits {
        bytes: MAX_DECODED_BYTES,
    });
    let mut reader = decoder.read_info().map_err(|e| BakedError::BadPng(e.to_string()))?;
    // Chunks after the image data are only seen once the frame is read.
    let size = reader
        .output_buffer_size()
        .filter(|size| *size <= MAX_DECODED_BYTES)
        .ok_or_else(|| BakedError::BadPng("too large".into()))?;
    let mut pixels = vec![0; size];
    reader
        .next_frame(&mut pixels)
        .map_err(|e| BakedError::BadPng(e.to_string()))?;
    let info = reader.info();
    // OB 2.0 bakes under `openbadges`, OB 3.0 under `openbadgecredential`.
    let baked = |k: &str| k == "openbadges" || k == "openbadgecredential";
    let itxt = info
        .utf8_text
        .iter()
        .find(|c| baked(&c.keyword))
        .and_then(|c| c.get_text().ok());
    let text = itxt.or_else(|| {
        info.uncompressed_latin1_text
            .iter()
            .find(|c| baked(&c.keyword))
            .map(|c| c.text.clone())
    });
    text.map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .ok_or(BakedError::NothingBaked)
}

fn from_svg(text: &str) -> Result<String, BakedError> {
    let lower = text.to_ascii_lowercase();
    if lower.contains("<!doctype") || lower.contains("<!entity") {
        return Err(BakedError::UnsafeSvg);
    }
    // OB 2.0: <openbadges:assertion>; OB 3.0: <openbadges:credential>.
    let (start, closing) = match text.find("<openbadges:assertion") {
        Some(start) => (start, "</openbadges:assertion>"),
        None => (
            text.find("<openbadges:credential").ok_or(BakedError::NothingBaked)?,
            "</openbadges:credential>",
        ),
    };
    let tag_end = start + text[start..].find('>').ok_or(BakedError::NothingBaked)?;
    let tag = &text[start..tag_end];
    // The verify attribute (a URL or JWS) is what verifiers use first.
    if let Some(at) = tag.find("verify=\"") {
        let value = &tag[at + 8..];
        if let Some(end) = value.find('"') {
            let value = value[..end]
                .replace("&quot;", "\"")
                .replace("&lt;", "<")
                .replace("&amp;", "&");
            if !value.trim().is_empty() {
                return Ok(value.trim().to_string());
            }
        }
    }
    let body_end = text[tag_end..]
        .find(closing)
        .map(|i| tag_end + i)
        .ok_or(BakedError::NothingBaked)?;
    let body = &text[tag_end + 1..body_end];
    let mut content = String::new();
    let mut rest = body;
    while let Some(open) = rest.find("<![CDATA[") {
        let after = &rest[open + 9..];
        let close = after.find("]]>").ok_or(BakedError::NothingBaked)?;
        content.push_str(&after[..close]);
        rest = &after[close + 3..];
    }
    let content = if content.is_empty() {
        body.trim().to_string()
    } else {
        content.trim().to_string()
    };
    if content.is_empty() {
        Err(BakedError::NothingBaked)
    } else {
        Ok(content)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn svg_gives_the_verify_url_first_then_the_cdata() {
        let svg = r#"<svg xmlns:openbadges="http://openbadges.org"><openbadges:assertion verify="http://h/a/1"><![CDATA[{"id":"x"}]]></openbadges:assertion></svg>"#;
        assert_eq!(extract(svg.as_bytes()).unwrap(), "http://h/a/1");
        let no_verify =
            r#"<svg><openbadges:assertion><![CDATA[{"id":"]]]]><![CDATA[>"}]]></openbadges:assertion></svg>"#;
        assert_eq!(extract(no_verify.as_bytes()).unwrap(), r#"{"id":"]]>"}"#);
    }

    #[test]
    fn refuses_what_is_not_a_baked_image() {
        assert_eq!(extract(b"GIF89a"), Err(BakedError::NotAnImage));
        assert_eq!(extract(b"<svg></svg>"), Err(BakedError::NothingBaked));
        let xxe = br#"<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]><svg>&x;</svg>"#;
        assert_eq!(extract(xxe), Err(BakedError::UnsafeSvg));
        assert!(matches!(
            extract(b"\x89PNG\r\n\x1a\nbroken"),
            Err(BakedError::BadPng(_))
        ));
    }

    #[test]
    fn ob3_baked_svg_gives_the_vc_jwt_or_the_json() {
        let jwt = r#"<svg xmlns:openbadges="https://purl.imsglobal.org/ob/v3p0"><openbadges:credential verify="a.b.c"></openbadges:credential></svg>"#;
        assert_eq!(extract(jwt.as_bytes()).unwrap(), "a.b.c");
        let json = r#"<svg><openbadges:credential><![CDATA[{"id":"x"}]]></openbadges:credential></svg>"#;
        assert_eq!(extract(json.as_bytes()).unwrap(), r#"{"id":"x"}"#);
    }

    #[test]
    fn a_character_across_the_first_kib_is_not_a_panic() {
        let mut svg = "<svg>".to_string();
        svg.push_str(&"x".repeat(1018));
        svg.push_str("証明</svg>");
        assert_eq!(extract(svg.as_bytes()), Err(BakedError::NothingBaked));
    }

    #[test]
    fn a_png_declaring_a_huge_canvas_is_refused_before_decoding() {
        // The fuzzer's crash: a tiny PNG whose header declares 20000×20000.
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        png.extend_from_slice(&20_000u32.to_be_bytes());
        png.extend_from_slice(&20_000u32.to_be_bytes());
        png.extend_from_slice(&[8, 6, 0, 0, 0, 0, 0, 0, 0]);
        assert!(matches!(extract(&png), Err(BakedError::BadPng(_))));
    }
}
