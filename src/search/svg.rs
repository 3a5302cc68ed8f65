//! The search's figures, written like the sweeps' (hover shows every number, `data-*` holds
//! it): convergence (each evaluation and the best so far), the front of two objectives with
//! the baselines, and the chosen point's value of every free parameter.

use crate::demo::sweep::svg::{
    escape, px, series_colour, tick_label, ticks, tooltip, Anchor, Scale, Svg,
};

use super::objective::ObjectiveSpec;
use super::pareto::front;
use super::run::{Evaluation, SearchLog};
use super::session::{Scored, SearchOutcome};
use super::spec::FreeParameter;

const WIDTH: f64 = 560.0;
const HEIGHT: f64 = 340.0;
const LEFT: f64 = 60.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 30.0;
const BOTTOM: f64 = 50.0;

struct Frame {
    x: Scale,
    y: Scale,
}

/// Axes with ticks and titles over data ranges `xs` and `ys`.
fn frame(svg: &mut Svg, xs: (f64, f64), ys: (f64, f64), x_title: &str, y_title: &str) -> Frame {
    let widen = |(lo, hi): (f64, f64)| match hi > lo {
        true => (lo, hi),
        false => (lo - 0.5, hi + 0.5),
    };
    let x = Scale {
        from: widen(xs),
        to: (LEFT, WIDTH - RIGHT),
        log: false,
    };
    let y = Scale {
        from: widen(ys),
        to: (HEIGHT - BOTTOM, TOP),
        log: false,
    };
    svg.line(
        (LEFT, HEIGHT - BOTTOM),
        (WIDTH - RIGHT, HEIGHT - BOTTOM),
        "#444",
    );
    svg.line((LEFT, HEIGHT - BOTTOM), (LEFT, TOP), "#444");
    for v in ticks(&x) {
        svg.line(
            (x.at(v), HEIGHT - BOTTOM),
            (x.at(v), HEIGHT - BOTTOM + 4.0),
            "#444",
        );
        svg.text_if_free(
            x.at(v),
            HEIGHT - BOTTOM + 16.0,
            Anchor::Middle,
            &tick_label(v),
        );
    }
    for v in ticks(&y) {
        svg.line((LEFT - 4.0, y.at(v)), (LEFT, y.at(v)), "#444");
        svg.text_if_free(LEFT - 6.0, y.at(v) + 4.0, Anchor::End, &tick_label(v));
    }
    svg.text(
        (LEFT + WIDTH - RIGHT) / 2.0,
        HEIGHT - 14.0,
        Anchor::Middle,
        x_title,
    );
    svg.vertical_text(16.0, (TOP + HEIGHT - BOTTOM) / 2.0, y_title);
    Frame { x, y }
}

fn range(values: impl IntoIterator<Item = f64>) -> (f64, f64) {
    values
        .into_iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        })
}

fn dot(svg: &mut Svg, x: f64, y: f64, r: f64, fill: &str, data: &str, hover: &str) {
    svg.push(&format!(
        r#"<circle cx="{}" cy="{}" r="{r}" fill="{fill}" {data}>{}</circle>"#,
        px(x),
        px(y),
        tooltip(hover)
    ));
}

/// Every evaluation's preference-weighted objective (a colour per run) and, as a line, the
/// best so far.
pub fn convergence_svg(evaluations: &[Evaluation]) -> String {
    let mut svg = Svg::new(WIDTH, HEIGHT, "Search convergence");
    let n = evaluations.len();
    let f = frame(
        &mut svg,
        (0.0, n.saturating_sub(1) as f64),
        range(evaluations.iter().map(|e| e.scalar)),
        "evaluation",
        "objective (preference-weighted)",
    );
    let mut best = f64::NEG_INFINITY;
    let mut line = Vec::new();
    for e in evaluations {
        if e.run > 0 && evaluations[e.index - 1].run != e.run {
            best = f64::NEG_INFINITY;
            svg.polyline(&line, "#222", "");
            line.clear();
        }
        best = best.max(e.scalar);
        line.push((f.x.at(e.index as f64), f.y.at(best)));
        let data = format!(
            r#"data-index="{}" data-run="{}" data-value="{}""#,
            e.index, e.run, e.scalar
        );
        let hover = format!("evaluation {} (run {}): {:.4}", e.index, e.run, e.scalar);
        dot(
            &mut svg,
            f.x.at(e.index as f64),
            f.y.at(e.scalar),
            2.5,
            series_colour(e.run),
            &data,
            &hover,
        );
    }
    svg.polyline(&line, "#222", "");
    svg.finish()
}

/// Every evaluation on the first two objectives, the front joined, the baselines as labelled
/// diamonds; all on the search split.
pub fn front_svg(log: &SearchLog, outcome: &SearchOutcome) -> Option<String> {
    let names: Vec<&str> = log.objectives.iter().map(|o| o.name.as_str()).collect();
    scatter(&names, &log.evaluations, &log.chosen, &outcome.baselines)
}

/// [`front_svg`] of a search still running: the front of the evaluations so far.
pub fn live_front_svg(objectives: &[ObjectiveSpec], evaluations: &[Evaluation]) -> Option<String> {
    let names: Vec<&str> = objectives.iter().map(|o| o.name.as_str()).collect();
    let points: Vec<Vec<f64>> = evaluations.iter().map(|e| e.objectives.clone()).collect();
    scatter(&names, evaluations, &front(&points), &[])
}

fn scatter(
    names: &[&str],
    evaluations: &[Evaluation],
    chosen: &[usize],
    baselines: &[Scored],
) -> Option<String> {
    if names.len() < 2 || evaluations.is_empty() {
        return None;
    }
    let mut svg = Svg::new(WIDTH, HEIGHT, "Pareto front (search split)");
    let xs = evaluations.iter().map(|e| e.objectives[0]);
    let ys = evaluations.iter().map(|e| e.objectives[1]);
    let bx = baselines.iter().map(|b| b.search[0]);
    let by = baselines.iter().map(|b| b.search[1]);
    let f = frame(
        &mut svg,
        range(xs.chain(bx)),
        range(ys.chain(by)),
        names[0],
        names[1],
    );
    for e in evaluations {
        let data = format!(
            r#"data-index="{}" data-x="{}" data-y="{}""#,
            e.index, e.objectives[0], e.objectives[1]
        );
        let hover = format!(
            "evaluation {}: {:.3}, {:.3}",
            e.index, e.objectives[0], e.objectives[1]
        );
        dot(
            &mut svg,
            f.x.at(e.objectives[0]),
            f.y.at(e.objectives[1]),
            2.0,
            "#bbb",
            &data,
            &hover,
        );
    }
    let line: Vec<(f64, f64)> = chosen
        .iter()
        .map(|&i| {
            (
                f.x.at(evaluations[i].objectives[0]),
                f.y.at(evaluations[i].objectives[1]),
            )
        })
        .collect();
    svg.polyline(&line, series_colour(0), "");
    for &i in chosen {
        let e = &evaluations[i];
        let data = format!(
            r#"data-front="{i}" data-x="{}" data-y="{}""#,
            e.objectives[0], e.objectives[1]
        );
        let hover = format!(
            "front: evaluation {i}: {:.3}, {:.3}",
            e.objectives[0], e.objectives[1]
        );
        dot(
            &mut svg,
            f.x.at(e.objectives[0]),
            f.y.at(e.objectives[1]),
            4.0,
            series_colour(0),
            &data,
            &hover,
        );
    }
    for b in baselines {
        let (x, y) = (f.x.at(b.search[0]), f.y.at(b.search[1]));
        svg.push(&format!(
            r#"<path d="M{} {}l5 5l-5 5l-5 -5z" fill="{}" data-baseline="{}">{}</path>"#,
            px(x),
            px(y - 5.0),
            series_colour(1),
            escape(&b.name),
            tooltip(&format!(
                "{}: {:.3}, {:.3}",
                b.name, b.search[0], b.search[1]
            ))
        ));
        svg.text_if_free(x + 7.0, y + 4.0, Anchor::Start, &b.name);
    }
    Some(svg.finish())
}

/// The chosen point's value of each free parameter, as a bar over its bounds.
pub fn weights_svg(free: &[FreeParameter], values: &[f64]) -> String {
    let row = 18.0;
    let label_width = 190.0;
    let height = TOP + row * free.len() as f64 + 30.0;
    let mut svg = Svg::new(WIDTH, height, "Free parameters at the chosen point");
    let bar = Scale {
        from: (0.0, 1.0),
        to: (label_width, WIDTH - RIGHT - 50.0),
        log: false,
    };
    for (k, (p, v)) in free.iter().zip(values).enumerate() {
        let y = TOP + row * k as f64;
        let share = (v - p.bounds.0) / (p.bounds.1 - p.bounds.0);
        svg.text(label_width - 6.0, y + 12.0, Anchor::End, &p.label);
        svg.push(&format!(
            r##"<rect x="{}" y="{}" width="{}" height="{}" fill="#eee"/><rect x="{}" y="{}" width="{}" height="{}" fill="{}" data-label="{}" data-value="{v}">{}</rect>"##,
            px(bar.at(0.0)),
            px(y + 2.0),
            px(bar.at(1.0) - bar.at(0.0)),
            px(row - 4.0),
            px(bar.at(0.0)),
            px(y + 2.0),
            px(bar.at(share) - bar.at(0.0)),
            px(row - 4.0),
            series_colour(0),
            escape(&p.label),
            tooltip(&format!("{} = {v} (bounds {}..{})", p.label, p.bounds.0, p.bounds.1))
        ));
        svg.text(
            bar.at(1.0) + 6.0,
            y + 12.0,
            Anchor::Start,
            &format!("{v:.3}"),
        );
    }
    svg.finish()
}
