//! The plane through base, A and B: a heat map of answer loss per task and of the mean over
//! tasks (log colour scale, yellow = low), with the checkpoints and the merges marked.

use super::{escape, positive_range, px, tick_label, viridis, Scale, Svg};
use crate::demo::score::TaskScore;
use crate::demo::sweep::mean_loss;
use crate::demo::sweep::plane::{PlaneMarker, PlaneReport};

const PANEL: f64 = 200.0;
const LEFT: f64 = 50.0;
const TOP: f64 = 50.0;
const GAP: f64 = 50.0;
/// Marks drawn off the plane by more than this share say so in their label.
const OFF_PLANE_NOTE: f64 = 0.01;

pub fn plane_svg(report: &PlaneReport) -> String {
    let panels: Vec<Option<usize>> = (0..report.tasks.len()).map(Some).chain([None]).collect();
    let width = LEFT + panels.len() as f64 * (PANEL + GAP);
    let height = TOP + PANEL + 110.0 + 14.0 * report.markers.len() as f64;
    let title = format!(
        "Loss over base + x·({a} − base) + y·({b} − base), base {}, {} examples per task",
        report.base,
        report.examples_per_task,
        a = report.a,
        b = report.b
    );
    let mut svg = Svg::new(width, height, &title);
    svg.text(LEFT, 18.0, "start", &title);
    let t = &report.task_vectors;
    let legend = format!(
        "colour: answer loss, log scale per panel (yellow = low); ● checkpoints, ◆ merges (at their projection onto the plane); ‖A − base‖ = {:.2}, ‖B − base‖ = {:.2}, cosine {:.2}",
        t.norm_a, t.norm_b, t.cosine
    );
    svg.text(LEFT, 34.0, "start", &legend);
    for (i, task) in panels.iter().enumerate() {
        panel(&mut svg, report, *task, LEFT + i as f64 * (PANEL + GAP));
    }
    marker_table(&mut svg, report, TOP + PANEL + 60.0);
    svg.finish()
}

/// The loss a panel shows: one task's, or the mean over tasks.
fn loss(scores: &[TaskScore], task: Option<usize>) -> f64 {
    match task {
        Some(t) => scores[t].answer_loss,
        None => mean_loss(scores),
    }
}

fn panel(svg: &mut Svg, report: &PlaneReport, task: Option<usize>, x0: f64) {
    let name = task.map_or("mean over tasks", |t| report.tasks[t].as_str());
    let n = report.axis.len();
    let (lo, hi) = (report.axis[0], report.axis[n - 1]);
    let step = (hi - lo) / (n - 1) as f64;
    // Cells centred on the grid points.
    let x = Scale {
        from: (lo - step / 2.0, hi + step / 2.0),
        to: (x0, x0 + PANEL),
        log: false,
    };
    let y = Scale {
        from: (lo - step / 2.0, hi + step / 2.0),
        to: (TOP + PANEL, TOP),
        log: false,
    };
    let range = positive_range(report.cells.iter().map(|c| loss(&c.scores, task)));
    let colour = Scale {
        from: range,
        to: (1.0, 0.0),
        log: true,
    };
    let cell = PANEL / n as f64;
    for c in &report.cells {
        let value = loss(&c.scores, task);
        let exact = match task {
            Some(t) => c.scores[t].exact_match,
            None => crate::demo::sweep::mean_exact_match(&c.scores),
        };
        svg.push(&format!(
            r#"<rect class="plane-cell" x="{}" y="{}" width="{}" height="{}" fill="{}" data-task="{}" data-x="{}" data-y="{}" data-answer-loss="{value}" data-exact-match="{exact}"/>"#,
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
    svg.text(
        x0 + PANEL / 2.0,
        TOP - 6.0,
        "middle",
        &format!(
            "{name}: loss {}–{}",
            tick_label(range.0),
            tick_label(range.1)
        ),
    );
    for tick in [lo, 0.0, 1.0, hi] {
        svg.text(x.at(tick), TOP + PANEL + 13.0, "middle", &tick_label(tick));
        svg.text(x0 - 4.0, y.at(tick) + 4.0, "end", &tick_label(tick));
    }
    svg.text(
        x0 + PANEL / 2.0,
        TOP + PANEL + 27.0,
        "middle",
        &format!("x ({} − base)", report.a),
    );
    svg.vertical_text(
        x0 - 34.0,
        TOP + PANEL / 2.0,
        &format!("y ({} − base)", report.b),
    );
    for m in &report.markers {
        let (cx, cy) = (x.at(m.x), y.at(m.y));
        let shape = match m.kind {
            "model" => format!(
                r#"<circle cx="{}" cy="{}" r="4" fill="white" stroke="black"/>"#,
                px(cx),
                px(cy)
            ),
            _ => format!(
                r#"<path d="M{} {}l5 5l-5 5l-5 -5z" fill="white" stroke="black"/>"#,
                px(cx),
                px(cy - 5.0)
            ),
        };
        svg.push(&format!(
            r#"<g class="plane-marker" data-label="{}" data-kind="{}" data-x="{}" data-y="{}">{shape}</g>"#,
            escape(&m.label), m.kind, m.x, m.y
        ));
        svg.text(cx + 7.0, cy - 5.0, "start", &m.label);
    }
}

/// One line per marked model: where it sits and its own scores.
fn marker_table(svg: &mut Svg, report: &PlaneReport, top: f64) {
    for (i, m) in report.markers.iter().enumerate() {
        svg.text(
            LEFT,
            top + 14.0 * i as f64,
            "start",
            &marker_line(m, &report.tasks),
        );
    }
}

fn marker_line(m: &PlaneMarker, tasks: &[String]) -> String {
    let scores: Vec<String> = m
        .scores
        .iter()
        .zip(tasks)
        .map(|(s, t)| format!("{t} {:.1}% / {:.3}", 100.0 * s.exact_match, s.answer_loss))
        .collect();
    let off = match m.off_plane > OFF_PLANE_NOTE {
        true => format!(
            ", {:.0}% of its task vector off the plane",
            100.0 * m.off_plane
        ),
        false => String::new(),
    };
    format!(
        "{} at ({:.2}, {:.2}){off}: {}",
        m.label,
        m.x,
        m.y,
        scores.join(", ")
    )
}
