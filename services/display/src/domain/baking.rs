//! Baking: embedding a badge's assertion in its image, so the image itself
//! can be verified wherever it travels (OB 2.0 §Baking).
//!
//! - PNG: one uncompressed `iTXt` chunk with keyword `openbadges`, written
//!   exactly as `openbadges\0\0\0\0\0<text>` (no compression, empty language
//!   and translated keyword), which is what openbadges-bakery reads.
//! - SVG: `xmlns:openbadges="http://openbadges.org"` on the root and, as its
//!   first child, `<openbadges:assertion verify="<URL>">` holding the JSON in
//!   CDATA; the root `<svg` must stay within the first 256 bytes.

use std::io::Cursor;

use akashi_model::text::escape_markup;
use base64::Engine;

/// Largest decoded image accepted (decompression bombs stop here).
const MAX_DECODED_BYTES: usize = 64 * 1024 * 1024;
/// Edge of a PNG rendered from an SVG badge image.
pub const RENDERED_EDGE: u32 = 512;

/// Why an image could not be baked.
#[derive(Debug, thiserror::Error)]
pub enum BakeError {
    #[error("the PNG could not be read: {0}")]
    Decode(String),
    #[error("the PNG could not be written: {0}")]
    Encode(String),
    #[error("the SVG has no root <svg> element near its start")]
    NotSvg,
    #[error("the SVG could not be rendered: {0}")]
    Render(String),
}

/// The iTXt keyword of OB 2.0 (an assertion, its URL or a JWS).
pub const OB2_KEYWORD: &str = "openbadges";
/// The iTXt keyword of OB 3.0 (a credential as JSON or VC-JWT).
pub const OB3_KEYWORD: &str = "openbadgecredential";

/// Re-encodes `source` with `text` in one uncompressed iTXt chunk named
/// `keyword`. Existing chunks other than the pixels are not carried over,
/// so an old baked credential cannot survive next to the new one.
pub fn bake_png(source: &[u8], keyword: &str, text: &str) -> Result<Vec<u8>, BakeError> {
    Ok(insert_itxt(&prepare_png(source)?, keyword, text))
}

/// The badge PNG decoded once and written again with its pixels alone (no
/// text chunks, so no old credential), ready for [`insert_itxt`]. Its size
/// is checked from the header before a pixel is decoded.
pub fn prepare_png(source: &[u8]) -> Result<Vec<u8>, BakeError> {
    akashi_image::check_png(source).map_err(|e| BakeError::Decode(e.to_string()))?;
    let mut decoder = png::Decoder::new(Cursor::new(source));
    decoder.set_limits(png::Limits {
        bytes: MAX_DECODED_BYTES,
    });
    // Palette and transparency are expanded, so the pixels stand on their own.
    decoder.set_transformations(png::Transformations::EXPAND);
    let mut reader = decoder.read_info().map_err(|e| BakeError::Decode(e.to_string()))?;
    let size = reader
        .output_buffer_size()
        .filter(|size| *size <= MAX_DECODED_BYTES)
        .ok_or_else(|| BakeError::Decode("image too large".into()))?;
    let mut pixels = vec![0; size];
    let frame = reader
        .next_frame(&mut pixels)
        .map_err(|e| BakeError::Decode(e.to_string()))?;
    let (color, depth) = reader.output_color_type();
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, frame.width, frame.height);
        encoder.set_color(color);
        encoder.set_depth(depth);
        let mut writer = encoder.write_header().map_err(|e| BakeError::Encode(e.to_string()))?;
        writer
            .write_image_data(&pixels[..frame.buffer_size()])
            .map_err(|e| BakeError::Encode(e.to_string()))?;
    }
    Ok(out)
}

/// A prepared PNG (see [`prepare_png`]) with one uncompressed iTXt chunk
/// `keyword` = `text` right after its header — written chunk by chunk,
/// without decoding anything, so a request costs a copy and a CRC.
pub fn insert_itxt(prepared: &[u8], keyword: &str, text: &str) -> Vec<u8> {
    // Signature (8) + IHDR: length (4), type (4), data (13), CRC (4).
    const AFTER_IHDR: usize = 8 + 4 + 4 + 13 + 4;
    // iTXt: keyword, NUL, compression flag 0, method 0, empty language tag
    // and translated keyword (each NUL-terminated), then the text.
    let mut data = Vec::with_capacity(keyword.len() + text.len() + 5);
    data.extend_from_slice(keyword.as_bytes());
    data.extend_from_slice(&[0, 0, 0, 0, 0]);
    data.extend_from_slice(text.as_bytes());
    let mut chunk = Vec::with_capacity(data.len() + 12);
    chunk.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let typed_start = chunk.len();
    chunk.extend_from_slice(b"iTXt");
    chunk.extend_from_slice(&data);
    let crc = crc32fast::hash(&chunk[typed_start..]);
    chunk.extend_from_slice(&crc.to_be_bytes());
    let mut out = Vec::with_capacity(prepared.len() + chunk.len());
    out.extend_from_slice(&prepared[..AFTER_IHDR]);
    out.extend_from_slice(&chunk);
    out.extend_from_slice(&prepared[AFTER_IHDR..]);
    out
}

fn cdata(text: &str) -> String {
    // "]]>" cannot appear inside CDATA: split it across two sections.
    format!("<![CDATA[{}]]>", text.replace("]]>", "]]]]><![CDATA[>"))
}

/// Bakes an SVG badge image: the namespace on the root, the assertion as its first child.
pub fn bake_svg(source: &str, assertion_url: &str, assertion: &str) -> Result<String, BakeError> {
    let start = source.find("<svg").filter(|i| *i < 256).ok_or(BakeError::NotSvg)?;
    let end = start + source[start..].find('>').ok_or(BakeError::NotSvg)?;
    let self_closing = source[..end].ends_with('/');
    let tag_end = if self_closing { end - 1 } else { end };
    let element = format!(
        "<openbadges:assertion verify=\"{}\">{}</openbadges:assertion>",
        escape_markup(assertion_url),
        cdata(assertion)
    );
    let mut baked = String::with_capacity(source.len() + assertion.len() + 200);
    baked.push_str(&source[..tag_end]);
    baked.push_str(" xmlns:openbadges=\"http://openbadges.org\"");
    if self_closing {
        baked.push('>');
        baked.push_str(&element);
        baked.push_str("</svg>");
        baked.push_str(&source[end + 1..]);
    } else {
        baked.push('>');
        baked.push_str(&element);
        baked.push_str(&source[end + 1..]);
    }
    Ok(baked)
}

/// Bakes an SVG badge image the OB 3.0 way: the OB 3.0 namespace on the
/// root and an `openbadges:credential` element — a VC-JWT in its `verify`
/// attribute, or the credential's JSON as its body.
pub fn bake_svg_ob3(source: &str, credential: &str) -> Result<String, BakeError> {
    let start = source.find("<svg").filter(|i| *i < 256).ok_or(BakeError::NotSvg)?;
    let end = start + source[start..].find('>').ok_or(BakeError::NotSvg)?;
    let self_closing = source[..end].ends_with('/');
    let tag_end = if self_closing { end - 1 } else { end };
    let element = if credential.trim_start().starts_with('{') {
        format!("<openbadges:credential>{}</openbadges:credential>", cdata(credential))
    } else {
        format!(
            "<openbadges:credential verify=\"{}\"></openbadges:credential>",
            escape_markup(credential)
        )
    };
    let mut baked = String::with_capacity(source.len() + credential.len() + 200);
    baked.push_str(&source[..tag_end]);
    baked.push_str(" xmlns:openbadges=\"https://purl.imsglobal.org/ob/v3p0\">");
    baked.push_str(&element);
    if self_closing {
        baked.push_str("</svg>");
    }
    baked.push_str(&source[end + 1..]);
    Ok(baked)
}

/// An SVG showing a PNG badge image, so a PNG badge can be baked as SVG too.
pub fn svg_around_png(png: &[u8]) -> Result<String, BakeError> {
    akashi_image::check_png(png).map_err(|e| BakeError::Decode(e.to_string()))?;
    let reader = png::Decoder::new(Cursor::new(png))
        .read_info()
        .map_err(|e| BakeError::Decode(e.to_string()))?;
    let (w, h) = (reader.info().width, reader.info().height);
    Ok(format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\">\
         <image width=\"{w}\" height=\"{h}\" href=\"data:image/png;base64,{}\"/></svg>",
        base64::engine::general_purpose::STANDARD.encode(png)
    ))
}

/// SVG rendering options with this machine's fonts, generic families mapped
/// to fonts that exist: families such as Arial are missing on many
/// servers, and text in them would silently vanish.
fn svg_options() -> resvg::usvg::Options<'static> {
    let mut options = resvg::usvg::Options::default();
    let fonts = options.fontdb_mut();
    fonts.load_system_fonts();
    // Japanese text draws on a machine without a Japanese font too.
    fonts.load_font_source(resvg::usvg::fontdb::Source::Binary(std::sync::Arc::new(
        crate::certificate::BUILT_IN_FONT,
    )));
    let installed: Vec<String> = fonts
        .faces()
        .flat_map(|f| f.families.iter().map(|(name, _)| name.clone()))
        .collect();
    let pick = |wanted: &[&str]| {
        wanted
            .iter()
            .find(|w| installed.iter().any(|i| i == *w))
            .map(|w| w.to_string())
    };
    let sans = [
        "Noto Sans CJK JP",
        "Noto Sans JP",
        "IPAexGothic",
        "IPAPGothic",
        "Noto Sans",
        "DejaVu Sans",
        "Liberation Sans",
    ];
    if let Some(family) = pick(&sans).or_else(|| installed.first().cloned()) {
        fonts.set_sans_serif_family(family);
    }
    if let Some(family) = pick(&["Noto Serif CJK JP", "Noto Serif", "DejaVu Serif", "Liberation Serif"]) {
        fonts.set_serif_family(family);
    }
    options
}

/// What the share card says.
pub struct CardText<'a> {
    pub badge: &'a str,
    pub issuer: &'a str,
    /// "Earned by Hanako Yamada" (or the Japanese), when the name is known.
    pub earned: Option<String>,
    /// The footer: the badge's status in words.
    pub footer: &'a str,
}

/// Edge of the badge on the share card, and the card's size (what
/// LinkedIn, Facebook and X display: 1200×630).
const CARD: (u32, u32) = (1200, 630);
const CARD_BADGE: u32 = 400;

/// Lines of at most `width` columns (a CJK character counts two), at most
/// `lines` of them, the last ending in "…" when text was cut.
fn wrap(text: &str, width: usize, lines: usize) -> Vec<String> {
    let columns = |c: char| if c.is_ascii() { 1 } else { 2 };
    let mut out: Vec<String> = Vec::new();
    let mut line = String::new();
    let mut used = 0;
    for word in text.split_inclusive(|c: char| c.is_whitespace() || !c.is_ascii()) {
        let w: usize = word.chars().map(columns).sum();
        let visible: usize = word.trim_end().chars().map(columns).sum();
        if used + visible > width && !line.is_empty() {
            out.push(line.trim_end().to_string());
            line.clear();
            used = 0;
        }
        line.push_str(word);
        used += w;
    }
    if !line.trim().is_empty() {
        out.push(line.trim_end().to_string());
    }
    if out.len() > lines {
        out.truncate(lines);
        if let Some(last) = out.last_mut() {
            last.push('…');
        }
    }
    out
}

/// The 1200×630 PNG that link previews show: the badge on the left; its
/// name, issuer and earner on the right. `badge_png` is the badge as a PNG
/// (an SVG badge rendered first).
pub fn render_share_card(text: &CardText<'_>, badge_png: &[u8]) -> Result<Vec<u8>, BakeError> {
    akashi_image::check_png(badge_png).map_err(|e| BakeError::Decode(e.to_string()))?;
    let (w, h) = CARD;
    let mut svg = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}">
<rect width="{w}" height="{h}" fill="#f3f4f1"/><rect x="30" y="30" width="{}" height="{}" rx="28" fill="#ffffff"/>
<rect x="30" y="{}" width="{}" height="8" fill="#185c2e"/>"##,
        w - 60,
        h - 60,
        h - 38,
        w - 60
    );
    let mut y = 170;
    for line in wrap(text.badge, 22, 3) {
        svg.push_str(&format!(
            r##"<text x="530" y="{y}" font-family="DejaVu Sans, IPAexGothic, IPAPGothic, sans-serif" font-size="54" font-weight="bold" fill="#1f2328">{}</text>"##,
            escape_markup(&line)
        ));
        y += 68;
    }
    y += 10;
    for line in wrap(text.issuer, 40, 2) {
        svg.push_str(&format!(
            r##"<text x="530" y="{y}" font-family="DejaVu Sans, IPAexGothic, IPAPGothic, sans-serif" font-size="34" fill="#59636e">{}</text>"##,
            escape_markup(&line)
        ));
        y += 46;
    }
    if let Some(earned) = &text.earned {
        y += 24;
        for line in wrap(earned, 40, 2) {
            svg.push_str(&format!(
                r##"<text x="530" y="{y}" font-family="DejaVu Sans, IPAexGothic, IPAPGothic, sans-serif" font-size="34" fill="#1f2328">{}</text>"##,
                escape_markup(&line)
            ));
            y += 46;
        }
    }
    svg.push_str(&format!(
        r##"<text x="530" y="{}" font-family="DejaVu Sans, IPAexGothic, IPAPGothic, sans-serif" font-size="28" font-weight="bold" fill="#185c2e">{}</text></svg>"##,
        h - 80,
        escape_markup(text.footer)
    ));
    let tree =
        resvg::usvg::Tree::from_data(svg.as_bytes(), &svg_options()).map_err(|e| BakeError::Render(e.to_string()))?;
    let mut card = resvg::tiny_skia::Pixmap::new(w, h).ok_or_else(|| BakeError::Render("no pixmap".into()))?;
    resvg::render(&tree, resvg::tiny_skia::Transform::identity(), &mut card.as_mut());
    let badge = resvg::tiny_skia::Pixmap::decode_png(badge_png).map_err(|e| BakeError::Decode(e.to_string()))?;
    let scale = CARD_BADGE as f32 / badge.width().max(badge.height()) as f32;
    let x = 80.0 + (CARD_BADGE as f32 - badge.width() as f32 * scale) / 2.0;
    let top = (h as f32 - CARD_BADGE as f32) / 2.0 + (CARD_BADGE as f32 - badge.height() as f32 * scale) / 2.0;
    card.draw_pixmap(
        0,
        0,
        badge.as_ref(),
        &resvg::tiny_skia::PixmapPaint {
            quality: resvg::tiny_skia::FilterQuality::Bicubic,
            ..Default::default()
        },
        resvg::tiny_skia::Transform::from_row(scale, 0.0, 0.0, scale, x, top),
        None,
    );
    card.encode_png().map_err(|e| BakeError::Render(e.to_string()))
}

/// Renders an SVG badge image to a square PNG, so an SVG badge can be baked as PNG too.
/// Its size once every `<use>` is expanded is checked before rendering.
pub fn render_svg(svg: &[u8]) -> Result<Vec<u8>, BakeError> {
    render_svg_within(svg, RENDERED_EDGE, true)
}

/// Renders an SVG (a logo, a signature) to a PNG whose longer edge is
/// `edge` pixels, keeping its proportions — or, when `square`, centred
/// on a square canvas.
pub fn render_svg_within(svg: &[u8], edge: u32, square: bool) -> Result<Vec<u8>, BakeError> {
    akashi_image::check_svg(svg).map_err(|e| BakeError::Render(e.to_string()))?;
    let options = svg_options();
    let tree = resvg::usvg::Tree::from_data(svg, &options).map_err(|e| BakeError::Render(e.to_string()))?;
    let size = tree.size();
    let scale = edge as f32 / size.width().max(size.height());
    let (width, height) = if square {
        (edge, edge)
    } else {
        (
            ((size.width() * scale).round() as u32).max(1),
            ((size.height() * scale).round() as u32).max(1),
        )
    };
    let mut pixmap =
        resvg::tiny_skia::Pixmap::new(width, height).ok_or_else(|| BakeError::Render("no pixmap".into()))?;
    resvg::render(
        &tree,
        resvg::tiny_skia::Transform::from_scale(scale, scale),
        &mut pixmap.as_mut(),
    );
    pixmap.encode_png().map_err(|e| BakeError::Render(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG_1X1: &str =
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";

    fn png() -> Vec<u8> {
        base64::engine::general_purpose::STANDARD.decode(PNG_1X1).unwrap()
    }

    #[test]
    fn the_png_chunk_is_written_the_way_bakery_reads_it() {
        let baked = bake_png(&png(), OB2_KEYWORD, r#"{"id":"x"}"#).unwrap();
        let needle = b"iTXtopenbadges\0\0\0\0\0{\"id\":\"x\"}";
        assert!(
            baked.windows(needle.len()).any(|w| w == needle),
            "uncompressed iTXt with empty tags"
        );
        // And it still decodes, with the chunk readable by a PNG reader.
        let mut reader = png::Decoder::new(Cursor::new(&baked)).read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        reader.next_frame(&mut buf).unwrap();
        let chunk = reader
            .info()
            .utf8_text
            .iter()
            .find(|c| c.keyword == "openbadges")
            .unwrap();
        assert_eq!(chunk.get_text().unwrap(), r#"{"id":"x"}"#);
    }

    #[test]
    fn svg_gets_the_namespace_and_the_assertion_first() {
        let baked = bake_svg(
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="10"><rect/></svg>"#,
            "http://h/a/1",
            r#"{"a":"]]>"}"#,
        )
        .unwrap();
        assert!(baked.starts_with(r#"<svg xmlns="http://www.w3.org/2000/svg" width="10" xmlns:openbadges="http://openbadges.org"><openbadges:assertion verify="http://h/a/1"><![CDATA["#));
        assert!(
            baked.contains("]]]]><![CDATA[>"),
            "a CDATA terminator in the JSON is split"
        );
        assert!(baked.ends_with("<rect/></svg>"));
        let closed = bake_svg(r#"<svg xmlns="http://www.w3.org/2000/svg"/>"#, "u", "{}").unwrap();
        assert!(closed.ends_with("</openbadges:assertion></svg>"));
        assert!(bake_svg("<html></html>", "u", "{}").is_err());
    }

    #[test]
    fn the_share_card_is_1200_by_630_with_the_badge_and_words() {
        let badge = render_svg(br#"<svg xmlns="http://www.w3.org/2000/svg" width="20" height="20"><rect width="20" height="20" fill="red"/></svg>"#).unwrap();
        let card = render_share_card(
            &CardText {
                badge: "データサイエンス入門 — Introduction to Data Science, a very long name indeed",
                issuer: "Akashi Demo University",
                earned: Some("Earned by Hanako Yamada".into()),
                footer: "Verified",
            },
            &badge,
        )
        .unwrap();
        let pixmap = resvg::tiny_skia::Pixmap::decode_png(&card).unwrap();
        assert_eq!((pixmap.width(), pixmap.height()), (1200, 630));
        // The badge (red) is drawn on the left, centred vertically.
        let centre = pixmap.pixel(280, 315).unwrap();
        assert!(centre.red() > 200 && centre.green() < 50, "{centre:?}");
        assert_eq!(wrap("a b c d e f", 5, 2), vec!["a b c", "d e f"]);
        assert_eq!(wrap("aaaa bbbb cccc", 5, 2), vec!["aaaa", "bbbb…"]);
    }

    #[test]
    fn png_badges_can_be_wrapped_and_svg_badges_rendered() {
        let svg = svg_around_png(&png()).unwrap();
        assert!(svg.starts_with("<svg") && svg.contains("data:image/png;base64,"));
        let rendered = render_svg(br#"<svg xmlns="http://www.w3.org/2000/svg" width="20" height="20"><rect width="20" height="20" fill="red"/></svg>"#).unwrap();
        let reader = png::Decoder::new(Cursor::new(&rendered)).read_info().unwrap();
        assert_eq!(reader.info().width, RENDERED_EDGE);
    }
}
