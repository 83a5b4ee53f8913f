//! A badge image as uploaded: PNG or SVG only (what Open Badges allows),
//! recognised by its bytes rather than by what the client claims.

/// Largest image accepted.
pub const MAX_IMAGE_BYTES: usize = 512 * 1024;

/// Why an upload is not a usable badge image.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ImageError {
    #[error("image is empty")]
    Empty,
    #[error("image is larger than {MAX_IMAGE_BYTES} bytes")]
    TooLarge,
    #[error("image must be PNG or SVG")]
    UnsupportedFormat,
    #[error("SVG must not contain a DOCTYPE, entities or scripts")]
    UnsafeSvg,
}

/// A PNG or SVG image, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadgeImage {
    bytes: Vec<u8>,
    content_type: &'static str,
}

const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

impl BadgeImage {
    /// Recognises `bytes` as PNG or SVG.
    pub fn parse(bytes: Vec<u8>) -> Result<Self, ImageError> {
        if bytes.is_empty() {
            return Err(ImageError::Empty);
        }
        if bytes.len() > MAX_IMAGE_BYTES {
            return Err(ImageError::TooLarge);
        }
        if bytes.starts_with(PNG_SIGNATURE) {
            return Ok(Self {
                bytes,
                content_type: "image/png",
            });
        }
        let text = std::str::from_utf8(&bytes).map_err(|_| ImageError::UnsupportedFormat)?;
        let lower = text.to_ascii_lowercase();
        if !lower.contains("<svg") {
            return Err(ImageError::UnsupportedFormat);
        }
        // Badge images are shown in pages and baked into files people open:
        // no external entities, no scripts.
        if lower.contains("<!doctype")
            || lower.contains("<!entity")
            || lower.contains("<script")
            || lower.contains("javascript:")
        {
            return Err(ImageError::UnsafeSvg);
        }
        Ok(Self {
            bytes,
            content_type: "image/svg+xml",
        })
    }

    /// `image/png` or `image/svg+xml`.
    pub fn content_type(&self) -> &'static str {
        self.content_type
    }

    /// The image bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The image bytes, owned.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_png_and_svg_by_content() {
        let mut png = PNG_SIGNATURE.to_vec();
        png.extend_from_slice(&[0; 16]);
        assert_eq!(BadgeImage::parse(png).unwrap().content_type(), "image/png");
        let svg = br#"<svg xmlns="http://www.w3.org/2000/svg"/>"#.to_vec();
        assert_eq!(BadgeImage::parse(svg).unwrap().content_type(), "image/svg+xml");
    }

    #[test]
    fn refuses_other_formats_oversize_and_unsafe_svg() {
        assert_eq!(BadgeImage::parse(vec![]), Err(ImageError::Empty));
        assert_eq!(
            BadgeImage::parse(b"GIF89a....".to_vec()),
            Err(ImageError::UnsupportedFormat)
        );
        assert_eq!(
            BadgeImage::parse(vec![b'a'; MAX_IMAGE_BYTES + 1]),
            Err(ImageError::TooLarge)
        );
        let xxe = br#"<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]><svg>&x;</svg>"#;
        assert_eq!(BadgeImage::parse(xxe.to_vec()), Err(ImageError::UnsafeSvg));
        let script = br#"<svg><script>alert(1)</script></svg>"#;
        assert_eq!(BadgeImage::parse(script.to_vec()), Err(ImageError::UnsafeSvg));
    }
}
