//! The demo tasks and their scoring: deterministic generators, held-out sets disjoint from
//! training data, the committed experts reproducing their recorded scores, bad task files.

use std::path::{Path, PathBuf};

use mixmerge::demo::files::{load_task_sets, score_model_folder};
use mixmerge::demo::score::score_example;
use mixmerge::demo::tasks::{parse_jsonl, pretraining_line, to_jsonl, Level, TrainingStream};
use mixmerge::demo::DemoTask;
use mixmerge::eval::{generate, GenerateOptions, Sampling};
use mixmerge::model::cpu_device;
use mixmerge::model::folder::load_model_folder;
use mixmerge::MergeError;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

fn demo_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("www/demo")
}

#[test]
fn generators_repeat_for_a_seed_and_differ_across_seeds() {
    for task in DemoTask::ALL {
        assert_eq!(task.held_out(5, 50), task.held_out(5, 50));
        assert_ne!(task.held_out(5, 50), task.held_out(6, 50));
    }
    let lines = |seed| {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        (0..50)
            .map(|_| pretraining_line(&mut rng))
            .collect::<Vec<_>>()
    };
    assert_eq!(lines(1), lines(1));
    assert_ne!(lines(1), lines(2));
}

#[test]
fn held_out_prompts_never_appear_in_training_streams() {
    for task in DemoTask::ALL {
        let held_out = task.held_out(11, 200);
        let prompts: std::collections::HashSet<_> = held_out.iter().map(|e| &e.prompt).collect();
        assert_eq!(
            prompts.len(),
            held_out.len(),
            "{}: duplicate prompts",
            task.name()
        );
        // The same seed makes the raw generator start with the held-out prompts themselves.
        let mut stream = TrainingStream::new(task, Level::Hard, 11);
        for _ in 0..20_000 {
            let example = stream.next_example();
            assert!(
                !prompts.contains(&example.prompt),
                "{}: {example:?}",
                task.name()
            );
        }
    }
}

#[test]
fn committed_task_files_are_the_generators_output() {
    let dir = demo_dir();
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("scores.json")).unwrap()).unwrap();
    let seed = record["seed"].as_u64().unwrap();
    let sets = load_task_sets(&dir.join("tasks")).unwrap();
    let names: Vec<_> = sets.iter().map(|s| s.name.as_str()).collect();
    let expected: Vec<_> = DemoTask::ALL.iter().map(|t| t.name()).collect();
    assert_eq!(names, expected);
    for (set, task) in sets.iter().zip(DemoTask::ALL) {
        // Stale files (a generator changed, the sets not rewritten) fail here.
        assert_eq!(
            set.examples,
            task.held_out(task.held_out_seed(seed), 200),
            "{}",
            set.name
        );
        assert_eq!(
            parse_jsonl("again", &to_jsonl(&set.examples)).unwrap(),
            set.examples
        );
    }
}

#[test]
fn committed_models_reproduce_their_recorded_scores() {
    let dir = demo_dir();
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("scores.json")).unwrap()).unwrap();
    let sets = load_task_sets(&dir.join("tasks")).unwrap();
    let device = cpu_device().device;
    let models = record["scores"].as_object().unwrap();
    assert!(models.len() >= 5, "the base and an expert per task");
    for (model, recorded) in models {
        let scores = score_model_folder(&dir.join(model), &sets, &device).unwrap();
        for (score, recorded) in scores.iter().zip(recorded.as_array().unwrap()) {
            assert_eq!(score.task, recorded["task"].as_str().unwrap());
            let exact = recorded["exact_match"].as_f64().unwrap();
            let loss = recorded["answer_loss"].as_f64().unwrap();
            let chars = recorded["char_accuracy"].as_f64().unwrap();
            assert!(
                (score.exact_match - exact).abs() < 1e-9
                    && (score.char_accuracy - chars).abs() < 1e-9,
                "{model}/{}: {score:?}",
                score.task
            );
            assert!(
                (score.answer_loss - loss).abs() < 1e-4,
                "{model}/{}: {score:?}",
                score.task
            );
        }
    }
}

/// The record lists every model it scored, the experts its recipe trained, and partial credit.
#[test]
fn the_record_scores_the_base_and_every_expert_it_lists() {
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(demo_dir().join("scores.json")).unwrap()).unwrap();
    let experts: Vec<&str> = record["experts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    let scored: Vec<&str> = record["scores"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(scored[0], "base");
    assert_eq!(&scored[1..], experts.as_slice());
    for task in DemoTask::ALL {
        assert!(experts.contains(&task.name()), "no {} expert", task.name());
    }
    for (model, scores) in record["scores"].as_object().unwrap() {
        for score in scores.as_array().unwrap() {
            let (exact, chars) = (
                score["exact_match"].as_f64().unwrap(),
                score["char_accuracy"].as_f64().unwrap(),
            );
            // Every exact answer has all its characters right.
            assert!(chars >= exact && chars <= 1.0, "{model}: {score}");
        }
    }
}

#[test]
fn teacher_forced_exact_match_agrees_with_greedy_generation() {
    let dir = demo_dir();
    let device = cpu_device().device;
    let sets = load_task_sets(&dir.join("tasks")).unwrap();
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("scores.json")).unwrap()).unwrap();
    for model in record["scores"].as_object().unwrap().keys() {
        let loaded = load_model_folder(&dir.join(model), &device).unwrap();
        let end = loaded.stop_tokens[0];
        let options = GenerateOptions {
            max_new_tokens: 16,
            sampling: Sampling::Greedy,
            stop_tokens: vec![end],
        };
        for set in &sets {
            for example in &set.examples[..15] {
                let scored = score_example(&loaded.model, &loaded.tokenizer, end, example).unwrap();
                let prompt = loaded.tokenizer.encode(&example.prompt, false).unwrap();
                let generated = generate(&loaded.model, &prompt, &options, &mut |_| {}).unwrap();
                let mut expected = loaded.tokenizer.encode(&example.answer, false).unwrap();
                expected.push(end);
                assert_eq!(
                    scored.exact,
                    generated.tokens == expected,
                    "{model}: {example:?}"
                );
                // Greedy text agrees with the per-character count up to the first mistake.
                let agreeing = generated
                    .tokens
                    .iter()
                    .zip(&expected)
                    .take_while(|(g, e)| g == e)
                    .count();
                assert!(scored.correct_tokens >= agreeing, "{model}: {example:?}");
            }
        }
    }
}

#[test]
fn a_missing_task_file_is_named() {
    let missing = demo_dir().join("tasks/no-such-task.jsonl");
    match load_task_sets(&missing) {
        Err(MergeError::Io { path, .. }) => assert!(path.ends_with("no-such-task.jsonl"), "{path}"),
        other => panic!("expected an I/O error, got {:?}", other.map(|s| s.len())),
    }
}

#[test]
fn a_malformed_line_is_named_with_its_file_and_line() {
    let text = "{\"prompt\": \"sort:bca=\", \"answer\": \"abc\"}\n\n{\"prompt\": \"sort:zxy=\"}\n";
    let error = parse_jsonl("tasks/sorting.jsonl", text).unwrap_err();
    let message = error.to_string();
    assert!(message.contains("tasks/sorting.jsonl line 3"), "{message}");
    assert!(message.contains("answer"), "{message}");
    let error = parse_jsonl("empty.jsonl", "\n").unwrap_err();
    assert!(error.to_string().contains("empty.jsonl"), "{error}");
}

#[test]
fn a_folder_without_task_files_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let error = load_task_sets(dir.path()).expect_err("no task files");
    assert!(error.to_string().contains("no *.jsonl"), "{error}");
}
