//! The printable certificate: one A4 landscape page (PDF), in Japanese or
//! English, with a QR code that opens the badge's verification page.
//!
//! Text is set in a TrueType font with Japanese glyphs (IPA Gothic by
//! default, Debian's `fonts-ipafont-gothic`), subset into the PDF so a
//! certificate stays small. The QR code is drawn as vector squares.

use printpdf::{
    Color, Mm, Op, ParsedFont, PdfDocument, PdfFontHandle, PdfPage, PdfSaveOptions, Point, Pt, Rect, Rgb, TextItem,
};
use qrcode::{Color as QrColor, EcLevel, QrCode};

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

/// A parsed font, loaded once.
pub struct CertificateFont(ParsedFont);

impl CertificateFont {
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

/// Roughly how wide `text` is at `size` pt, in mm: full-width glyphs are
/// one em, others about half (enough to centre a line).
fn width_mm(text: &str, size: f32) -> f32 {
    let ems: f32 = text
        .chars()
        .map(|c| if (c as u32) >= 0x2E80 { 1.0 } else { 0.55 })
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

fn centred(ops: &mut Vec<Op>, font: &printpdf::FontId, text: &str, size: f32, y: f32) {
    let x = ((PAGE_W - width_mm(text, size)) / 2.0).max(15.0);
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
    // Frame.
    ops.push(Op::SetOutlineColor {
        col: rgb(0.16, 0.27, 0.47),
    });
    ops.push(Op::SetOutlineThickness { pt: Pt(2.5) });
    let mut frame = Rect::from_xywh(
        Mm(10.0).into(),
        Mm(10.0).into(),
        Mm(PAGE_W - 20.0).into(),
        Mm(PAGE_H - 20.0).into(),
    );
    frame.mode = Some(printpdf::PaintMode::Stroke);
    ops.push(Op::DrawRectangle { rectangle: frame });
    ops.push(Op::SetFillColor {
        col: rgb(0.1, 0.12, 0.18),
    });
    let (title, certifies, awarded_by, issued, expires, verify) = if data.japanese {
        (
            "修了証",
            "この証明書は、以下の者が",
            "発行者",
            "発行日",
            "有効期限",
            "検証:",
        )
    } else {
        (
            "Certificate of Achievement",
            "This certifies that",
            "Issued by",
            "Issued on",
            "Valid until",
            "Verify:",
        )
    };
    centred(&mut ops, &font_id, title, 30.0, 170.0);
    centred(&mut ops, &font_id, certifies, 13.0, 152.0);
    let recipient = data.recipient.clone().unwrap_or_else(|| "—".into());
    centred(&mut ops, &font_id, &recipient, 24.0, 138.0);
    let earned = if data.japanese {
        format!("「{}」を取得したことを証明します。", data.badge_name)
    } else {
        format!("has earned “{}”.", data.badge_name)
    };
    centred(&mut ops, &font_id, &earned, 16.0, 124.0);
    let mut y = 112.0;
    for line in wrap(&data.description, if data.japanese { 44 } else { 90 })
        .into_iter()
        .take(3)
    {
        centred(&mut ops, &font_id, &line, 10.5, y);
        y -= 6.0;
    }
    text_at(
        &mut ops,
        &font_id,
        &format!("{awarded_by}: {}", data.issuer_name),
        12.0,
        25.0,
        62.0,
    );
    text_at(
        &mut ops,
        &font_id,
        &format!("{issued}: {}", data.issued_on),
        12.0,
        25.0,
        54.0,
    );
    if let Some(e) = &data.expires {
        text_at(&mut ops, &font_id, &format!("{expires}: {e}"), 12.0, 25.0, 46.0);
    }
    text_at(
        &mut ops,
        &font_id,
        &format!("{verify} {}", data.verify_url),
        8.5,
        25.0,
        30.0,
    );
    text_at(&mut ops, &font_id, &format!("ID {}", data.award_id), 7.5, 25.0, 24.0);
    // The QR code, bottom right: dark modules as filled squares.
    let code = QrCode::with_error_correction_level(data.verify_url.as_bytes(), EcLevel::M)
        .map_err(|e| CertificateError::Qr(e.to_string()))?;
    let modules = code.width();
    let size_mm = 40.0_f32;
    let cell = size_mm / modules as f32;
    let (x0, y0) = (PAGE_W - 25.0 - size_mm, 22.0);
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
        assert!(width_mm("修了証", 10.0) > width_mm("abc", 10.0));
    }
}
