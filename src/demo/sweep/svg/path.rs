//! The interpolation path: one column per task, exact match above and answer loss (log axis)
//! below, against B's weight λ; a line per method, M³ samples as rings, the Beta density shaded.

use std::fmt::Write;

use super::{
    escape, fit, positive_range, px, score_text, series_colour, text_width, tick_label, ticks,
    tooltip, Anchor, Scale, Svg,
};
use crate::demo::score::TaskScore;
use crate::demo::sweep::path::PathReport;

const PANEL_W: f64 = 220.0;
const PANEL_H: f64 = 140.0;
/// Room for a row's vertical title and its tick labels.
const LEFT: f64 = 64.0;
const RIGHT: f64 = 16.0;
const GAP_X: f64 = 48.0;
const GAP_Y: f64 = 48.0;
/// The first legend line's baseline, and the distance between lines.
const LEGEND_TOP: f64 = 40.0;
const LEGEND_LINE: f64 = 18.0;
/// A legend entry: its mark, the space after the mark and after the text.
const SWATCH: f64 = 22.0;
const ENTRY_GAP: f64 = 18.0;

/// Which score a row plots.
#[derive(Clone, Copy)]
enum Measure {
    ExactMatch,
    Loss,
}

impl Measure {
    fn of(self, score: &TaskScore) -> f64 {
        match self {
            Measure::ExactMatch => score.exact_match,
            Measure::Loss => score.answer_loss,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Measure::ExactMatch => "exact match (%)",
            Measure::Loss => "answer loss (log)",
        }
    }

    fn tick_label(self, v: f64) -> String {
        match self {
            Measure::ExactMatch => format!("{:.0}", 100.0 * v),
            Measure::Loss => tick_label(v),
        }
    }
}

pub fn path_svg(report: &PathReport) -> String {
    let columns = report.tasks.len().max(1);
    let title = format!(
        "Interpolation path from {} (λ = 0) to {} (λ = 1), base {}, {} examples per task",
        report.a, report.b, report.base, report.examples_per_task
    );
    let items = legend_items(report);
    let widest = items
        .iter()
        .map(|(_, text)| SWATCH + text_width(text))
        .chain([text_width(&title)])
        .fold(0.0, f64::max);
    let width = (LEFT + columns as f64 * (PANEL_W + GAP_X)).max(LEFT + widest + RIGHT);
    let entries = legend_layout(items, width);
    let legend_bottom = entries.last().map_or(LEGEND_TOP, |e| e.y);
    let top = legend_bottom + 40.0;
    let height = top + 2.0 * PANEL_H + GAP_Y + 36.0;
    let mut svg = Svg::new(width, height, &title);
    svg.text(LEFT, 18.0, Anchor::Start, &title);
    for entry in &entries {
        draw_entry(&mut svg, entry);
    }
    let all_losses = report
        .curves
        .iter()
        .flat_map(|c| c.points.iter().flat_map(|p| p.scores.iter()))
        .chain(
            report
                .mixup
                .iter()
                .flat_map(|m| m.points.iter().flat_map(|p| p.scores.iter())),
        )
        .map(|s| s.answer_loss);
    let (lo, hi) = positive_range(all_losses);
    for (row, measure) in [Measure::ExactMatch, Measure::Loss].into_iter().enumerate() {
        let y0 = top + row as f64 * (PANEL_H + GAP_Y);
        svg.vertical_text(LEFT - 42.0, y0 + PANEL_H / 2.0, measure.label());
        for (column, task) in report.tasks.iter().enumerate() {
            let x0 = LEFT + column as f64 * (PANEL_W + GAP_X);
            if row == 0 {
                let header = fit(task, PANEL_W + GAP_X - 8.0);
                svg.text(x0 + PANEL_W / 2.0, y0 - 10.0, Anchor::Middle, &header);
            }
            let y = match measure {
                Measure::ExactMatch => Scale {
                    from: (0.0, 1.0),
                    to: (y0 + PANEL_H, y0),
                    log: false,
                },
                Measure::Loss => Scale {
                    from: (lo, hi),
                    to: (y0 + PANEL_H, y0),
                    log: true,
                },
            };
            let x = Scale {
                from: (0.0, 1.0),
                to: (x0, x0 + PANEL_W),
                log: false,
            };
            panel(&mut svg, report, column, task, measure, x, y);
        }
    }
    svg.finish()
}

/// A legend entry's mark.
enum Swatch {
    Line(&'static str),
    Ring,
    Shade,
}

struct Entry {
    swatch: Swatch,
    text: String,
    /// Left end of the mark, and the text's baseline.
    x: f64,
    y: f64,
}

fn legend_items(report: &PathReport) -> Vec<(Swatch, String)> {
    let mut items: Vec<(Swatch, String)> = report
        .curves
        .iter()
        .enumerate()
        .map(|(i, c)| (Swatch::Line(series_colour(i)), c.method.kind.key().into()))
        .collect();
    if let Some(mixup) = &report.mixup {
        let s = &mixup.sampling;
        let seeds = match s.samples {
            0 | 1 => format!("seed {}", s.seed),
            n => format!("seeds {}–{}", s.seed, s.seed + n as u64 - 1),
        };
        items.push((
            Swatch::Ring,
            format!(
                "M³ samples: {} at λ ~ Beta({a}, {a}), {seeds}",
                s.method.kind.key(),
                a = s.alpha
            ),
        ));
        items.push((
            Swatch::Shade,
            format!("Beta({a}, {a}) density", a = s.alpha),
        ));
    }
    items
}

/// Entries left to right, onto a new line where the next would pass the right edge.
fn legend_layout(items: Vec<(Swatch, String)>, width: f64) -> Vec<Entry> {
    let (mut x, mut y) = (LEFT, LEGEND_TOP);
    let mut entries = Vec::with_capacity(items.len());
    for (swatch, text) in items {
        let w = SWATCH + text_width(&text);
        if x > LEFT && x + w > width - RIGHT {
            (x, y) = (LEFT, y + LEGEND_LINE);
        }
        entries.push(Entry { swatch, text, x, y });
        x += w + ENTRY_GAP;
    }
    entries
}

fn draw_entry(svg: &mut Svg, e: &Entry) {
    let mid = e.y - 4.0;
    match e.swatch {
        Swatch::Line(colour) => svg.polyline(&[(e.x, mid), (e.x + 18.0, mid)], colour, ""),
        Swatch::Ring => svg.push(&svg_ring(e.x + 9.0, mid)),
        Swatch::Shade => svg.push(&format!(
            r##"<rect x="{}" y="{}" width="18" height="10" fill="#bbbbbb" fill-opacity="0.45"/>"##,
            px(e.x),
            px(mid - 5.0)
        )),
    }
    svg.text(e.x + SWATCH, e.y, Anchor::Start, &e.text);
}

fn svg_ring(x: f64, y: f64) -> String {
    format!(
        r#"<circle cx="{}" cy="{}" r="3.5" fill="none" stroke="black"/>"#,
        px(x),
        px(y)
    )
}

fn panel(
    svg: &mut Svg,
    report: &PathReport,
    column: usize,
    task: &str,
    measure: Measure,
    x: Scale,
    y: Scale,
) {
    let (top, bottom) = (y.to.1, y.to.0);
    for tick in ticks(&y) {
        let ty = y.at(tick);
        svg.line((x.to.0, ty), (x.to.1, ty), "#e6e6e6");
        svg.text_if_free(
            x.to.0 - 4.0,
            ty + 4.0,
            Anchor::End,
            &measure.tick_label(tick),
        );
    }
    for tick in ticks(&x) {
        let tx = x.at(tick);
        svg.line((tx, bottom), (tx, bottom + 4.0), "#888");
        svg.text_if_free(tx, bottom + 15.0, Anchor::Middle, &tick_label(tick));
    }
    svg.line((x.to.0, bottom), (x.to.1, bottom), "#888");
    svg.line((x.to.0, top), (x.to.0, bottom), "#888");
    svg.text(
        (x.to.0 + x.to.1) / 2.0,
        bottom + 29.0,
        Anchor::Middle,
        "λ (weight of B)",
    );
    if let (Measure::ExactMatch, Some(mixup)) = (measure, &report.mixup) {
        density(svg, &mixup.density, x, bottom, (bottom - top) * 0.3);
    }
    for (i, curve) in report.curves.iter().enumerate() {
        let colour = series_colour(i);
        let key = curve.method.kind.key();
        let points: Vec<(f64, f64)> = curve
            .points
            .iter()
            .map(|p| (x.at(p.lambda), y.at(measure.of(&p.scores[column]))))
            .collect();
        svg.polyline(
            &points,
            colour,
            &format!(r#"data-method="{}""#, escape(key)),
        );
        for (p, (px_, py)) in curve.points.iter().zip(&points) {
            let s = &p.scores[column];
            let hover = tooltip(&format!(
                "{key}, {task}, λ = {:.2}: {}",
                p.lambda,
                score_text(s)
            ));
            svg.push(&format!(
                r#"<circle class="path-point" cx="{}" cy="{}" r="2.5" fill="{colour}" data-method="{}" data-task="{}" data-lambda="{}" data-exact-match="{}" data-answer-loss="{}">{hover}</circle>"#,
                px(*px_), px(*py), escape(key), escape(task), p.lambda, s.exact_match, s.answer_loss
            ));
        }
    }
    if let Some(mixup) = &report.mixup {
        for p in &mixup.points {
            let s = &p.scores[column];
            let hover = tooltip(&format!(
                "M³ sample, seed {}, λ = {:.3}, {task}: {}",
                p.seed,
                p.lambda,
                score_text(s)
            ));
            svg.push(&format!(
                r#"<circle class="mixup-point" cx="{}" cy="{}" r="3.5" fill="none" stroke="black" pointer-events="all" data-task="{}" data-seed="{}" data-lambda="{}" data-exact-match="{}" data-answer-loss="{}">{hover}</circle>"#,
                px(x.at(p.lambda)), px(y.at(measure.of(s))), escape(task), p.seed, p.lambda, s.exact_match, s.answer_loss
            ));
        }
    }
}

/// The Beta density as a grey area along the panel's bottom, its peak `height` px tall (capped
/// at 3× the uniform density, so the ends of α < 1 do not flatten the rest).
fn density(svg: &mut Svg, curve: &[[f64; 2]], x: Scale, bottom: f64, height: f64) {
    let peak = curve.iter().map(|[_, p]| *p).fold(0.0, f64::max).min(3.0);
    if peak <= 0.0 {
        return;
    }
    let mut points = format!("{},{}", px(x.to.0), px(bottom));
    for [l, p] in curve {
        let _ = write!(
            points,
            " {},{}",
            px(x.at(*l)),
            px(bottom - height * p.min(peak) / peak)
        );
    }
    let _ = write!(points, " {},{}", px(x.to.1), px(bottom));
    svg.push(&format!(
        r##"<polygon class="beta-density" points="{points}" fill="#bbbbbb" fill-opacity="0.45"/>"##
    ));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::sweep::path::{MixupPoint, MixupReport, PathCurve, PathPoint};
    use crate::demo::sweep::svg::tests::{assert_readable, score};
    use crate::demo::sweep::{MixupSampling, PairMethod};
    use crate::merge::catalog::MethodKind;

    /// A path over `tasks` with four methods and three M³ samples; losses over many decades.
    fn report(tasks: &[&str]) -> PathReport {
        let points = |shift: f64| {
            (0..=10)
                .map(|i| {
                    let lambda = i as f64 / 10.0;
                    let scores = tasks
                        .iter()
                        .map(|t| score(t, lambda, 10f64.powf(-4.0 * lambda + shift)))
                        .collect();
                    PathPoint { lambda, scores }
                })
                .collect()
        };
        let kinds = [
            MethodKind::Linear,
            MethodKind::TaskArithmetic,
            MethodKind::Ties,
            MethodKind::DareTies,
        ];
        let sampling = MixupSampling {
            alpha: 0.5,
            samples: 3,
            seed: 7,
            method: PairMethod::new(MethodKind::Linear),
        };
        PathReport {
            base: "base".into(),
            a: "sorting".into(),
            b: "a-task-with-a-rather-long-name".into(),
            tasks: tasks.iter().map(|t| t.to_string()).collect(),
            examples_per_task: 4,
            seed: 0,
            curves: kinds
                .iter()
                .enumerate()
                .map(|(i, k)| PathCurve {
                    method: PairMethod::new(*k),
                    points: points(i as f64 * 0.1),
                })
                .collect(),
            mixup: Some(MixupReport {
                sampling,
                points: (0..3)
                    .map(|k| MixupPoint {
                        seed: 7 + k,
                        drawn: 0.3,
                        lambda: 0.7,
                        scores: tasks.iter().map(|t| score(t, 0.5, 0.2)).collect(),
                    })
                    .collect(),
                density: crate::demo::sweep::path::beta_density_curve(0.5, 9),
            }),
        }
    }

    #[test]
    fn every_point_says_its_numbers_on_hover() {
        let svg = path_svg(&report(&["sorting", "successors", "descending"]));
        let points: Vec<&str> = svg.split(r#"<circle class="path-point""#).skip(1).collect();
        assert_eq!(points.len(), 4 * 11 * 3 * 2);
        for p in points {
            let hover = p.split_once('>').unwrap().1;
            assert!(
                hover.starts_with("<title>") && hover.contains("answer loss"),
                "{hover}"
            );
        }
        assert!(svg.contains(
            "<title>ties, successors, λ = 0.50: exact match 50.0 %, character accuracy 75.0 %, answer loss 0.0158</title></circle>"
        ));
        let rings = svg.matches(r#"<circle class="mixup-point""#).count();
        assert_eq!(rings, 3 * 3 * 2);
        assert_eq!(svg.matches("<title>M³ sample, seed 8").count(), 3 * 2);
        assert_eq!(svg.matches(r#"class="beta-density""#).count(), 3);
    }

    #[test]
    fn text_stays_apart_and_inside() {
        assert_readable(&path_svg(&report(&["sorting", "successors", "descending"])));
        // One narrow column: the legend wraps, the picture widens for the title.
        let narrow = path_svg(&report(&["a-task-name-longer-than-its-column"]));
        assert_readable(&narrow);
        assert!(narrow.contains("sorting"), "the title is there");
        let mut no_mixup = report(&["sorting"]);
        no_mixup.mixup = None;
        assert_readable(&path_svg(&no_mixup));
    }
}
