//! `demo::sweep` on the shipped demo experts (www/demo): the path's ends and the plane's corners
//! are the models themselves, scored as `demo-eval` scores them; the reports' JSON shape and
//! the SVG's data; bad inputs named. Experts and tasks are read from the folder, never assumed.

use std::path::{Path, PathBuf};

use mixmerge::demo::files::{load_task_sets, score_model_folder, TaskSet};
use mixmerge::demo::sweep::folders::DemoFolder;
use mixmerge::demo::sweep::svg::{path_svg, plane_svg};
use mixmerge::demo::sweep::{
    expert_names, run_path, run_plane, MixupSampling, PairMethod, PathOptions, PlaneOptions,
    SweepModels,
};
use mixmerge::demo::TaskScore;
use mixmerge::model::cpu_device;

const EXAMPLES: usize = 6;

fn demo_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("www/demo")
}

fn demo() -> DemoFolder {
    DemoFolder {
        dir: demo_dir(),
        base: "base".into(),
        tasks: None,
    }
}

/// The first two experts scores.json lists.
fn pair() -> (String, String) {
    let names = expert_names(&demo().scores().unwrap(), "base").unwrap();
    assert!(names.len() >= 2, "the demo needs two experts: {names:?}");
    (names[0].clone(), names[1].clone())
}

fn load() -> (SweepModels, String, String) {
    let (a, b) = pair();
    let models = demo().load(&[&a, &b], Some(EXAMPLES)).unwrap();
    (models, a, b)
}

/// `demo-eval`'s scores of the model folder `name` on the first EXAMPLES examples.
fn demo_eval(name: &str) -> Vec<TaskScore> {
    let sets: Vec<TaskSet> = load_task_sets(&demo_dir().join("tasks"))
        .unwrap()
        .into_iter()
        .map(|mut s| {
            s.examples.truncate(EXAMPLES);
            s
        })
        .collect();
    score_model_folder(&demo_dir().join(name), &sets, &cpu_device().device).unwrap()
}

fn assert_scores_match(got: &[TaskScore], want: &[TaskScore], loss_tolerance: f64, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}");
    for (g, w) in got.iter().zip(want) {
        assert_eq!((&g.task, g.examples), (&w.task, w.examples), "{what}");
        assert_eq!(g.exact_match, w.exact_match, "{what}: {}", g.task);
        let diff = (g.answer_loss - w.answer_loss).abs();
        assert!(
            diff <= loss_tolerance * w.answer_loss.max(1.0),
            "{what}: {} loss {} vs {}",
            g.task,
            g.answer_loss,
            w.answer_loss
        );
    }
}

fn path_options(a: &str, b: &str) -> PathOptions {
    PathOptions {
        a: a.into(),
        b: b.into(),
        points: 3,
        methods: PairMethod::parse_list(&["linear".into(), "ties".into()], 0.5, 1.0).unwrap(),
        mixup: Some(MixupSampling {
            alpha: 0.5,
            samples: 2,
            seed: 3,
            method: PairMethod::parse("linear").unwrap(),
        }),
        seed: 0,
    }
}

#[test]
fn path_ends_are_the_experts_and_the_report_has_its_shape() {
    let (models, a, b) = load();
    let device = cpu_device().device;
    let report =
        pollster::block_on(run_path(&models, &path_options(&a, &b), &device, &mut ())).unwrap();
    let linear = &report.curves[0];
    assert_eq!(
        linear.points.iter().map(|p| p.lambda).collect::<Vec<_>>(),
        [0.0, 0.5, 1.0]
    );
    // Weights (1, 0) reproduce A's values bit for bit, so its scores exactly.
    assert_scores_match(
        &linear.points[0].scores,
        &demo_eval(&a),
        1e-9,
        "linear λ = 0 vs A",
    );
    assert_scores_match(
        &linear.points[2].scores,
        &demo_eval(&b),
        1e-9,
        "linear λ = 1 vs B",
    );
    let mixup = report.mixup.as_ref().unwrap();
    for p in &mixup.points {
        assert_eq!(
            p.lambda,
            1.0 - mixmerge::merge::mixup::draw_lambda(0.5, p.seed)
        );
    }

    let json: serde_json::Value = serde_json::to_value(&report).unwrap();
    for key in [
        "base",
        "a",
        "b",
        "tasks",
        "examples_per_task",
        "seed",
        "curves",
        "mixup",
    ] {
        assert!(json.get(key).is_some(), "path JSON lacks `{key}`");
    }
    assert_eq!(json["examples_per_task"], EXAMPLES);
    assert_eq!(json["curves"][1]["method"], "ties");
    assert_eq!(json["curves"][1]["density"], 0.5);
    let score = &json["curves"][0]["points"][1]["scores"][0];
    for key in ["task", "examples", "exact_match", "answer_loss"] {
        assert!(score.get(key).is_some(), "score lacks `{key}`");
    }
    assert_eq!(json["mixup"]["alpha"], 0.5);
    assert_eq!(json["mixup"]["points"].as_array().unwrap().len(), 2);

    // The picture carries every plotted number.
    let svg = path_svg(&report);
    let tasks = report.tasks.len();
    assert_eq!(
        svg.matches(r#"class="path-point""#).count(),
        2 * 3 * tasks * 2
    );
    assert_eq!(svg.matches(r#"class="mixup-point""#).count(), 2 * tasks * 2);
    let s = &linear.points[1].scores[0];
    let attribute = format!(
        r#"data-lambda="0.5" data-exact-match="{}" data-answer-loss="{}""#,
        s.exact_match, s.answer_loss
    );
    assert!(svg.contains(&attribute), "{attribute} not in the SVG");
}

#[test]
fn plane_corners_are_the_three_models() {
    let (models, a, b) = load();
    let options = PlaneOptions {
        a: a.clone(),
        b: b.clone(),
        grid: 2,
        min: 0.0,
        max: 1.0,
        merges: PairMethod::parse_list(&["linear".into(), "ties".into()], 0.5, 1.0).unwrap(),
        merge_weights: [1.0, 1.0],
        seed: 0,
    };
    let device = cpu_device().device;
    let report = pollster::block_on(run_plane(&models, &options, &device, &mut ())).unwrap();
    let cell = |x: f64, y: f64| {
        &report
            .cells
            .iter()
            .find(|c| c.x == x && c.y == y)
            .unwrap()
            .scores
    };
    // base + 1·(A − base) is A up to f32 rounding of the difference.
    assert_scores_match(
        cell(0.0, 0.0),
        &demo_eval("base"),
        1e-4,
        "plane (0, 0) vs base",
    );
    assert_scores_match(cell(1.0, 0.0), &demo_eval(&a), 1e-4, "plane (1, 0) vs A");
    assert_scores_match(cell(0.0, 1.0), &demo_eval(&b), 1e-4, "plane (0, 1) vs B");
    let marker = |label: &str| report.markers.iter().find(|m| m.label == label).unwrap();
    assert_scores_match(&marker(&a).scores, &demo_eval(&a), 1e-9, "marker A");
    // Linear with weights (1, 1) is the midpoint (A + B) / 2, on the plane.
    let linear = marker("linear");
    assert!(
        (linear.x - 0.5).abs() < 1e-3 && (linear.y - 0.5).abs() < 1e-3,
        "{linear:?}"
    );
    assert!(linear.off_plane < 1e-3, "{}", linear.off_plane);
    // TIES trims and elects: off the plane.
    assert!(marker("ties").off_plane > 0.01);

    let json: serde_json::Value = serde_json::to_value(&report).unwrap();
    for key in [
        "base",
        "a",
        "b",
        "tasks",
        "examples_per_task",
        "axis",
        "cells",
        "markers",
    ] {
        assert!(json.get(key).is_some(), "plane JSON lacks `{key}`");
    }
    assert_eq!(json["cells"].as_array().unwrap().len(), 4);
    let svg = plane_svg(&report);
    assert_eq!(
        svg.matches(r#"class="plane-cell""#).count(),
        4 * (report.tasks.len() + 1)
    );
    assert_eq!(
        svg.matches(r#"class="plane-marker""#).count(),
        5 * (report.tasks.len() + 1)
    );
}

#[test]
fn bad_inputs_are_named() {
    let (models, a, b) = load();
    let device = cpu_device().device;
    let path_error = |options: PathOptions| {
        pollster::block_on(run_path(&models, &options, &device, &mut ()))
            .unwrap_err()
            .to_string()
    };
    let mut options = path_options(&a, &b);
    options.a = "no-such-expert".into();
    let err = path_error(options);
    assert!(
        err.contains("no expert named `no-such-expert`") && err.contains(&b),
        "{err}"
    );
    let mut options = path_options(&a, &b);
    options.points = 1;
    assert!(path_error(options).contains("points"));
    let mut options = path_options(&a, &b);
    options.mixup.as_mut().unwrap().alpha = 0.0;
    assert!(path_error(options).contains("alpha"));

    let plane_error = |grid: usize, min: f64, max: f64| {
        let options = PlaneOptions {
            a: a.clone(),
            b: b.clone(),
            grid,
            min,
            max,
            merges: vec![],
            merge_weights: [1.0, 1.0],
            seed: 0,
        };
        pollster::block_on(run_plane(&models, &options, &device, &mut ()))
            .unwrap_err()
            .to_string()
    };
    assert!(plane_error(1, 0.0, 1.0).contains("grid"));
    assert!(plane_error(3, 1.0, 1.0).contains("range"));

    let err = demo().load(&[&a, &b], Some(0)).err().unwrap().to_string();
    assert!(err.contains("examples"), "{err}");
    let missing = DemoFolder {
        dir: demo_dir(),
        base: "base".into(),
        tasks: None,
    };
    let err = missing
        .load(&["no-such-expert"], None)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("no-such-expert"), "{err}");
}
