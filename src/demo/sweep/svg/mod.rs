//! Hand-written SVG of the sweeps: the same strings the CLI writes and the page shows. Every
//! plotted value is also in a `data-*` attribute, so tests compare the pictures with the JSON.

mod path;
mod plane;

pub use path::path_svg;
pub use plane::plane_svg;

use std::fmt::Write;

/// Line colours, one per method (then repeating), readable on white and by most colour-blind eyes.
const PALETTE: [&str; 6] = [
    "#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9",
];

pub fn series_colour(index: usize) -> &'static str {
    PALETTE[index % PALETTE.len()]
}

/// An SVG document being written.
pub struct Svg {
    out: String,
}

impl Svg {
    pub fn new(width: f64, height: f64, title: &str) -> Self {
        let mut out = String::new();
        let _ = write!(
            out,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11"><title>{}</title><rect width="100%" height="100%" fill="white"/>"#,
            escape(title)
        );
        Svg { out }
    }

    /// Raw markup (already escaped).
    pub fn push(&mut self, markup: &str) {
        self.out.push_str(markup);
    }

    pub fn text(&mut self, x: f64, y: f64, anchor: &str, text: &str) {
        let _ = write!(
            self.out,
            r#"<text x="{}" y="{}" text-anchor="{anchor}">{}</text>"#,
            px(x),
            px(y),
            escape(text)
        );
    }

    /// Text turned a quarter left about its anchor (a vertical axis title).
    pub fn vertical_text(&mut self, x: f64, y: f64, text: &str) {
        let _ = write!(
            self.out,
            r#"<text x="{x}" y="{y}" text-anchor="middle" transform="rotate(-90 {x} {y})">{}</text>"#,
            escape(text),
            x = px(x),
            y = px(y)
        );
    }

    pub fn line(&mut self, from: (f64, f64), to: (f64, f64), stroke: &str) {
        let _ = write!(
            self.out,
            r#"<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{stroke}"/>"#,
            px(from.0),
            px(from.1),
            px(to.0),
            px(to.1)
        );
    }

    pub fn polyline(&mut self, points: &[(f64, f64)], stroke: &str, attributes: &str) {
        let list: Vec<String> = points
            .iter()
            .map(|(x, y)| format!("{},{}", px(*x), px(*y)))
            .collect();
        let _ = write!(
            self.out,
            r#"<polyline points="{}" fill="none" stroke="{stroke}" stroke-width="1.5" {attributes}/>"#,
            list.join(" ")
        );
    }

    pub fn finish(mut self) -> String {
        self.out.push_str("</svg>\n");
        self.out
    }
}

/// A pixel coordinate, to 0.1 px.
pub fn px(v: f64) -> String {
    format!("{:.1}", v)
}

pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A linear map from a data range onto a pixel range (a log axis maps log10 values).
#[derive(Debug, Clone, Copy)]
pub struct Scale {
    pub from: (f64, f64),
    pub to: (f64, f64),
    pub log: bool,
}

impl Scale {
    pub fn at(&self, v: f64) -> f64 {
        let (v, lo, hi) = match self.log {
            true => (
                v.max(1e-12).log10(),
                self.from.0.log10(),
                self.from.1.log10(),
            ),
            false => (v, self.from.0, self.from.1),
        };
        let t = if hi > lo { (v - lo) / (hi - lo) } else { 0.5 };
        self.to.0 + t * (self.to.1 - self.to.0)
    }
}

/// Tick values for `scale`'s data range: 0, ¼, ½, ¾, 1 of it, or powers of ten on a log axis.
pub fn ticks(scale: &Scale) -> Vec<f64> {
    let (lo, hi) = scale.from;
    match scale.log {
        false => (0..=4).map(|i| lo + (hi - lo) * i as f64 / 4.0).collect(),
        true => {
            let mut ticks: Vec<f64> = (lo.log10().floor() as i32..=hi.log10().ceil() as i32)
                .flat_map(|e| [1.0, 3.0].map(|m| m * 10f64.powi(e)))
                .filter(|v| *v >= lo * 0.999 && *v <= hi * 1.001)
                .collect();
            if ticks.len() < 2 {
                ticks = vec![lo, hi];
            }
            ticks
        }
    }
}

/// A tick label: short, without trailing zeros.
pub fn tick_label(v: f64) -> String {
    let text = match v.abs() {
        a if a >= 10.0 => format!("{v:.0}"),
        a if a >= 1.0 => format!("{v:.1}"),
        _ => format!("{v:.2}"),
    };
    match text.contains('.') {
        true => text.trim_end_matches('0').trim_end_matches('.').to_string(),
        false => text,
    }
}

/// Viridis, sampled: 0 → dark purple, 1 → yellow.
pub fn viridis(t: f64) -> String {
    const STOPS: [(f64, f64, f64); 6] = [
        (68.0, 1.0, 84.0),
        (65.0, 68.0, 135.0),
        (42.0, 120.0, 142.0),
        (34.0, 168.0, 132.0),
        (122.0, 209.0, 81.0),
        (253.0, 231.0, 37.0),
    ];
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let position = t * (STOPS.len() - 1) as f64;
    let i = (position.floor() as usize).min(STOPS.len() - 2);
    let f = position - i as f64;
    let (a, b) = (STOPS[i], STOPS[i + 1]);
    let mix = |p: f64, q: f64| (p + (q - p) * f).round() as u8;
    format!(
        "#{:02x}{:02x}{:02x}",
        mix(a.0, b.0),
        mix(a.1, b.1),
        mix(a.2, b.2)
    )
}

/// (min, max) of finite positive values, widened when they are equal.
pub fn positive_range(values: impl IntoIterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values
        .into_iter()
        .filter(|v| v.is_finite() && *v > 0.0)
        .fold((f64::INFINITY, 0.0f64), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    match lo.is_finite() {
        false => (0.1, 1.0),
        true if hi <= lo => (lo / 2.0, lo * 2.0),
        true => (lo, hi),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_ticks_and_colours() {
        let s = Scale {
            from: (0.0, 1.0),
            to: (100.0, 0.0),
            log: false,
        };
        assert_eq!(s.at(0.25), 75.0);
        let log = Scale {
            from: (0.1, 10.0),
            to: (0.0, 100.0),
            log: true,
        };
        assert!((log.at(1.0) - 50.0).abs() < 1e-9);
        let labels: Vec<String> = ticks(&log).into_iter().map(tick_label).collect();
        assert_eq!(labels, ["0.1", "0.3", "1", "3", "10"]);
        assert_eq!(tick_label(0.5), "0.5");
        assert_eq!(tick_label(12.0), "12");
        assert_eq!(viridis(0.0), "#440154");
        assert_eq!(viridis(1.0), "#fde725");
        assert_eq!(escape("a<b & \"c\""), "a&lt;b &amp; &quot;c&quot;");
        assert_eq!(positive_range([0.0, 2.0, 2.0]), (1.0, 4.0));
    }
}
