//! `mixmerge search` on the shipped demo: a seeded search reproduces its log whatever the
//! thread count, its points are the recipes it logs, and a bad search file fails before any
//! model is read.

use std::path::{Path, PathBuf};

use mixmerge::model::cpu_device;
use mixmerge::search::native::{load_search, ThreadedEvaluator};
use mixmerge::search::{run_search, SearchLog, SearchSession};

fn demo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("www/demo")
}

/// A small search beside the demo's own: two free weights, a handful of examples.
fn small_search(dir: &Path, optimiser: &str) -> PathBuf {
    let demo = demo();
    let text = format!(
        "merge_method: task_arithmetic\nbase_model: {demo}/base\nmodels:\n  - model: {demo}/sorting\n    parameters: {{weight: 0.5}}\n  - model: {demo}/unique\n    parameters: {{weight: 0.5}}\ndtype: float32\nout_dtype: float32\nsearch:\n  parameters: [{{name: weight, bounds: [0, 1.5]}}]\n  objectives: [{{tasks: [sorting, unique], metric: char_accuracy}}]\n  optimiser: {optimiser}\n  data: {{tasks: {demo}/tasks, search_examples: 8, held_out_examples: 8}}\n",
        demo = demo.display()
    );
    let file = dir.join("search.yml");
    std::fs::write(&file, text).unwrap();
    file
}

fn run(session: &SearchSession, threads: usize) -> SearchLog {
    let mut evaluator = ThreadedEvaluator { session, threads };
    pollster::block_on(run_search(&session.spec, &mut evaluator, &mut ())).unwrap()
}

#[test]
fn a_seeded_search_reproduces_its_log_on_one_thread_or_two() {
    let dir = tempfile::tempdir().unwrap();
    let file = small_search(dir.path(), "{kind: cmaes, evaluations: 7, population: 3}");
    let (session, _) = load_search(&file).unwrap();
    let one = run(&session, 1);
    let two = run(&session, 2);
    assert_eq!(one, two);
    assert_eq!(one.evaluations.len(), 7);
    assert_eq!(one.evaluations[0].values, [0.5, 0.5]);
    // The optimiser moved: not every point is the start.
    assert!(one.evaluations.iter().any(|e| e.values != [0.5, 0.5]));
    // The logged best is the best logged.
    let best = &one.evaluations[one.chosen[0]];
    assert!(one.evaluations.iter().all(|e| e.scalar <= best.scalar));
}

#[test]
fn an_evaluation_scores_the_recipe_it_logs() {
    let dir = tempfile::tempdir().unwrap();
    let file = small_search(dir.path(), "{kind: grid, points: 2}");
    let (session, _) = load_search(&file).unwrap();
    let log = run(&session, 2);
    assert_eq!(log.evaluations.len(), 4);
    let device = cpu_device().device;
    // (0, 0) is the base itself: the search split's scores of the base model.
    let base = &log.evaluations[0];
    assert_eq!(base.values, [0.0, 0.0]);
    let base_model = session.pool.find(&demo().join("base")).unwrap();
    let direct = pollster::block_on(session.search.score(&base_model.weights, &device)).unwrap();
    assert_eq!(base.scores, direct);
    // Every other point, merged again from its logged recipe, scores the same.
    for evaluation in &log.evaluations[1..] {
        let recipe = session.recipe_spec(&evaluation.values).unwrap();
        let again =
            pollster::block_on(session.score_recipe(&recipe, &session.search, &device)).unwrap();
        assert_eq!(evaluation.scores, again);
    }
    let outcome = pollster::block_on(session.finish(&log, &[], &device)).unwrap();
    let names: Vec<&str> = outcome.baselines.iter().map(|b| b.name.as_str()).collect();
    assert_eq!(names[..3], ["base", "sorting", "unique"]);
    assert!(names.contains(&"uniform average"));
    assert!(names.iter().any(|n| n.starts_with("best grid λ")));
}

#[test]
fn bad_search_files_fail_naming_their_key_before_reading_models() {
    let dir = tempfile::tempdir().unwrap();
    let file = small_search(dir.path(), "{kind: grid, points: 2}");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, text.replace("sorting, unique", "sorting, adding")).unwrap();
    let err = load_search(&file).err().unwrap().to_string();
    assert!(
        err.contains("search.objectives[0].tasks") && err.contains("`adding`"),
        "{err}"
    );
    std::fs::write(
        &file,
        text.replace("{name: weight,", "{name: weight, points: 0,"),
    )
    .unwrap();
    let err = load_search(&file).err().unwrap().to_string();
    assert!(err.contains("search.parameters[0].points"), "{err}");
    std::fs::write(&file, text.replace("/unique", "/no-such-expert")).unwrap();
    let err = load_search(&file).err().unwrap().to_string();
    assert!(err.contains("no-such-expert"), "{err}");
}
