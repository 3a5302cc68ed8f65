//! The chosen tensor's masks as images: per expert what survives TIES's trim (and whether it
//! agrees with the elected sign), the elected sign, and per expert what DARE keeps.

use super::{hex, rect, text};
use crate::error::Result;
use crate::viz::anatomy::png::png_data_uri;
use crate::viz::anatomy::TensorMasks;

/// Longest side of a drawn mask, in SVG pixels.
const IMAGE_SIDE: f64 = 192.0;
const GAP: f64 = 16.0;
/// Narrowest column: room for the captions above a narrow image.
const CAPTION_WIDTH: f64 = 170.0;
const DROPPED: [u8; 3] = [229, 229, 229];
/// TIES cells, indexed by `TIES_DROPPED`, `TIES_AGREES`, `TIES_DISAGREES`.
const TIES_PALETTE: [[u8; 3]; 3] = [DROPPED, [26, 152, 80], [215, 48, 39]];
/// Elected sign: 0 is −, 1 is +.
const ELECTED_PALETTE: [[u8; 3]; 2] = [[253, 174, 97], [69, 117, 180]];
const DARE_PALETTE: [[u8; 3]; 2] = [DROPPED, [49, 54, 149]];

/// Draws at (x, y); returns (width, height).
pub fn draw(out: &mut String, masks: &TensorMasks, x: f64, y: f64) -> Result<(f64, f64)> {
    let [rows, cols] = masks.shown;
    let scale = IMAGE_SIDE / rows.max(cols).max(1) as f64;
    let grid = Grid {
        w: cols as f64 * scale,
        h: rows as f64 * scale,
        cols,
        rows,
    };
    let (w, h) = (grid.w, grid.h);
    let part = match masks.shown == masks.matrix {
        true => String::new(),
        false => format!(", its first {rows}×{cols} shown"),
    };
    let title = format!("Masks of {} {:?}{part}", masks.tensor, masks.shape);
    text(out, x, y + 12.0, 13.0, "bold", &title);
    let method = [
        format!(
            "TIES keeps each task vector's top {:.0}% by |τ|, then elects a sign per element (weight 1 each);",
            masks.density * 100.0
        ),
        format!(
            "DARE keeps each element with probability {} (seed {}): the masks a merge with these settings uses.",
            masks.density, masks.seed
        ),
    ];
    text(out, x, y + 27.0, 10.0, "normal", &method[0]);
    text(out, x, y + 40.0, 10.0, "normal", &method[1]);
    let numel = masks.matrix[0] * masks.matrix[1];
    let percent = |n: u64| 100.0 * n as f64 / numel.max(1) as f64;
    let mut row_y = y + 50.0;
    let mut right = x;

    let mut column = x;
    for (counts, cells) in masks.ties.iter().zip(&masks.images.ties) {
        let caption = [
            format!("TIES {}", counts.model),
            format!(
                "{:.1}% agree, {:.1}% outvoted",
                percent(counts.agrees),
                percent(counts.disagrees)
            ),
        ];
        grid.image(out, (column, row_y), cells, &TIES_PALETTE, &caption)?;
        column += w.max(CAPTION_WIDTH) + GAP;
    }
    let elected = [
        "elected sign".to_string(),
        format!("{:.1}% +", percent(masks.elected_positive)),
    ];
    let cells = &masks.images.elected;
    grid.image(out, (column, row_y), cells, &ELECTED_PALETTE, &elected)?;
    right = right.max(column + w.max(CAPTION_WIDTH));
    row_y += h + 44.0;

    column = x;
    for (counts, cells) in masks.dare.iter().zip(&masks.images.dare) {
        let caption = [
            format!("DARE {}", counts.model),
            format!("{:.1}% kept", percent(counts.kept)),
        ];
        grid.image(out, (column, row_y), cells, &DARE_PALETTE, &caption)?;
        column += w.max(CAPTION_WIDTH) + GAP;
    }
    right = right.max(column);
    row_y += h + 44.0;

    let legend = [
        (TIES_PALETTE[1], "kept, agrees with the elected sign"),
        (TIES_PALETTE[2], "kept, outvoted"),
        (DROPPED, "trimmed / dropped"),
        (ELECTED_PALETTE[1], "elected +"),
        (ELECTED_PALETTE[0], "elected −"),
        (DARE_PALETTE[1], "kept by DARE"),
    ];
    let mut legend_x = x;
    for (colour, label) in legend {
        rect(out, legend_x, row_y - 9.0, 10.0, 10.0, &hex(colour), None);
        text(out, legend_x + 14.0, row_y, 10.0, "normal", label);
        legend_x += 14.0 + 6.0 * label.len() as f64 + 12.0;
    }
    // About 5.5 px a character at 10 px: wide enough for the explanation lines.
    let longest = method.iter().map(|m| m.chars().count()).max().unwrap_or(0);
    let text_width = 5.5 * longest as f64;
    Ok(((right.max(legend_x) - x).max(text_width), row_y + 8.0 - y))
}

/// The size every mask is drawn at: `cols` × `rows` cells in `w` × `h` SVG pixels.
struct Grid {
    w: f64,
    h: f64,
    cols: usize,
    rows: usize,
}

impl Grid {
    /// One mask as a pixelated image at `(x, y)` with its caption above.
    fn image(
        &self,
        out: &mut String,
        (x, y): (f64, f64),
        cells: &[u8],
        palette: &[[u8; 3]],
        caption: &[String; 2],
    ) -> Result<()> {
        let (w, h) = (self.w, self.h);
        text(out, x, y + 10.0, 10.0, "bold", &caption[0]);
        text(out, x, y + 22.0, 10.0, "normal", &caption[1]);
        let uri = png_data_uri(cells, self.cols, self.rows, palette)?;
        out.push_str(&format!(
            "<image x=\"{x}\" y=\"{}\" width=\"{w}\" height=\"{h}\" preserveAspectRatio=\"none\" \
             style=\"image-rendering:pixelated\" href=\"{uri}\"/>\n",
            y + 28.0
        ));
        Ok(())
    }
}
