//! Badge images from untrusted hands.
//!
//! A tenant's editor uploads a badge image once; every visitor of every
//! badge page then makes display decode or render it. So nothing is decoded
//! or rendered before its cost is known:
//!
//! - a PNG's dimensions are read from its header (`IHDR`, always the first
//!   chunk) and bounded before a pixel is decoded — a 389 KB file can
//!   declare 20000×20000 pixels (1.6 GB of RGBA);
//! - an SVG is parsed (no DTD, a node limit) and its size *after* `<use>`
//!   expansion computed without rendering — a 1 KB file of nested `<use>`
//!   can stand for 10⁵ copies;
//! - an SVG is kept only through an allow-list ([`sanitize_svg`]): SVG
//!   elements and presentation attributes that draw, nothing that runs,
//!   fetches or embeds foreign content. A substring blacklist (`<script`)
//!   let `onload=`, `<h:script>`, `&#106;avascript:` and `foreignObject`
//!   through.

mod svg;

pub use svg::{check_svg, sanitize_svg};

/// Bounds on what is decoded or rendered.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Longest edge of a PNG, in pixels.
    pub max_edge: u32,
    /// Pixels of a PNG (width × height).
    pub max_pixels: u64,
    /// XML nodes of an SVG as written.
    pub max_svg_nodes: u32,
    /// Elements of an SVG once every `<use>` is expanded.
    pub max_svg_expanded: u64,
}

/// The limits Akashi applies: generous for a badge (typically 256–1024 px,
/// a few hundred elements), far below what hurts a server.
pub const LIMITS: Limits = Limits {
    max_edge: 4096,
    max_pixels: 2048 * 2048,
    max_svg_nodes: 20_000,
    max_svg_expanded: 20_000,
};

/// Why an image is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImageError {
    #[error("not a PNG (no PNG signature and IHDR header)")]
    NotPng,
    #[error("the PNG is {width}×{height} pixels; at most {max_edge} on a side and {max_pixels} pixels")]
    PngTooLarge {
        width: u32,
        height: u32,
        max_edge: u32,
        max_pixels: u64,
    },
    #[error("not a usable SVG: {0}")]
    Svg(String),
    #[error("the SVG is too complex: {0}")]
    SvgTooComplex(String),
}

const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

/// Whether `bytes` start like a PNG.
pub fn is_png(bytes: &[u8]) -> bool {
    bytes.starts_with(PNG_SIGNATURE)
}

/// The width and height a PNG declares, read from its header alone.
pub fn png_dimensions(bytes: &[u8]) -> Result<(u32, u32), ImageError> {
    // Signature (8), then the IHDR chunk: length (4) = 13, "IHDR" (4),
    // width (4), height (4), … — the PNG spec requires IHDR first.
    if !is_png(bytes) || bytes.len() < 24 || &bytes[12..16] != b"IHDR" {
        return Err(ImageError::NotPng);
    }
    let be = |at: usize| u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
    Ok((be(16), be(20)))
}

/// Checks a PNG's declared size against [`LIMITS`] before decoding.
pub fn check_png(bytes: &[u8]) -> Result<(u32, u32), ImageError> {
    let (width, height) = png_dimensions(bytes)?;
    let limits = LIMITS;
    if width == 0
        || height == 0
        || width > limits.max_edge
        || height > limits.max_edge
        || u64::from(width) * u64::from(height) > limits.max_pixels
    {
        return Err(ImageError::PngTooLarge {
            width,
            height,
            max_edge: limits.max_edge,
            max_pixels: limits.max_pixels,
        });
    }
    Ok((width, height))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png_header(width: u32, height: u32) -> Vec<u8> {
        let mut png = PNG_SIGNATURE.to_vec();
        png.extend_from_slice(&13u32.to_be_bytes());
        png.extend_from_slice(b"IHDR");
        png.extend_from_slice(&width.to_be_bytes());
        png.extend_from_slice(&height.to_be_bytes());
        png.extend_from_slice(&[8, 6, 0, 0, 0, 0, 0, 0, 0]);
        png
    }

    #[test]
    fn a_png_declaring_a_huge_canvas_is_refused_from_its_header() {
        assert_eq!(check_png(&png_header(512, 512)), Ok((512, 512)));
        assert!(matches!(
            check_png(&png_header(20_000, 20_000)),
            Err(ImageError::PngTooLarge { .. })
        ));
        // Within the edge, over the pixel count.
        assert!(matches!(
            check_png(&png_header(4096, 4096)),
            Err(ImageError::PngTooLarge { .. })
        ));
        assert!(matches!(
            check_png(&png_header(0, 10)),
            Err(ImageError::PngTooLarge { .. })
        ));
        assert_eq!(check_png(b"GIF89a"), Err(ImageError::NotPng));
        assert_eq!(check_png(PNG_SIGNATURE), Err(ImageError::NotPng));
    }
}
