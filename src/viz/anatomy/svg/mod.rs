//! The anatomy as one self-contained SVG (written by hand: text, rects, polylines and the masks
//! as embedded PNGs). The CLI writes it; the page shows the same text, made by the same code.

mod heatmap;
mod histogram;
mod masks;

use std::fmt::Write;

use super::Anatomy;
use crate::error::Result;

/// Space around and between the sections.
const MARGIN: f64 = 16.0;
const FONT: &str = "font-family=\"system-ui, sans-serif\"";

/// The whole figure: heat maps of cosine and sign conflict per tensor and layer, the |τ|
/// histograms, and the chosen tensor's masks, top to bottom.
pub fn render(anatomy: &Anatomy) -> Result<String> {
    let mut body = String::new();
    let mut y = MARGIN;
    let title = format!(
        "Task vectors of {} (each minus {})",
        anatomy.models.join(", "),
        anatomy.base
    );
    text(&mut body, MARGIN, y + 14.0, 16.0, "bold", &title);
    y += 28.0;
    let (heat_width, heat_height) = heatmap::draw(&mut body, anatomy, MARGIN, y);
    y += heat_height + MARGIN;
    let (hist_width, hist_height) = histogram::draw(&mut body, &anatomy.histograms, MARGIN, y);
    y += hist_height + MARGIN;
    let (mask_width, mask_height) = masks::draw(&mut body, &anatomy.masks, MARGIN, y)?;
    y += mask_height + MARGIN;
    let width = MARGIN * 2.0 + heat_width.max(hist_width).max(mask_width);
    let mut svg = String::new();
    let _ = write!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{y}\" \
         viewBox=\"0 0 {width} {y}\" {FONT} font-size=\"11\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\n"
    );
    svg.push_str(&body);
    svg.push_str("</svg>\n");
    Ok(svg)
}

/// `<text>` at (x, y) with the given size and weight; `value` is escaped.
fn text(out: &mut String, x: f64, y: f64, size: f64, weight: &str, value: &str) {
    let _ = writeln!(
        out,
        "<text x=\"{x}\" y=\"{y}\" font-size=\"{size}\" font-weight=\"{weight}\">{}</text>",
        escape(value)
    );
}

/// A filled rectangle with an optional tooltip.
fn rect(out: &mut String, x: f64, y: f64, w: f64, h: f64, fill: &str, title: Option<&str>) {
    let _ = write!(
        out,
        "<rect x=\"{x}\" y=\"{y}\" width=\"{w}\" height=\"{h}\" fill=\"{fill}\""
    );
    match title {
        Some(t) => {
            let _ = writeln!(out, "><title>{}</title></rect>", escape(t));
        }
        None => out.push_str("/>\n"),
    }
}

/// `#rrggbb` of a colour.
fn hex([r, g, b]: [u8; 3]) -> String {
    format!("#{r:02x}{g:02x}{b:02x}")
}

/// `from` blended towards `to` by `t` ∈ [0, 1].
fn blend(from: [u8; 3], to: [u8; 3], t: f64) -> [u8; 3] {
    let t = t.clamp(0.0, 1.0);
    let mix = |a: u8, b: u8| (a as f64 + (b as f64 - a as f64) * t).round() as u8;
    [
        mix(from[0], to[0]),
        mix(from[1], to[1]),
        mix(from[2], to[2]),
    ]
}

fn escape(value: &str) -> String {
    value
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A figure with two decimals, or an en dash when undefined.
fn two_decimals(value: Option<f64>) -> String {
    match value.map(|v| format!("{v:.2}")) {
        None => "–".to_string(),
        Some(zero) if zero == "-0.00" => "0.00".to_string(),
        Some(shown) => shown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers() {
        assert_eq!(escape("a<b & \"c\">"), "a&lt;b &amp; &quot;c&quot;&gt;");
        assert_eq!(hex(blend([255, 255, 255], [0, 0, 0], 0.5)), "#808080");
        assert_eq!(two_decimals(None), "–");
        assert_eq!(two_decimals(Some(-0.456)), "-0.46");
    }
}
