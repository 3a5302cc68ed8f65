//! Hand-written SVG of the sweeps: the same strings the CLI writes and the page shows. Every
//! plotted value is also in a `data-*` attribute, so tests compare the pictures with the JSON,
//! and in a `<title>`, so hovering shows it (in the page and in an exported file alike). Text is
//! placed where no other text is, inside the picture (`layout`).

mod layout;
mod path;
mod plane;

pub use layout::{fit, spots_around, text_width, Anchor, Rect, Spot};
pub use path::path_svg;
pub use plane::plane_svg;

use std::fmt::Write;

use crate::demo::score::TaskScore;

/// Line colours, one per method (then repeating), readable on white and by most colour-blind eyes.
const PALETTE: [&str; 6] = [
    "#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9",
];

pub fn series_colour(index: usize) -> &'static str {
    PALETTE[index % PALETTE.len()]
}

/// Labels over coloured cells get a white outline, so they read on any colour.
const HALO: &str = r#"stroke="white" stroke-width="3" paint-order="stroke""#;

/// An SVG document being written, with the boxes its text already covers.
pub struct Svg {
    out: String,
    bounds: Rect,
    taken: Vec<Rect>,
}

impl Svg {
    pub fn new(width: f64, height: f64, title: &str) -> Self {
        let mut out = String::new();
        let _ = write!(
            out,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="11"><title>{}</title><rect width="100%" height="100%" fill="white"/>"#,
            escape(title),
            w = px(width),
            h = px(height)
        );
        Svg {
            out,
            bounds: Rect {
                left: 0.0,
                top: 0.0,
                right: width,
                bottom: height,
            },
            taken: Vec::new(),
        }
    }

    /// Raw markup (already escaped).
    pub fn push(&mut self, markup: &str) {
        self.out.push_str(markup);
    }

    /// Keeps labels off `area` (a mark).
    pub fn reserve(&mut self, area: Rect) {
        self.taken.push(area);
    }

    /// Text laid out by hand, where nothing else goes.
    pub fn text(&mut self, x: f64, y: f64, anchor: Anchor, text: &str) {
        let spot = Spot::new(x, y, anchor);
        self.taken.push(spot.box_of(text));
        self.write_text(spot, text, "");
    }

    /// Text that is left out where it would cover other text, come within half a character of
    /// it sideways, or leave the picture (tick labels on a crowded axis); says whether it was
    /// written.
    pub fn text_if_free(&mut self, x: f64, y: f64, anchor: Anchor, text: &str) -> bool {
        let area = Spot::new(x, y, anchor).box_of(text);
        let free = area.inside(&self.bounds) && self.is_free(&area.widen(layout::CHAR_WIDTH / 2.0));
        if free {
            self.text(x, y, anchor, text);
        }
        free
    }

    /// The first of `spots` where `text` lies inside `within` and off everything taken; it is
    /// taken then, to be written with [`Svg::label`].
    pub fn claim_spot(&mut self, spots: &[Spot], within: &Rect, text: &str) -> Option<Spot> {
        let within = match within.inside(&self.bounds) {
            true => *within,
            false => self.bounds,
        };
        let spot = *spots.iter().find(|s| {
            let area = s.box_of(text);
            area.inside(&within) && self.is_free(&area)
        })?;
        self.taken.push(spot.box_of(text));
        Some(spot)
    }

    /// A label at a spot [`Svg::claim_spot`] gave, outlined in white.
    pub fn label(&mut self, spot: Spot, text: &str) {
        self.write_text(spot, text, HALO);
    }

    fn is_free(&self, area: &Rect) -> bool {
        !self.taken.iter().any(|t| t.overlaps(area))
    }

    fn write_text(&mut self, spot: Spot, text: &str, attributes: &str) {
        let _ = write!(
            self.out,
            r#"<text x="{}" y="{}" text-anchor="{}" {attributes}>{}</text>"#,
            px(spot.x),
            px(spot.y),
            spot.anchor.key(),
            escape(text)
        );
    }

    /// Text turned a quarter left about its anchor (a vertical axis title).
    pub fn vertical_text(&mut self, x: f64, y: f64, text: &str) {
        let half = text_width(text) / 2.0;
        self.taken.push(Rect {
            left: x - layout::ASCENT,
            top: y - half,
            right: x + layout::DESCENT,
            bottom: y + half,
        });
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

/// A hover text: the `<title>` child of the element it describes.
pub fn tooltip(text: &str) -> String {
    format!("<title>{}</title>", escape(text))
}

/// One task's score as a tooltip says it.
pub fn score_text(score: &TaskScore) -> String {
    format!(
        "exact match {:.1} %, character accuracy {:.1} %, answer loss {:.4}",
        100.0 * score.exact_match,
        100.0 * score.char_accuracy,
        score.answer_loss
    )
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

/// A tick label: two decimals or two significant digits, whichever shows more, without
/// trailing zeros.
pub fn tick_label(v: f64) -> String {
    let decimals = match v.abs() {
        a if a >= 100.0 => 0,
        a if a >= 10.0 => 1,
        a if a > 0.0 => (1.0 - a.log10().floor()).max(2.0) as usize,
        _ => 0,
    };
    trimmed(v, decimals)
}

/// `v` with at most `decimals` decimals, without trailing zeros.
pub fn trimmed(v: f64, decimals: usize) -> String {
    let text = format!("{v:.decimals$}");
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
        assert_eq!(tick_label(1.25), "1.25");
        assert_eq!(tick_label(-0.25), "-0.25");
        assert_eq!(tick_label(0.0123), "0.012");
        assert_eq!(tick_label(0.0), "0");
        assert_eq!(viridis(0.0), "#440154");
        assert_eq!(viridis(1.0), "#fde725");
        assert_eq!(escape("a<b & \"c\""), "a&lt;b &amp; &quot;c&quot;");
        assert_eq!(positive_range([0.0, 2.0, 2.0]), (1.0, 4.0));
    }

    #[test]
    fn crowded_text_is_left_out_and_labels_find_room() {
        let mut svg = Svg::new(200.0, 100.0, "t");
        svg.text(10.0, 20.0, Anchor::Start, "fixed");
        assert!(!svg.text_if_free(12.0, 22.0, Anchor::Start, "covers it"));
        assert!(!svg.text_if_free(195.0, 50.0, Anchor::Start, "leaves the picture"));
        assert!(svg.text_if_free(10.0, 60.0, Anchor::Start, "free"));
        let within = Rect::around(100.0, 50.0, 50.0);
        let spots = spots_around(140.0, 20.0, 5.0);
        let first = svg.claim_spot(&spots, &within, "label").unwrap();
        let second = svg.claim_spot(&spots, &within, "label").unwrap();
        assert_ne!(first, second);
        assert_eq!(first.anchor, Anchor::End, "no room on the right");
        svg.label(first, "label");
        svg.label(second, "label");
        svg.vertical_text(190.0, 60.0, "up");
        assert_readable(&svg.finish());
    }

    /// A score of `task` for the figures' tests.
    pub fn score(task: &str, exact_match: f64, answer_loss: f64) -> TaskScore {
        TaskScore {
            task: task.into(),
            examples: 4,
            exact_match,
            char_accuracy: (1.0 + exact_match) / 2.0,
            answer_loss,
        }
    }

    fn attribute<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
        let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
        let end = start + tag[start..].find('"')?;
        Some(&tag[start..end])
    }

    /// Every `<text>` of `svg` with the box it covers, estimated at 6.2 px a character.
    pub fn text_boxes(svg: &str) -> Vec<(String, Rect)> {
        svg.split("<text ")
            .skip(1)
            .map(|rest| {
                let (tag, rest) = rest.split_once('>').unwrap();
                let tag = &format!(" {tag}");
                let text = rest.split_once("</text>").unwrap().0;
                let text = text
                    .replace("&lt;", "<")
                    .replace("&gt;", ">")
                    .replace("&quot;", "\"")
                    .replace("&amp;", "&");
                let number = |name| attribute(tag, name).unwrap().parse::<f64>().unwrap();
                let (x, y) = (number("x"), number("y"));
                let anchor = match attribute(tag, "text-anchor") {
                    Some("middle") => Anchor::Middle,
                    Some("end") => Anchor::End,
                    _ => Anchor::Start,
                };
                let b = Spot::new(x, y, anchor).box_of(&text);
                let b = match attribute(tag, "transform") {
                    // rotate(-90) about (x, y) takes the offset (dx, dy) to (dy, −dx).
                    Some(t) if t.starts_with("rotate(-90 ") => Rect {
                        left: x + (b.top - y),
                        right: x + (b.bottom - y),
                        top: y - (b.right - x),
                        bottom: y - (b.left - x),
                    },
                    Some(t) => panic!("unexpected transform {t}"),
                    None => b,
                };
                (text, b)
            })
            .collect()
    }

    /// No text covers other text, and all of it lies inside the viewBox.
    pub fn assert_readable(svg: &str) {
        let view: Vec<f64> = attribute(svg, "viewBox")
            .unwrap()
            .split(' ')
            .map(|v| v.parse().unwrap())
            .collect();
        let bounds = Rect {
            left: view[0],
            top: view[1],
            right: view[0] + view[2],
            bottom: view[1] + view[3],
        };
        let boxes = text_boxes(svg);
        assert!(!boxes.is_empty());
        for (i, (text, b)) in boxes.iter().enumerate() {
            assert!(b.inside(&bounds), "`{text}` {b:?} leaves {bounds:?}");
            for (other, c) in &boxes[..i] {
                assert!(!b.overlaps(c), "`{text}` {b:?} covers `{other}` {c:?}");
            }
        }
    }
}
