//! The plane through base, A and B: a heat map of answer loss per task and of the mean over
//! tasks (log colour scale per panel, yellow = low, its colour bar below), with the checkpoints
//! and the merges marked. Hovering a cell or a mark shows its numbers.

use std::fmt::Write;

use super::{
    escape, fit, positive_range, px, score_text, spots_around, text_width, tick_label, ticks,
    tooltip, trimmed, viridis, Anchor, Rect, Scale, Spot, Svg,
};
use crate::demo::score::TaskScore;
use crate::demo::sweep::plane::{PlaneMarker, PlaneReport};
use crate::demo::sweep::{mean_exact_match, mean_loss};

const PANEL: f64 = 200.0;
/// Room for the vertical axis title and its tick labels.
const LEFT: f64 = 64.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 84.0;
const GAP: f64 = 56.0;
/// Below a panel: its x axis, then the colour bar, then (below all panels) the marker table.
const BAR_TOP: f64 = 36.0;
const BAR_HEIGHT: f64 = 10.0;
const TABLE_TOP: f64 = 104.0;
const TABLE_LINE: f64 = 15.0;
/// Half the size of a mark.
const MARK: f64 = 5.0;
/// Marks drawn off the plane by more than this share say so in their label.
const OFF_PLANE_NOTE: f64 = 0.01;
/// The viridis gradient of the colour bars (yellow at the left, low loss).
const GRADIENT: &str = "mixmerge-plane-loss";

pub fn plane_svg(report: &PlaneReport) -> String {
    let panels: Vec<Option<usize>> = (0..report.tasks.len()).map(Some).chain([None]).collect();
    let title = format!(
        "Loss over base + x·({a} − base) + y·({b} − base), base {}, {} examples per task",
        report.base,
        report.examples_per_task,
        a = report.a,
        b = report.b
    );
    let t = &report.task_vectors;
    let colours = format!(
        "colour: answer loss, log scale per panel (yellow = low); ‖A − base‖ = {:.2}, ‖B − base‖ = {:.2}, cosine {:.2}",
        t.norm_a, t.norm_b, t.cosine
    );
    let heading = "Marked models, per task: exact match / answer loss";
    let table: Vec<String> = report
        .markers
        .iter()
        .map(|m| marker_line(m, &report.tasks))
        .collect();
    let widest = [title.as_str(), colours.as_str(), heading]
        .into_iter()
        .chain(table.iter().map(String::as_str))
        .map(text_width)
        .fold(0.0, f64::max);
    let width = (LEFT + panels.len() as f64 * (PANEL + GAP)).max(LEFT + widest + RIGHT);
    let bottom = TOP + PANEL;
    let height = bottom + TABLE_TOP + TABLE_LINE * table.len() as f64 + 8.0;
    let mut svg = Svg::new(width, height, &title);
    svg.push(&gradient());
    svg.text(LEFT, 18.0, Anchor::Start, &title);
    legend(&mut svg, &colours);
    for (i, task) in panels.iter().enumerate() {
        panel(&mut svg, report, *task, LEFT + i as f64 * (PANEL + GAP));
    }
    for (i, line) in [heading.to_string()].iter().chain(&table).enumerate() {
        let y = bottom + TABLE_TOP + TABLE_LINE * i as f64;
        svg.text(LEFT, y, Anchor::Start, line);
    }
    svg.finish()
}

fn gradient() -> String {
    let mut stops = String::new();
    for i in 0..=10 {
        let t = i as f64 / 10.0;
        let _ = write!(
            stops,
            r#"<stop offset="{t}" stop-color="{}"/>"#,
            viridis(1.0 - t)
        );
    }
    format!(r#"<defs><linearGradient id="{GRADIENT}">{stops}</linearGradient></defs>"#)
}

/// What the marks mean (the shapes themselves), and the colours.
fn legend(svg: &mut Svg, colours: &str) {
    let y = 36.0;
    svg.push(&model_mark(LEFT + MARK, y - 4.0));
    let models = "checkpoints";
    svg.text(LEFT + 2.0 * MARK + 4.0, y, Anchor::Start, models);
    let x = LEFT + 2.0 * MARK + 4.0 + text_width(models) + 16.0;
    svg.push(&merge_mark(x + MARK, y - 4.0));
    svg.text(
        x + 2.0 * MARK + 4.0,
        y,
        Anchor::Start,
        "merges of A and B, at their projection onto the plane",
    );
    svg.text(LEFT, y + 16.0, Anchor::Start, colours);
}

fn model_mark(x: f64, y: f64) -> String {
    format!(
        r#"<circle cx="{}" cy="{}" r="4" fill="white" stroke="black"/>"#,
        px(x),
        px(y)
    )
}

fn merge_mark(x: f64, y: f64) -> String {
    format!(
        r#"<path d="M{} {}l5 5l-5 5l-5 -5z" fill="white" stroke="black"/>"#,
        px(x),
        px(y - MARK)
    )
}

/// The loss a panel shows: one task's, or the mean over tasks.
fn loss(scores: &[TaskScore], task: Option<usize>) -> f64 {
    match task {
        Some(t) => scores[t].answer_loss,
        None => mean_loss(scores),
    }
}

/// What hovering a cell or a mark of a panel says.
fn cell_text(scores: &[TaskScore], tasks: &[String], task: Option<usize>) -> String {
    match task {
        Some(t) => format!("{}: {}", tasks[t], score_text(&scores[t])),
        None => {
            let each: Vec<String> = scores
                .iter()
                .map(|s| format!("\n{}: {}", s.task, score_text(s)))
                .collect();
            format!(
                "mean over tasks: exact match {:.1} %, answer loss {:.4}{}",
                100.0 * mean_exact_match(scores),
                mean_loss(scores),
                each.concat()
            )
        }
    }
}

fn panel(svg: &mut Svg, report: &PlaneReport, task: Option<usize>, x0: f64) {
    let name = task.map_or("mean over tasks", |t| report.tasks[t].as_str());
    let n = report.axis.len();
    let (lo, hi) = (report.axis[0], report.axis[n - 1]);
    let step = (hi - lo) / (n - 1) as f64;
    let bottom = TOP + PANEL;
    // Cells centred on the grid points.
    let x = Scale {
        from: (lo - step / 2.0, hi + step / 2.0),
        to: (x0, x0 + PANEL),
        log: false,
    };
    let y = Scale {
        from: (lo - step / 2.0, hi + step / 2.0),
        to: (bottom, TOP),
        log: false,
    };
    let range = positive_range(report.cells.iter().map(|c| loss(&c.scores, task)));
    let colour = Scale {
        from: range,
        to: (1.0, 0.0),
        log: true,
    };
    let cell = PANEL / n as f64;
    // Crisp edges: no light seams between cells.
    svg.push(r#"<g class="plane-cells" shape-rendering="crispEdges">"#);
    for c in &report.cells {
        let value = loss(&c.scores, task);
        let exact = match task {
            Some(t) => c.scores[t].exact_match,
            None => mean_exact_match(&c.scores),
        };
        let hover = tooltip(&format!(
            "x = {}, y = {}, {}",
            trimmed(c.x, 3),
            trimmed(c.y, 3),
            cell_text(&c.scores, &report.tasks, task)
        ));
        svg.push(&format!(
            r#"<rect class="plane-cell" x="{}" y="{}" width="{}" height="{}" fill="{}" data-task="{}" data-x="{}" data-y="{}" data-answer-loss="{value}" data-exact-match="{exact}">{hover}</rect>"#,
            px(x.at(c.x) - cell / 2.0),
            px(y.at(c.y) - cell / 2.0),
            px(cell + 0.3),
            px(cell + 0.3),
            viridis(colour.at(value)),
            escape(name),
            c.x,
            c.y
        ));
    }
    svg.push("</g>");
    let room = PANEL + GAP - 8.0;
    svg.text(
        x0 + PANEL / 2.0,
        TOP - 8.0,
        Anchor::Middle,
        &fit(name, room),
    );
    let mut axis_ticks: Vec<f64> = vec![lo, 0.0, 1.0, hi];
    axis_ticks.retain(|t| (lo..=hi).contains(t));
    axis_ticks.dedup();
    for tick in axis_ticks {
        let (tx, ty) = (x.at(tick), y.at(tick));
        svg.line((tx, bottom), (tx, bottom + 3.0), "#888");
        svg.line((x0 - 3.0, ty), (x0, ty), "#888");
        svg.text_if_free(tx, bottom + 14.0, Anchor::Middle, &tick_label(tick));
        svg.text_if_free(x0 - 5.0, ty + 4.0, Anchor::End, &tick_label(tick));
    }
    let x_title = format!("x ({} − base)", report.a);
    svg.text(
        x0 + PANEL / 2.0,
        bottom + 28.0,
        Anchor::Middle,
        &fit(&x_title, room),
    );
    if x0 == LEFT {
        let y_title = format!("y ({} − base)", report.b);
        svg.vertical_text(x0 - 42.0, TOP + PANEL / 2.0, &fit(&y_title, PANEL));
    }
    colour_bar(svg, name, range, x0);
    markers(svg, report, task, x, y);
}

/// The panel's colour map: loss from `range.0` (left) to `range.1`, its ends and the powers of
/// ten between labelled where they fit.
fn colour_bar(svg: &mut Svg, name: &str, range: (f64, f64), x0: f64) {
    let top = TOP + PANEL + BAR_TOP;
    let scale = Scale {
        from: range,
        to: (x0, x0 + PANEL),
        log: true,
    };
    svg.push(&format!(
        r##"<g class="colour-bar" data-task="{}" data-min="{}" data-max="{}"><rect x="{}" y="{}" width="{PANEL}" height="{BAR_HEIGHT}" fill="url(#{GRADIENT})" stroke="#888" stroke-width="0.5"/>"##,
        escape(name),
        range.0,
        range.1,
        px(x0),
        px(top)
    ));
    let inner = ticks(&scale)
        .into_iter()
        .filter(|t| *t > range.0 && *t < range.1);
    for tick in [range.0, range.1].into_iter().chain(inner) {
        let tx = scale.at(tick);
        svg.push(&format!(
            r##"<line class="colour-bar-tick" x1="{x}" y1="{}" x2="{x}" y2="{}" stroke="#444" data-value="{tick}"/>"##,
            px(top + BAR_HEIGHT),
            px(top + BAR_HEIGHT + 3.0),
            x = px(tx)
        ));
        svg.text_if_free(
            tx,
            top + BAR_HEIGHT + 14.0,
            Anchor::Middle,
            &tick_label(tick),
        );
    }
    svg.text(
        x0 + PANEL / 2.0,
        top + BAR_HEIGHT + 28.0,
        Anchor::Middle,
        "answer loss (log scale)",
    );
    svg.push("</g>");
}

/// The marked models, each labelled beside its mark where the label fits inside the panel
/// without covering another (with a leader line when it had to move away). Marks outside the
/// plotted range are drawn at the panel's edge.
fn markers(svg: &mut Svg, report: &PlaneReport, task: Option<usize>, x: Scale, y: Scale) {
    let area = Rect {
        left: x.to.0,
        top: y.to.1,
        right: x.to.1,
        bottom: y.to.0,
    };
    let at: Vec<(f64, f64)> = report
        .markers
        .iter()
        .map(|m| {
            let cx = x.at(m.x).clamp(area.left, area.right);
            (cx, y.at(m.y).clamp(area.top, area.bottom))
        })
        .collect();
    for &(cx, cy) in &at {
        svg.reserve(Rect::around(cx, cy, MARK));
    }
    let within = area.inset(1.0);
    let spots: Vec<Option<Spot>> = report
        .markers
        .iter()
        .zip(&at)
        .map(|(m, &(cx, cy))| svg.claim_spot(&spots_around(cx, cy, MARK), &within, &m.label))
        .collect();
    for ((m, &(cx, cy)), spot) in report.markers.iter().zip(&at).zip(&spots) {
        if let Some(spot) = spot {
            let b = spot.box_of(&m.label);
            let near = (cx.clamp(b.left, b.right), cy.clamp(b.top, b.bottom));
            if (near.0 - cx).hypot(near.1 - cy) > MARK + 6.0 {
                svg.line((cx, cy), near, "#333");
            }
        }
    }
    for (m, &(cx, cy)) in report.markers.iter().zip(&at) {
        let shape = match m.kind {
            "model" => model_mark(cx, cy),
            _ => merge_mark(cx, cy),
        };
        let hover = tooltip(&format!(
            "{} ({}) at x = {:.2}, y = {:.2}{}, {}",
            m.label,
            m.kind,
            m.x,
            m.y,
            off_plane_note(m),
            cell_text(&m.scores, &report.tasks, task)
        ));
        svg.push(&format!(
            r#"<g class="plane-marker" data-label="{}" data-kind="{}" data-x="{}" data-y="{}">{hover}{shape}</g>"#,
            escape(&m.label), m.kind, m.x, m.y
        ));
    }
    for (m, spot) in report.markers.iter().zip(spots) {
        if let Some(spot) = spot {
            svg.label(spot, &m.label);
        }
    }
}

fn off_plane_note(m: &PlaneMarker) -> String {
    match m.off_plane > OFF_PLANE_NOTE {
        true => format!(
            ", {:.0}% of its task vector off the plane",
            100.0 * m.off_plane
        ),
        false => String::new(),
    }
}

/// One line per marked model: where it sits and its own scores.
fn marker_line(m: &PlaneMarker, tasks: &[String]) -> String {
    let scores: Vec<String> = m
        .scores
        .iter()
        .zip(tasks)
        .map(|(s, t)| format!("{t} {:.1}% / {:.3}", 100.0 * s.exact_match, s.answer_loss))
        .collect();
    format!(
        "{} at ({:.2}, {:.2}){}: {}",
        m.label,
        m.x,
        m.y,
        off_plane_note(m),
        scores.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::sweep::plane::{PlaneCell, TaskVectors};
    use crate::demo::sweep::svg::tests::{assert_readable, score};

    const TASKS: [&str; 3] = ["sorting", "successors", "descending"];

    fn marker(label: &str, kind: &'static str, x: f64, y: f64) -> PlaneMarker {
        PlaneMarker {
            label: label.into(),
            kind,
            x,
            y,
            off_plane: 0.3,
            scores: TASKS.iter().map(|t| score(t, 0.5, 0.4)).collect(),
        }
    }

    /// A 5 × 5 plane with merges marked close together, one in a corner and one outside.
    fn report() -> PlaneReport {
        let axis: Vec<f64> = (0..5).map(|i| -0.25 + 0.375 * i as f64).collect();
        let cells = axis
            .iter()
            .flat_map(|&y| axis.iter().map(move |&x| (x, y)))
            .map(|(x, y)| PlaneCell {
                x,
                y,
                scores: TASKS
                    .iter()
                    .enumerate()
                    .map(|(i, t)| score(t, 0.25, 0.001 + (x - y).abs() * 10f64.powi(i as i32)))
                    .collect(),
            })
            .collect();
        PlaneReport {
            base: "base".into(),
            a: "sorting".into(),
            b: "successors".into(),
            tasks: TASKS.iter().map(|t| t.to_string()).collect(),
            examples_per_task: 4,
            seed: 0,
            task_vectors: TaskVectors {
                norm_a: 6.9,
                norm_b: 6.3,
                cosine: 0.02,
            },
            axis,
            cells,
            markers: vec![
                marker("base", "model", 0.0, 0.0),
                marker("sorting", "model", 1.0, 0.0),
                marker("successors", "model", 0.0, 1.0),
                marker("linear", "merge", 0.5, 0.5),
                marker("ties", "merge", 0.52, 0.49),
                marker("dare_ties", "merge", 0.49, 0.53),
                marker("task_arithmetic", "merge", 0.51, 0.51),
                marker("breadcrumbs_ties", "merge", 1.25, 1.25),
                marker("della", "merge", 1.6, -0.4),
            ],
        }
    }

    /// The markup of every element of `class` (its opening tag to the next element's).
    fn elements<'a>(svg: &'a str, class: &str) -> Vec<&'a str> {
        svg.split(&format!(r#"class="{class}""#)).skip(1).collect()
    }

    #[test]
    fn every_cell_and_mark_says_its_numbers_on_hover() {
        let report = report();
        let svg = plane_svg(&report);
        let cells = elements(&svg, "plane-cell");
        assert_eq!(cells.len(), 25 * 4);
        for cell in &cells {
            let hover = cell.split_once('>').unwrap().1;
            assert!(hover.starts_with("<title>x = "), "{hover}");
            assert!(hover.contains("answer loss"), "{hover}");
        }
        assert!(svg.contains(
            "<title>x = 0.5, y = -0.25, successors: exact match 25.0 %, character accuracy 62.5 %, answer loss 7.5010</title>"
        ));
        // The mean panel's cells list every task too.
        let mean = cells
            .iter()
            .find(|c| c.contains("mean over tasks:"))
            .unwrap();
        assert!(TASKS
            .iter()
            .all(|t| mean.contains(&format!("\n{t}: exact"))));
        let marks = elements(&svg, "plane-marker");
        assert_eq!(marks.len(), 9 * 4);
        for mark in marks {
            assert!(mark.split_once('>').unwrap().1.starts_with("<title>"));
        }
    }

    #[test]
    fn each_panel_has_a_colour_bar_with_ticks() {
        let svg = plane_svg(&report());
        assert!(svg.contains(&format!(r#"<linearGradient id="{GRADIENT}">"#)));
        let bars: Vec<&str> = elements(&svg, "colour-bar")
            .into_iter()
            .map(|bar| bar.split_once("</g>").unwrap().0)
            .collect();
        assert_eq!(bars.len(), 4);
        for bar in &bars {
            assert!(bar.contains(&format!("url(#{GRADIENT})")));
            assert!(
                bar.matches(r#"class="colour-bar-tick""#).count() >= 2,
                "{bar}"
            );
            assert!(
                bar.matches("<text ").count() >= 3,
                "labels and a caption: {bar}"
            );
        }
        // The successors panel spans 0.001 to 15: its ends and the powers of ten that fit.
        let successors = bars
            .iter()
            .find(|b| b.starts_with(r#" data-task="successors""#))
            .unwrap();
        assert!(successors.contains(r#"data-min="0.001" data-max="15.001""#));
        for label in [">0.001<", ">15<", ">0.01<", ">0.1<", ">1<"] {
            assert!(successors.contains(label), "{label}: {successors}");
        }
        assert!(!successors.contains(">0.003<"), "too close to 0.001");
    }

    #[test]
    fn labels_stay_apart_and_inside_however_close_the_marks() {
        let report = report();
        let svg = plane_svg(&report);
        assert_readable(&svg);
        // A mark apart from the others is labelled on every panel; of the four merges crowded
        // around (0.5, 0.5) some labels find no free spot and are left out (their hover still
        // names them), but never all of them.
        let labelled = |name: &str| {
            svg.matches(&format!(r#"paint-order="stroke">{name}<"#))
                .count()
        };
        for alone in ["base", "sorting", "successors", "breadcrumbs_ties", "della"] {
            assert_eq!(labelled(alone), 4, "{alone}");
        }
        let crowded: usize = ["linear", "ties", "dare_ties", "task_arithmetic"]
            .iter()
            .map(|name| labelled(name))
            .sum();
        assert!(crowded >= 4, "{crowded} labels for the crowded merges");
        // A single task, a narrow figure: the text still fits.
        let mut one = report.clone();
        one.tasks.truncate(1);
        for c in &mut one.cells {
            c.scores.truncate(1);
        }
        for m in &mut one.markers {
            m.scores.truncate(1);
        }
        assert_readable(&plane_svg(&one));
    }
}
