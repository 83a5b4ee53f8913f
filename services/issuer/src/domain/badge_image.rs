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
    /// A PNG declaring too many pixels, an SVG that does not parse as one
    /// (a DTD or entities included) or whose `<use>` expansion is too large.
    #[error("{0}")]
    Unusable(#[from] akashi_image::ImageError),
}

/// A PNG or SVG image, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadgeImage {
    bytes: Vec<u8>,
    content_type: &'static str,
}

impl BadgeImage {
    /// Recognises `bytes` as PNG or SVG.
    pub fn parse(bytes: Vec<u8>) -> Result<Self, ImageError> {
        if bytes.is_empty() {
            return Err(ImageError::Empty);
        }
        if bytes.len() > MAX_IMAGE_BYTES {
            return Err(ImageError::TooLarge);
        }
        if akashi_image::is_png(&bytes) {
            // Its size is read from the header: every visitor's page makes
            // display decode it, so a huge canvas is refused here.
            akashi_image::check_png(&bytes)?;
            return Ok(Self {
                bytes,
                content_type: "image/png",
            });
        }
        let text = std::str::from_utf8(&bytes).map_err(|_| ImageError::UnsupportedFormat)?;
        if !text.to_ascii_lowercase().contains("<svg") {
            return Err(ImageError::UnsupportedFormat);
        }
        // Badge images are shown in pages and baked into files people open:
        // what is kept is the SVG rewritten through an allow-list of what
        // draws — no script, event handler, foreign content or outside URL.
        let clean = akashi_image::sanitize_svg(&bytes)?;
        Ok(Self {
            bytes: clean.into_bytes(),
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
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        png.extend_from_slice(&[0, 0, 0, 64, 0, 0, 0, 64, 8, 6, 0, 0, 0]);
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
        assert!(matches!(BadgeImage::parse(xxe.to_vec()), Err(ImageError::Unusable(_))));
        let script =
            br#"<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script><rect width="1" height="1"/></svg>"#;
        let kept = BadgeImage::parse(script.to_vec()).unwrap();
        let kept = String::from_utf8(kept.into_bytes()).unwrap();
        assert!(!kept.contains("script") && kept.contains("<rect"), "{kept}");
        let mut huge = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        huge.extend_from_slice(&[0, 0, 0x4e, 0x20, 0, 0, 0x4e, 0x20, 8, 6, 0, 0, 0]);
        assert!(matches!(BadgeImage::parse(huge), Err(ImageError::Unusable(_))));
    }
}
