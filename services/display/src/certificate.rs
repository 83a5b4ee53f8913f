//! The printable certificate: one A4 landscape page (PDF), in Japanese or
//! English, with a QR code that opens the badge's verification page.
//!
//! Text is set in a proportional TrueType font with Japanese glyphs (IPAex
//! Gothic, built in: see `fonts/README.md`; or the operator's choice),
//! subset into the PDF so a certificate stays small; the badge's own image
//! stands at the top, the issuer's logo and signatory where a university
//! puts them; the QR code is drawn as vector squares.

use printpdf::{
    Color, Mm, Op, ParsedFont, PdfDocument, PdfFontHandle, PdfPage, PdfSaveOptions, Point, Pt, RawImage, RawImageData,
    RawImageFormat, Rect, Rgb, TextItem, XObjectTransform,
};
use qrcode::{Color as QrColor, EcLevel, QrCode};

use crate::domain::presentation::{Signatory, StoredImage};

/// Why no certificate could be made.
#[derive(Debug, thiserror::Error)]
pub enum CertificateError {
    #[error("the certificate font {0} cannot be read: {1}")]
    FontFile(String, String),
    #[error("the certificate font {0} is not a usable TrueType/OpenType font")]
    FontParse(String),
    #[error("the QR code cannot hold the verification URL: {0}")]
    Qr(String),
}

/// IPAex Gothic 004.01 (IPA Font License v1.0), in the binary so that a
/// machine with no Japanese font still prints certificates.
pub const BUILT_IN_FONT: &[u8] = include_bytes!("../fonts/ipaexg.ttf");

/// A parsed font, loaded once.
pub struct CertificateFont(ParsedFont);

impl CertificateFont {
    /// The built-in IPAex Gothic.
    pub fn built_in() -> Self {
        Self(ParsedFont::from_bytes(BUILT_IN_FONT, 0, &mut Vec::new()).expect("the built-in font parses"))
    }

    /// The operator's font at `path`, or the built-in one.
    pub fn configured(path: Option<&str>) -> Result<Self, CertificateError> {
        match path {
            Some(path) => Self::load(path),
            None => Ok(Self::built_in()),
        }
    }

    /// Reads and parses a `.ttf`/`.otf` (the first face of a collection).
    pub fn load(path: &str) -> Result<Self, CertificateError> {
        let bytes = std::fs::read(path).map_err(|e| CertificateError::FontFile(path.into(), e.to_string()))?;
        ParsedFont::from_bytes(&bytes, 0, &mut Vec::new())
            .map(Self)
            .ok_or_else(|| CertificateError::FontParse(path.into()))
    }
}

/// What a certificate says.
pub struct CertificateData {
    pub japanese: bool,
    pub recipient: Option<String>,
    pub badge_name: String,
    pub description: String,
    pub issuer_name: String,
    pub issued_on: String,
    pub expires: Option<String>,
    pub verify_url: String,
    pub award_id: String,
    /// The badge image as a PNG (an SVG badge rendered first), if it could be had.
    pub badge_png: Option<Vec<u8>>,
    /// The issuer's logo (PNG or SVG), top left.
    pub logo: Option<StoredImage>,
    /// Who signs, above the signature line; without one the issuer's name stands there alone.
    pub signatory: Option<Signatory>,
}

/// A logo or signature as a PNG the PDF can hold: SVG rendered (keeping
/// its proportions), PNG as uploaded. `None` for one that cannot be read:
/// the certificate is still made, without it.
fn stored_png(image: &StoredImage) -> Option<Vec<u8>> {
    if image.content_type == "image/svg+xml" {
        crate::domain::baking::render_svg_within(&image.bytes, 600, false).ok()
    } else {
        akashi_image::check_png(&image.bytes).ok()?;
        Some(image.bytes.clone())
    }
}

/// Places `image` with its proportions inside the box at (`x`, `y`)
/// (bottom left, mm) of `max_w` × `max_h` mm; `centre_x` centres it
/// horizontally in the box. Returns the drawn width.
#[allow(clippy::too_many_arguments)]
fn place_image(
    doc: &mut PdfDocument,
    ops: &mut Vec<Op>,
    image: RawImage,
    x: f32,
    y: f32,
    max_w: f32,
    max_h: f32,
    centre_x: bool,
) -> f32 {
    let (w, h) = (image.width as f32, image.height as f32);
    // At 72 dpi one pixel is one point (0.3528 mm): the scale that fits the box.
    let scale = (max_w / (w * 0.3528)).min(max_h / (h * 0.3528));
    let drawn_w = w * scale * 0.3528;
    let left = if centre_x { x + (max_w - drawn_w) / 2.0 } else { x };
    let id = doc.add_image(&image);
    ops.push(Op::UseXobject {
        id,
        transform: XObjectTransform {
            translate_x: Some(Mm(left).into()),
            translate_y: Some(Mm(y).into()),
            scale_x: Some(scale),
            scale_y: Some(scale),
            dpi: Some(72.0),
            ..Default::default()
        },
    });
    drawn_w
}

/// The badge image's pixels as RGBA for the PDF, from a PNG.
fn badge_image(png: &[u8]) -> Option<RawImage> {
    let pixmap = resvg::tiny_skia::Pixmap::decode_png(png).ok()?;
    let rgba: Vec<u8> = pixmap
        .pixels()
        .iter()
        .flat_map(|p| {
            let c = p.demultiply();
            [c.red(), c.green(), c.blue(), c.alpha()]
        })
        .collect();
    Some(RawImage {
        pixels: RawImageData::U8(rgba),
        width: pixmap.width() as usize,
        height: pixmap.height() as usize,
        data_format: RawImageFormat::RGBA8,
        tag: Vec::new(),
    })
}

const PAGE_W: f32 = 297.0;
const PAGE_H: f32 = 210.0;

fn rgb(r: f32, g: f32, b: f32) -> Color {
    Color::Rgb(Rgb {
        r,
        g,
        b,
        icc_profile: None,
    })
}

/// How wide `text` is at `size` pt, in mm, from the font's own advances
/// (a character the font lacks counts one em).
fn width_mm(font: &ParsedFont, text: &str, size: f32) -> f32 {
    let per_em = f32::from(font.pdf_font_metrics.units_per_em.max(1));
    let ems: f32 = text
        .chars()
        .map(|c| match font.lookup_glyph_index(c as u32) {
            Some(glyph) => f32::from(font.get_horizontal_advance(glyph)) / per_em,
            None => 1.0,
        })
        .sum();
    ems * size * 0.3528
}

fn text_at(ops: &mut Vec<Op>, font: &printpdf::FontId, text: &str, size: f32, x: f32, y: f32) {
    ops.extend([
        Op::StartTextSection,
        Op::SetFont {
            font: PdfFontHandle::External(font.clone()),
            size: Pt(size),
        },
        Op::SetTextCursor {
            pos: Point::new(Mm(x), Mm(y)),
        },
        Op::ShowText {
            items: vec![TextItem::Text(text.to_string())],
        },
        Op::EndTextSection,
    ]);
}

fn centred(ops: &mut Vec<Op>, font: &printpdf::FontId, metrics: &ParsedFont, text: &str, size: f32, y: f32) {
    let x = ((PAGE_W - width_mm(metrics, text, size)) / 2.0).max(15.0);
    text_at(ops, font, text, size, x, y);
}

/// Splits a long description into lines of about `max` characters.
fn wrap(text: &str, max: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_inclusive(|c: char| c.is_whitespace() || (c as u32) >= 0x2E80) {
        if line.chars().count() + word.chars().count() > max && !line.is_empty() {
            lines.push(line.trim().to_string());
            line.clear();
        }
        line.push_str(word);
    }
    if !line.trim().is_empty() {
        lines.push(line.trim().to_string());
    }
    lines
}

/// Renders the certificate as PDF bytes.
pub fn render(data: &CertificateData, font: &CertificateFont) -> Result<Vec<u8>, CertificateError> {
    let mut doc = PdfDocument::new(&data.badge_name);
    let font_id = doc.add_font(&font.0);
    let mut ops = Vec::new();
    // A double frame: a fine outer line, a stronger inner one.
    for (inset, thickness, colour) in [(8.0, 0.8, rgb(0.55, 0.45, 0.2)), (11.0, 2.2, rgb(0.16, 0.27, 0.47))] {
        ops.push(Op::SetOutlineColor { col: colour });
        ops.push(Op::SetOutlineThickness { pt: Pt(thickness) });
        let mut frame = Rect::from_xywh(
            Mm(inset).into(),
            Mm(inset).into(),
            Mm(PAGE_W - 2.0 * inset).into(),
            Mm(PAGE_H - 2.0 * inset).into(),
        );
        frame.mode = Some(printpdf::PaintMode::Stroke);
        ops.push(Op::DrawRectangle { rectangle: frame });
    }
    // The badge itself, centred at the top.
    if let Some(image) = data.badge_png.as_deref().and_then(badge_image) {
        let size_mm = 34.0_f32;
        let top = PAGE_H - 20.0 - size_mm;
        place_image(
            &mut doc,
            &mut ops,
            image,
            (PAGE_W - size_mm) / 2.0,
            top,
            size_mm,
            size_mm,
            true,
        );
    }
    // The issuer's logo, top left inside the frame.
    if let Some(image) = data.logo.as_ref().and_then(stored_png).as_deref().and_then(badge_image) {
        place_image(&mut doc, &mut ops, image, 20.0, PAGE_H - 20.0 - 22.0, 50.0, 22.0, false);
    }
    ops.push(Op::SetFillColor {
        col: rgb(0.1, 0.12, 0.18),
    });
    let (title, certifies, awarded_by, issued, expires, verify, scan) = if data.japanese {
        (
            "修了証",
            "この証明書は、以下の者が",
            "発行者",
            "発行日",
            "有効期限",
            "検証",
            "QR コードを読み取ると検証できます",
        )
    } else {
        (
            "Certificate of Achievement",
            "This certifies that",
            "Issued by",
            "Issued on",
            "Valid until",
            "Verify at",
            "Scan to verify",
        )
    };
    centred(&mut ops, &font_id, &font.0, title, 28.0, 136.0);
    match &data.recipient {
        Some(recipient) => {
            centred(&mut ops, &font_id, &font.0, certifies, 12.0, 124.0);
            centred(&mut ops, &font_id, &font.0, recipient, 24.0, 111.0);
            let earned = if data.japanese {
                format!("「{}」を取得したことを証明します。", data.badge_name)
            } else {
                format!("has earned “{}”.", data.badge_name)
            };
            centred(&mut ops, &font_id, &font.0, &earned, 15.0, 99.0);
        }
        None => {
            // The earner keeps their name off public pages: the
            // certificate names the achievement alone.
            let (intro, by) = if data.japanese {
                (
                    "この証明書は、次の達成を証明します。",
                    format!("{} 発行", data.issuer_name),
                )
            } else {
                (
                    "This certifies the achievement of",
                    format!("awarded by {}", data.issuer_name),
                )
            };
            centred(&mut ops, &font_id, &font.0, intro, 12.0, 124.0);
            centred(&mut ops, &font_id, &font.0, &data.badge_name, 24.0, 111.0);
            centred(&mut ops, &font_id, &font.0, &by, 13.0, 99.0);
        }
    }
    let mut y = 89.0;
    for line in wrap(&data.description, if data.japanese { 48 } else { 96 })
        .into_iter()
        .take(3)
    {
        centred(&mut ops, &font_id, &font.0, &line, 10.5, y);
        y -= 5.5;
    }
    // The issuer signs: a line with its name beneath, bottom left.
    ops.push(Op::SetOutlineColor {
        col: rgb(0.1, 0.12, 0.18),
    });
    ops.push(Op::SetOutlineThickness { pt: Pt(0.6) });
    ops.push(Op::DrawLine {
        line: printpdf::Line {
            points: vec![
                printpdf::LinePoint {
                    p: Point::new(Mm(25.0), Mm(60.0)),
                    bezier: false,
                },
                printpdf::LinePoint {
                    p: Point::new(Mm(115.0), Mm(60.0)),
                    bezier: false,
                },
            ],
            is_closed: false,
        },
    });
    match &data.signatory {
        Some(signatory) => {
            // The handwritten signature stands on the line.
            if let Some(image) = signatory
                .signature
                .as_ref()
                .and_then(stored_png)
                .as_deref()
                .and_then(badge_image)
            {
                place_image(&mut doc, &mut ops, image, 27.0, 60.8, 80.0, 17.0, false);
            }
            text_at(&mut ops, &font_id, &signatory.name, 13.0, 25.0, 54.0);
            let role = match &signatory.title {
                Some(title) if data.japanese => format!("{} {title}", data.issuer_name),
                Some(title) => format!("{title}, {}", data.issuer_name),
                None => data.issuer_name.clone(),
            };
            text_at(&mut ops, &font_id, &role, 9.5, 25.0, 48.5);
        }
        None => {
            text_at(&mut ops, &font_id, &data.issuer_name, 13.0, 25.0, 54.0);
            text_at(&mut ops, &font_id, awarded_by, 9.0, 25.0, 48.5);
        }
    }
    text_at(
        &mut ops,
        &font_id,
        &format!("{issued}: {}", data.issued_on),
        11.0,
        25.0,
        40.0,
    );
    if let Some(e) = &data.expires {
        text_at(&mut ops, &font_id, &format!("{expires}: {e}"), 11.0, 25.0, 34.0);
    }
    text_at(&mut ops, &font_id, verify, 9.0, 25.0, 26.5);
    text_at(&mut ops, &font_id, &data.verify_url, 10.0, 25.0, 21.5);
    text_at(&mut ops, &font_id, &format!("ID {}", data.award_id), 7.5, 25.0, 16.5);
    text_at(&mut ops, &font_id, scan, 8.5, PAGE_W - 25.0 - 40.0, 17.0);
    // The QR code, bottom right: dark modules as filled squares.
    let code = QrCode::with_error_correction_level(data.verify_url.as_bytes(), EcLevel::M)
        .map_err(|e| CertificateError::Qr(e.to_string()))?;
    let modules = code.width();
    let size_mm = 40.0_f32;
    let cell = size_mm / modules as f32;
    let (x0, y0) = (PAGE_W - 25.0 - size_mm, 21.0);
    ops.push(Op::SetFillColor {
        col: rgb(0.0, 0.0, 0.0),
    });
    for (i, colour) in code.to_colors().into_iter().enumerate() {
        if colour == QrColor::Dark {
            let (col, row) = ((i % modules) as f32, (i / modules) as f32);
            let mut square = Rect::from_xywh(
                Mm(x0 + col * cell).into(),
                Mm(y0 + size_mm - (row + 1.0) * cell).into(),
                Mm(cell).into(),
                Mm(cell).into(),
            );
            square.mode = Some(printpdf::PaintMode::Fill);
            ops.push(Op::DrawRectangle { rectangle: square });
        }
    }
    let page = PdfPage::new(Mm(PAGE_W), Mm(PAGE_H), ops);
    let options = PdfSaveOptions {
        subset_fonts: true,
        ..PdfSaveOptions::default()
    };
    Ok(doc.with_pages(vec![page]).save(&options, &mut Vec::new()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_descriptions_wrap_and_widths_grow_with_text() {
        let lines = wrap("one two three four five six seven eight nine ten", 10);
        assert!(lines.len() > 3 && lines.iter().all(|l| l.chars().count() <= 12));
        let font = CertificateFont::built_in();
        assert!(width_mm(&font.0, "修了証", 10.0) > width_mm(&font.0, "abc", 10.0));
        // Proportional: an "i" is narrower than an "M".
        assert!(width_mm(&font.0, "iiii", 10.0) < width_mm(&font.0, "MMMM", 10.0));
    }
}
