//! The interpolation path: one column per task, exact match above and answer loss (log axis)
//! below, against B's weight λ; a line per method, M³ samples as rings, the Beta density shaded.

use std::fmt::Write;

use super::{escape, positive_range, px, series_colour, tick_label, ticks, Scale, Svg};
use crate::demo::score::TaskScore;
use crate::demo::sweep::path::PathReport;

const PANEL_W: f64 = 220.0;
const PANEL_H: f64 = 140.0;
const LEFT: f64 = 56.0;
const TOP: f64 = 64.0;
const GAP_X: f64 = 40.0;
const GAP_Y: f64 = 56.0;

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
            Measure::ExactMatch => "exact match",
            Measure::Loss => "answer loss (nats, log)",
        }
    }
}

pub fn path_svg(report: &PathReport) -> String {
    let columns = report.tasks.len().max(1);
    let width = LEFT + columns as f64 * (PANEL_W + GAP_X);
    let height = TOP + 2.0 * (PANEL_H + GAP_Y) + 10.0;
    let title = format!(
        "Interpolation path from {} (λ = 0) to {} (λ = 1), base {}, {} examples per task",
        report.a, report.b, report.base, report.examples_per_task
    );
    let mut svg = Svg::new(width, height, &title);
    svg.text(LEFT, 18.0, "start", &title);
    legend(&mut svg, report);
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
    for (column, task) in report.tasks.iter().enumerate() {
        let x0 = LEFT + column as f64 * (PANEL_W + GAP_X);
        for (row, measure) in [Measure::ExactMatch, Measure::Loss].into_iter().enumerate() {
            let y0 = TOP + row as f64 * (PANEL_H + GAP_Y);
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

fn legend(svg: &mut Svg, report: &PathReport) {
    let mut x = LEFT;
    for (i, curve) in report.curves.iter().enumerate() {
        let colour = series_colour(i);
        svg.line((x, 36.0), (x + 18.0, 36.0), colour);
        svg.text(x + 22.0, 40.0, "start", curve.method.kind.key());
        x += 30.0 + 7.0 * curve.method.kind.key().len() as f64;
    }
    if let Some(mixup) = &report.mixup {
        svg.push(&svg_ring(x + 5.0, 36.0));
        let text = format!(
            "M³ samples ({} at λ ~ Beta({a}, {a}), seeds {}…); grey: that density",
            mixup.sampling.method.kind.key(),
            mixup.sampling.seed,
            a = mixup.sampling.alpha
        );
        svg.text(x + 14.0, 40.0, "start", &text);
    }
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
        svg.text(x.to.0 - 4.0, ty + 4.0, "end", &tick_label(tick));
    }
    for tick in ticks(&x) {
        let tx = x.at(tick);
        svg.line((tx, bottom), (tx, bottom + 4.0), "#888");
        svg.text(tx, bottom + 15.0, "middle", &tick_label(tick));
    }
    svg.line((x.to.0, bottom), (x.to.1, bottom), "#888");
    svg.line((x.to.0, top), (x.to.0, bottom), "#888");
    svg.text(
        (x.to.0 + x.to.1) / 2.0,
        top - 6.0,
        "middle",
        &format!("{task}: {}", measure.label()),
    );
    svg.text(
        (x.to.0 + x.to.1) / 2.0,
        bottom + 28.0,
        "middle",
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
            svg.push(&format!(
                r#"<circle class="path-point" cx="{}" cy="{}" r="2" fill="{colour}" data-method="{}" data-task="{}" data-lambda="{}" data-exact-match="{}" data-answer-loss="{}"/>"#,
                px(*px_), px(*py), escape(key), escape(task), p.lambda, s.exact_match, s.answer_loss
            ));
        }
    }
    if let Some(mixup) = &report.mixup {
        for p in &mixup.points {
            let s = &p.scores[column];
            svg.push(&format!(
                r#"<circle class="mixup-point" cx="{}" cy="{}" r="3.5" fill="none" stroke="black" data-task="{}" data-seed="{}" data-lambda="{}" data-exact-match="{}" data-answer-loss="{}"/>"#,
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
