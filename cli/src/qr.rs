//! A device's configuration as a QR code, for phone apps to scan: drawn on the terminal with
//! half-block characters, or as a PNG image.
//!
//! Both carry the text byte for byte, with the quiet zone of four modules the standard asks
//! for. The terminal drawing is meant for light text on a dark background (as `qrencode -t
//! UTF8` draws): light modules are drawn, dark ones left blank.

use qrcode::{Color, EcLevel, QrCode};

/// Modules of blank border on each side.
const QUIET_ZONE: usize = 4;
/// Pixels per module in the PNG.
const PNG_SCALE: usize = 8;

/// Why a text cannot become a QR code.
#[derive(Debug, thiserror::Error)]
pub enum QrError {
    #[error("the configuration is too long for a QR code: {0}")]
    Encode(String),
    #[error("failed to encode the QR code as PNG: {0}")]
    Png(String),
}

/// The code's modules with the quiet zone around them: `true` is dark.
struct Grid {
    size: usize,
    dark: Vec<bool>,
}

impl Grid {
    fn of(text: &str) -> Result<Grid, QrError> {
        // Medium error correction: what phone apps scan reliably off a screen, and room
        // for a full configuration.
        let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M)
            .map_err(|error| QrError::Encode(error.to_string()))?;
        let width = code.width();
        let colors = code.to_colors();
        let size = width + 2 * QUIET_ZONE;
        let mut dark = vec![false; size * size];
        for y in 0..width {
            for x in 0..width {
                dark[(y + QUIET_ZONE) * size + x + QUIET_ZONE] =
                    colors[y * width + x] == Color::Dark;
            }
        }
        Ok(Grid { size, dark })
    }

    fn is_dark(&self, x: usize, y: usize) -> bool {
        x < self.size && y < self.size && self.dark[y * self.size + x]
    }
}

/// The code drawn with half blocks: each character is two modules, one above the other.
pub fn terminal(text: &str) -> Result<String, QrError> {
    let grid = Grid::of(text)?;
    let mut out = String::new();
    for y in (0..grid.size).step_by(2) {
        for x in 0..grid.size {
            // Light modules are drawn (light on dark); below the last row is light too.
            let top = !grid.is_dark(x, y);
            let bottom = y + 1 >= grid.size || !grid.is_dark(x, y + 1);
            out.push(match (top, bottom) {
                (true, true) => '█',
                (true, false) => '▀',
                (false, true) => '▄',
                (false, false) => ' ',
            });
        }
        out.push('\n');
    }
    Ok(out)
}

/// The code as an 8-bit greyscale PNG, dark on white.
pub fn png(text: &str) -> Result<Vec<u8>, QrError> {
    let grid = Grid::of(text)?;
    let side = grid.size * PNG_SCALE;
    let mut pixels = Vec::with_capacity(side * side);
    for py in 0..side {
        for px in 0..side {
            let dark = grid.is_dark(px / PNG_SCALE, py / PNG_SCALE);
            pixels.push(if dark { 0u8 } else { 255u8 });
        }
    }
    let mut out = Vec::new();
    let side = u32::try_from(side).map_err(|_| QrError::Png("image too large".into()))?;
    let mut encoder = png::Encoder::new(&mut out, side, side);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::Eight);
    let fail = |error: png::EncodingError| QrError::Png(error.to_string());
    let mut writer = encoder.write_header().map_err(fail)?;
    writer.write_image_data(&pixels).map_err(fail)?;
    writer.finish().map_err(fail)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = "[Interface]\nPrivateKey = aGVsbG8gd29ybGQgaGVsbG8gd29ybGQgaGVsbG8gd28=\nAddress = 10.80.200.2/32\nMTU = 1280\n\n[Peer]\nPublicKey = d29ybGQgaGVsbG8gd29ybGQgaGVsbG8gd29ybGQgaGU=\nPresharedKey = c2VjcmV0IHNlY3JldCBzZWNyZXQgc2VjcmV0IHNlY3I=\nEndpoint = [2001:db8::1]:51820\nAllowedIPs = 10.80.0.1/32, 10.80.64.0/24, 10.80.200.0/24\nPersistentKeepalive = 25\n";

    fn decode(width: usize, height: usize, dark: impl Fn(usize, usize) -> bool) -> String {
        let mut image = rqrr::PreparedImage::prepare_from_greyscale(width, height, |x, y| {
            if dark(x, y) {
                0
            } else {
                255
            }
        });
        let grids = image.detect_grids();
        assert_eq!(grids.len(), 1, "one code in the image");
        grids[0].decode().expect("decodes").1
    }

    #[test]
    fn the_png_decodes_to_exactly_the_text() {
        let bytes = png(CONFIG).unwrap();
        let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
        let mut reader = decoder.read_info().unwrap();
        let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut pixels).unwrap();
        let (w, h) = (info.width as usize, info.height as usize);
        assert_eq!(decode(w, h, |x, y| pixels[y * w + x] < 128), CONFIG);
    }

    #[test]
    fn the_terminal_drawing_decodes_to_exactly_the_text() {
        let drawn = terminal(CONFIG).unwrap();
        let rows: Vec<Vec<char>> = drawn.lines().map(|l| l.chars().collect()).collect();
        let width = rows[0].len();
        // Back to modules (drawn = light), then scaled up for the detector.
        let module_dark = |x: usize, y: usize| -> bool {
            let c = rows[y / 2][x];
            let light = if y.is_multiple_of(2) {
                matches!(c, '█' | '▀')
            } else {
                matches!(c, '█' | '▄')
            };
            !light
        };
        let scale = 4;
        let height = rows.len() * 2;
        let text = decode(width * scale, height * scale, |x, y| {
            module_dark(x / scale, y / scale)
        });
        assert_eq!(text, CONFIG);
    }

    #[test]
    fn a_text_too_long_for_any_code_is_refused() {
        let long = "x".repeat(5000);
        assert!(matches!(png(&long), Err(QrError::Encode(_))));
        assert!(matches!(terminal(&long), Err(QrError::Encode(_))));
    }
}
