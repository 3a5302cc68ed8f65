//! `train-demo`: a base model pre-trained on the mixed corpus, then one expert fine-tuned from
//! it per task, all deterministic from one seed.

pub mod optimise;
pub mod weights;

use burn::prelude::Device;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

pub use optimise::{batch_loss, pack_row, train, TrainOptions, TrainRow};
pub use weights::DemoWeights;

use super::tasks::{derive_seed, pretraining_line, DemoTask, TaskExample, TrainingStream};
use super::vocab::{config_json, DemoShape};
use crate::error::Result;
use crate::io::{Checkpoint, MemorySource};

#[derive(Debug, Clone, PartialEq)]
pub struct DemoRecipe {
    pub seed: u64,
    pub shape: DemoShape,
    pub pretrain: TrainOptions,
    pub finetune: TrainOptions,
    /// Examples in each task's held-out set.
    pub held_out: usize,
    /// The tasks to fine-tune an expert on (each keeps its own seed whichever others run).
    pub experts: Vec<DemoTask>,
}

impl DemoRecipe {
    /// What `mixmerge train-demo` runs: one row of 384 tokens a step (≈30 examples; a longer
    /// row costs the same per token as more rows, as long as attention stays cheap).
    pub fn shipped(seed: u64) -> Self {
        DemoRecipe {
            seed,
            shape: DemoShape::DEMO,
            pretrain: TrainOptions {
                steps: 300,
                rows: 1,
                row_len: 384,
                peak_lr: 3e-3,
                answers_only: false,
            },
            finetune: TrainOptions {
                steps: 1500,
                rows: 1,
                row_len: 384,
                peak_lr: 3e-3,
                answers_only: true,
            },
            held_out: 200,
            experts: DemoTask::ALL.to_vec(),
        }
    }
}

/// One trained model; its weights are rounded to bf16 exactly as saved.
pub struct DemoModel {
    pub name: String,
    pub weights: DemoWeights,
    pub losses: Vec<f32>,
}

pub struct DemoRun {
    /// `base`, then one expert per task of the recipe in [`DemoTask::ALL`] order.
    pub models: Vec<DemoModel>,
    pub held_out: Vec<(DemoTask, Vec<TaskExample>)>,
}

/// Trains the base, then the experts side by side (one thread each: burn's CPU backend keeps a
/// step on one core); `progress` sees (model, step, loss).
pub fn train_demo(
    recipe: &DemoRecipe,
    device: &Device,
    progress: &(dyn Fn(&str, usize, f32) + Sync),
) -> Result<DemoRun> {
    let config = config_json(&recipe.shape);
    let held_out: Vec<_> = DemoTask::ALL
        .map(|task| {
            (
                task,
                task.held_out(task.held_out_seed(recipe.seed), recipe.held_out),
            )
        })
        .to_vec();

    let mut base = DemoWeights::init(&recipe.shape, derive_seed(recipe.seed, 1), device);
    let mut corpus = ChaCha8Rng::seed_from_u64(derive_seed(recipe.seed, 2));
    let losses = train(
        &mut base,
        &config,
        &recipe.pretrain,
        &mut || rows(&recipe.pretrain, &mut || pretraining_line(&mut corpus)),
        &mut |step, loss| progress("base", step, loss),
    )?;
    let base = rounded_to_bf16(&base, &recipe.shape, device)?;
    let experts: Vec<Result<DemoModel>> = std::thread::scope(|scope| {
        let handles: Vec<_> = held_out
            .iter()
            .enumerate()
            .filter(|(_, (task, _))| recipe.experts.contains(task))
            .map(|(i, (task, examples))| {
                let (base, config) = (&base, &config);
                scope.spawn(move || {
                    let seed = derive_seed(recipe.seed, 10 + i as u64);
                    fine_tune(recipe, base, config, *task, seed, examples, progress)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("an expert's training thread panicked"))
            .collect()
    });
    let mut models = vec![DemoModel {
        name: "base".into(),
        weights: base,
        losses,
    }];
    for expert in experts {
        models.push(expert?);
    }
    Ok(DemoRun { models, held_out })
}

/// One expert: the base trained on `task`'s stream from `seed`, held-out prompts skipped.
fn fine_tune(
    recipe: &DemoRecipe,
    base: &DemoWeights,
    config: &serde_json::Value,
    task: DemoTask,
    seed: u64,
    held_out: &[TaskExample],
    progress: &(dyn Fn(&str, usize, f32) + Sync),
) -> Result<DemoModel> {
    let mut expert = base.clone();
    let mut stream = TrainingStream::new(task, seed, held_out);
    let losses = train(
        &mut expert,
        config,
        &recipe.finetune,
        &mut || rows(&recipe.finetune, &mut || stream.next_example()),
        &mut |step, loss| progress(task.name(), step, loss),
    )?;
    let device = expert.weights[0].value.device();
    Ok(DemoModel {
        name: task.name().into(),
        weights: rounded_to_bf16(&expert, &recipe.shape, &device)?,
        losses,
    })
}

fn rows(options: &TrainOptions, next: &mut dyn FnMut() -> TaskExample) -> Vec<TrainRow> {
    (0..options.rows)
        .map(|_| pack_row(next, options.row_len, options.answers_only))
        .collect()
}

/// The weights as they will be read back from the bf16 file.
fn rounded_to_bf16(
    weights: &DemoWeights,
    shape: &DemoShape,
    device: &Device,
) -> Result<DemoWeights> {
    let bytes = weights.to_safetensors_bf16()?;
    let source = MemorySource::new("model.safetensors", bytes);
    let checkpoint =
        pollster::block_on(Checkpoint::from_sources("demo".into(), vec![source], None))?;
    pollster::block_on(DemoWeights::load(shape, &checkpoint, device))
}
