//! `mixmerge search` on the shipped demo: a seeded search reproduces its log whatever the
//! thread count, its points are the recipes it logs, and a bad search file fails before any
//! model is read. A text's perplexity as the objective, on the demo and on the real SmolLM2
//! GGUF against transformers' numbers.

use crate::common;

use std::path::{Path, PathBuf};

use mixmerge::eval::{perplexity, Window};
use mixmerge::model::cpu_device;
use mixmerge::model::folder::load_model;
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
    let direct =
        pollster::block_on(session.search.score(&base_model.weights, None, &device)).unwrap();
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

#[test]
fn a_text_objective_scores_each_half_of_the_text_like_perplexity_does() {
    let dir = tempfile::tempdir().unwrap();
    let demo = demo();
    let text = format!(
        "merge_method: linear\nmodels:\n  - model: {demo}/base\n    parameters: {{weight: 0.5}}\n  - model: {demo}/unique\n    parameters: {{weight: 0.5}}\ndtype: float32\nout_dtype: float32\nsearch:\n  parameters: [{{name: weight, models: [unique], bounds: [0, 1]}}]\n  objectives: [{{name: ppl, tasks: [transcripts], metric: perplexity}}, {{tasks: [unique]}}]\n  optimiser: {{kind: grid, points: 3}}\n  data: {{tasks: {demo}/tasks, text: {demo}/texts/transcripts.txt, window: 64, search_examples: 4, held_out_examples: 4}}\n",
        demo = demo.display()
    );
    let file = dir.path().join("search.yml");
    std::fs::write(&file, &text).unwrap();
    let (session, _) = load_search(&file).unwrap();
    let log = run(&session, 2);
    assert_eq!(log.evaluations.len(), 3);
    // The tasks, then the text (named after its file), in every evaluation.
    let tasks: Vec<&str> = log.evaluations[0]
        .scores
        .iter()
        .map(|s| s.task.as_str())
        .collect();
    assert_eq!(
        tasks,
        [
            "descending",
            "sorting",
            "successors",
            "unique",
            "transcripts"
        ]
    );
    // Weight 0 on unique is the base: its perplexity on the text's first half, from the
    // perplexity pass `mixmerge eval` makes (windows of 64, half-overlapping).
    let whole = std::fs::read_to_string(demo.join("texts/transcripts.txt")).unwrap();
    // The halves meet after the line break nearest the middle.
    let cut = (whole.match_indices('\n'))
        .map(|(i, _)| i + 1)
        .filter(|&p| p < whole.len())
        .min_by_key(|&p| p.abs_diff(whole.len() / 2))
        .unwrap();
    let (first_half, rest) = whole.split_at(cut);
    let loaded = load_model(&demo.join("base"), &cpu_device().device).unwrap();
    let tokens = loaded.tokenizer.encode(first_half, true).unwrap();
    let want = perplexity(&loaded.model, &tokens, Window::overlapping(64)).unwrap();
    let base = &log.evaluations[0];
    let got = base.scores.last().unwrap();
    assert_eq!(got.examples, tokens.len() - 1);
    assert!(
        (got.answer_loss - want.mean_nll()).abs() < 1e-9,
        "{got:?} vs {}",
        want.mean_nll()
    );
    assert!((base.objectives[0] + want.perplexity()).abs() < 1e-9);
    assert_eq!(got.exact_match, want.top1_accuracy());
    // The held-out half is the rest of the text, scored for the result and the baselines.
    let device = cpu_device().device;
    let outcome = pollster::block_on(session.finish(&log, &[], &device)).unwrap();
    let rest_tokens = loaded.tokenizer.encode(rest, true).unwrap();
    let held_out = perplexity(&loaded.model, &rest_tokens, Window::overlapping(64)).unwrap();
    let base_row = outcome.baselines.iter().find(|b| b.name == "base").unwrap();
    assert!((base_row.held_out[0] + held_out.perplexity()).abs() < 1e-9);
    // A text named like a task set is refused, naming both.
    std::fs::write(
        &file,
        text.replace("texts/transcripts.txt", "tasks/unique.jsonl"),
    )
    .unwrap();
    let err = load_search(&file).err().unwrap().to_string();
    assert!(
        err.contains("search.data.text") && err.contains("`unique`"),
        "{err}"
    );
}

/// SmolLM2-135M from its GGUF: a search over a recipe of it alone (every point is the model
/// itself) scores the text's first half with the perplexity transformers computed.
#[test]
fn a_search_on_the_smollm2_gguf_scores_perplexity_like_transformers() {
    let Some(model) = common::smollm2::smollm2_gguf() else {
        return;
    };
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/smollm2");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("search.yml");
    std::fs::write(
        &file,
        format!(
            "merge_method: linear\nmodels:\n  - model: {model}\n    parameters: {{weight: 1.0}}\ndtype: float32\nout_dtype: float32\nsearch:\n  parameters: [{{name: weight, bounds: [0.5, 1.5]}}]\n  objectives: [{{metric: perplexity}}]\n  optimiser: {{kind: grid, points: 2}}\n  data: {{text: {text}}}\n",
            model = model.display(),
            text = fixtures.join("paragraph.txt").display()
        ),
    )
    .unwrap();
    let (session, _) = load_search(&file).unwrap();
    let log = run(&session, 2);
    let reference: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixtures.join("reference.json")).unwrap())
            .unwrap();
    let ids: Vec<u32> = reference["paragraph"]["ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i.as_u64().unwrap() as u32)
        .collect();
    let first_half = session.search.text.as_ref().unwrap();
    // The first half tokenises as a prefix of the whole paragraph; transformers' log-probs of
    // that prefix are its perplexity.
    assert_eq!(first_half.tokens, ids[..first_half.tokens.len()]);
    let log_probs: Vec<f64> = reference["paragraph"]["log_probs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_f64().unwrap())
        .collect();
    let scored = &log_probs[..first_half.tokens.len() - 1];
    let want = (-scored.iter().sum::<f64>() / scored.len() as f64).exp();
    for evaluation in &log.evaluations {
        let got = -evaluation.objectives[0];
        assert!(
            (got / want - 1.0).abs() < 2e-3,
            "perplexity {got} vs transformers {want}"
        );
    }
    assert_eq!(log.evaluations[0].scores, log.evaluations[1].scores);
}
