//! Merge-readiness of the shipped demo set (www/demo), checked on the committed checkpoints
//! with in-memory merges (seconds, no training): the base half-solves every task, each expert
//! solves its own, half a task vector buys half the gain, two complementary task vectors added
//! together keep each other's skills, task vectors are small, and the files store them exactly.

use std::path::{Path, PathBuf};

use mixmerge::demo::sweep::folders::DemoFolder;
use mixmerge::demo::sweep::{expert_names, merge_models, PairMethod, SweepModels, TensorSet};
use mixmerge::demo::{DemoTask, TaskScore};
use mixmerge::dtype::DType;
use mixmerge::io::open_checkpoint;
use mixmerge::model::cpu_device;

/// The tasks of the complementary set: disjoint alphabets, no shared answers.
const COMPLEMENTARY: [DemoTask; 3] = [DemoTask::Sorting, DemoTask::Successors, DemoTask::Unique];

fn demo_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("www/demo")
}

fn load() -> SweepModels {
    let folder = DemoFolder {
        dir: demo_dir(),
        base: "base".into(),
        tasks: None,
    };
    let names = expert_names(&folder.scores().unwrap(), "base").unwrap();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    folder.load(&names, None).unwrap()
}

fn score(models: &SweepModels, weights: &TensorSet) -> Vec<TaskScore> {
    pollster::block_on(models.score(weights, &cpu_device().device)).unwrap()
}

fn exact(scores: &[TaskScore], task: DemoTask) -> f64 {
    scores
        .iter()
        .find(|s| s.task == task.name())
        .unwrap_or_else(|| panic!("no score for {}", task.name()))
        .exact_match
}

/// base + Σ weightᵢ·(expertᵢ − base).
fn task_arithmetic(models: &SweepModels, experts: &[DemoTask], weights: &[f64]) -> TensorSet {
    let method = PairMethod::parse("task_arithmetic").unwrap();
    let inputs: Vec<&TensorSet> = experts
        .iter()
        .map(|t| models.expert(t.name()).unwrap())
        .collect();
    merge_models(&method, &models.base, &inputs, weights, 0).unwrap()
}

#[test]
fn the_base_half_solves_every_task() {
    let models = load();
    let base = score(&models, &models.base);
    for task in DemoTask::ALL {
        let at_base = exact(&base, task);
        assert!(
            (0.10..=0.60).contains(&at_base),
            "base on {}: {at_base}",
            task.name()
        );
    }
}

#[test]
fn each_expert_solves_its_own_task() {
    let models = load();
    for task in DemoTask::ALL {
        let expert = score(&models, models.expert(task.name()).unwrap());
        let own = exact(&expert, task);
        assert!(own >= 0.85, "{} expert: {own}", task.name());
    }
}

#[test]
fn half_a_task_vector_gains_at_least_half_of_the_experts_gain() {
    let models = load();
    let base = score(&models, &models.base);
    for task in DemoTask::ALL {
        let expert = exact(&score(&models, models.expert(task.name()).unwrap()), task);
        let half = exact(
            &score(&models, &task_arithmetic(&models, &[task], &[0.5])),
            task,
        );
        let start = exact(&base, task);
        assert!(
            half - start >= 0.5 * (expert - start),
            "{}: base {start}, half {half}, expert {expert}",
            task.name()
        );
    }
}

#[test]

fn two_complementary_task_vectors_added_keep_each_skill() {
    let models = load();
    for (i, &a) in COMPLEMENTARY.iter().enumerate() {
        for &b in &COMPLEMENTARY[i + 1..] {
            let both = score(&models, &task_arithmetic(&models, &[a, b], &[1.0, 1.0]));
            for task in [a, b] {
                let alone = exact(&score(&models, models.expert(task.name()).unwrap()), task);
                let kept = exact(&both, task);
                assert!(
                    kept >= 0.8 * alone,
                    "{} + {}: {} at {kept}, its expert {alone}",
                    a.name(),
                    b.name(),
                    task.name()
                );
            }
        }
    }
}

#[test]
fn task_vectors_are_small_and_stored_exactly() {
    let models = load();
    let norm = |set: &TensorSet, minus: Option<&TensorSet>| -> f64 {
        let mut sum = 0.0;
        for (name, tensor) in &set.tensors {
            let other = minus.map(|m| &m.tensors[name].values);
            for (k, &v) in tensor.values.iter().enumerate() {
                let d = f64::from(v) - other.map_or(0.0, |o| f64::from(o[k]));
                sum += d * d;
            }
        }
        sum.sqrt()
    };
    let base_norm = norm(&models.base, None);
    for expert in &models.experts {
        let ratio = norm(expert, Some(&models.base)) / base_norm;
        assert!(
            ratio > 0.0 && ratio <= 0.1,
            "{}: ‖τ‖/‖θ₀‖ = {ratio}",
            expert.name
        );
    }
    // f32 files: the task vector read back is the one trained, with no rounding step at all.
    for name in
        std::iter::once("base".to_string()).chain(models.experts.iter().map(|e| e.name.clone()))
    {
        let checkpoint = open_checkpoint(&demo_dir().join(&name)).unwrap();
        for (tensor, location) in &checkpoint.tensors {
            assert_eq!(location.info.dtype, DType::F32, "{name}: {tensor}");
        }
    }
}
