//! Each expert's |τ| histogram on one log axis (octaves), as the share of its non-zero elements.

use std::fmt::Write;

use super::{hex, rect, text};
use crate::viz::anatomy::Histogram;

const PLOT_WIDTH: f64 = 480.0;
const PLOT_HEIGHT: f64 = 160.0;
const LEFT: f64 = 44.0;
/// One colour per expert, cycling (Okabe–Ito, readable by colour-blind readers).
pub const SERIES: [[u8; 3]; 7] = [
    [0, 114, 178],
    [213, 94, 0],
    [0, 158, 115],
    [204, 121, 167],
    [230, 159, 0],
    [86, 180, 233],
    [0, 0, 0],
];

/// Draws at (x, y); returns (width, height).
pub fn draw(out: &mut String, histograms: &[Histogram], x: f64, y: f64) -> (f64, f64) {
    text(
        out,
        x,
        y + 12.0,
        13.0,
        "bold",
        "Magnitudes |τ| of each task vector (log₂ bins)",
    );
    let top = y + 24.0;
    let bins = histograms.first().map_or(0, |h| h.counts.len());
    let first = histograms.first().map_or(0, |h| h.first_log2);
    let shares: Vec<Vec<f64>> = histograms
        .iter()
        .map(|h| {
            let total = h.counts.iter().sum::<u64>().max(1) as f64;
            h.counts.iter().map(|&c| c as f64 / total).collect()
        })
        .collect();
    let peak = shares
        .iter()
        .flatten()
        .fold(0.0f64, |m, &s| m.max(s))
        .max(1e-9);
    let plot_x = x + LEFT;
    rect(out, plot_x, top, PLOT_WIDTH, PLOT_HEIGHT, "#f7f7f7", None);
    let bin_width = PLOT_WIDTH / bins.max(1) as f64;
    // Ticks every few octaves, labelled 2^e.
    let step = (bins / 8).max(1);
    for b in (0..bins).step_by(step) {
        let tick_x = plot_x + b as f64 * bin_width;
        let label = format!("2^{}", first + b as i32);
        text(out, tick_x, top + PLOT_HEIGHT + 12.0, 9.0, "normal", &label);
    }
    text(
        out,
        x,
        top + 8.0,
        9.0,
        "normal",
        &format!("{:.0}%", peak * 100.0),
    );
    text(out, x, top + PLOT_HEIGHT, 9.0, "normal", "0%");
    for (i, (h, share)) in histograms.iter().zip(&shares).enumerate() {
        let colour = hex(SERIES[i % SERIES.len()]);
        let mut points = String::new();
        for (b, s) in share.iter().enumerate() {
            let px = plot_x + b as f64 * bin_width;
            let py = top + PLOT_HEIGHT * (1.0 - s / peak);
            let _ = write!(points, "{px:.1},{py:.1} {:.1},{py:.1} ", px + bin_width);
        }
        let _ = writeln!(
            out,
            "<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"1.5\" points=\"{}\"/>",
            points.trim_end()
        );
        let legend_y = top + 10.0 + i as f64 * 14.0;
        let legend_x = plot_x + PLOT_WIDTH + 12.0;
        rect(out, legend_x, legend_y - 8.0, 10.0, 10.0, &colour, None);
        let nonzero: u64 = h.counts.iter().sum();
        let label = format!("{}: {nonzero} non-zero, {} zero", h.model, h.zeros);
        text(out, legend_x + 14.0, legend_y, 10.0, "normal", &label);
    }
    (LEFT + PLOT_WIDTH + 260.0, PLOT_HEIGHT + 40.0)
}
