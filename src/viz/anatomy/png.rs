//! Mask cells as a PNG data URI: one pixel per element, colours from a small palette, so the
//! SVG stays a single self-contained file.

use base64::Engine;

use crate::error::{MergeError, Result};

/// `cells` (row-major, `width` × `height`, each an index into `palette`) as
/// `data:image/png;base64,…`.
pub fn png_data_uri(
    cells: &[u8],
    width: usize,
    height: usize,
    palette: &[[u8; 3]],
) -> Result<String> {
    let failed = |e: png::EncodingError| MergeError::Unsupported(format!("mask image: {e}"));
    let (w, h) = (
        u32::try_from(width).map_err(|_| MergeError::Unsupported("mask image too wide".into()))?,
        u32::try_from(height).map_err(|_| MergeError::Unsupported("mask image too tall".into()))?,
    );
    let mut bytes = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut bytes, w, h);
        encoder.set_color(png::ColorType::Indexed);
        encoder.set_depth(png::BitDepth::Eight);
        encoder.set_palette(palette.concat());
        let mut writer = encoder.write_header().map_err(failed)?;
        writer.write_image_data(cells).map_err(failed)?;
        writer.finish().map_err(failed)?;
    }
    let encoded = base64::engine::general_purpose::STANDARD.encode(&bytes);
    Ok(format!("data:image/png;base64,{encoded}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_png_that_decodes_to_the_cells() {
        let cells = [0u8, 1, 2, 1, 0, 0];
        let uri = png_data_uri(&cells, 3, 2, &[[0, 0, 0], [255, 0, 0], [0, 255, 0]]).unwrap();
        let b64 = uri.strip_prefix("data:image/png;base64,").unwrap();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap();
        let mut reader = png::Decoder::new(std::io::Cursor::new(bytes))
            .read_info()
            .unwrap();
        let mut out = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut out).unwrap();
        assert_eq!((info.width, info.height), (3, 2));
        assert_eq!(&out[..info.buffer_size()], &cells);
    }
}
