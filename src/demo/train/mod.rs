//! `train-demo`: a base model pre-trained on the mixed corpus (easy instances of every task and
//! generic text), then experts fine-tuned briefly from it on hard instances at a tenth of the
//! rate, embeddings and norms frozen, all deterministic from one seed.

pub mod optimise;
pub mod weights;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use burn::prelude::Device;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub use optimise::{batch_loss, is_embedding_or_norm, pack_row, train, TrainOptions, TrainRow};
pub use weights::DemoWeights;

use super::tasks::{derive_seed, pretraining_line, DemoTask, Level, TaskExample, TrainingStream};
use super::vocab::{config_json, DemoShape};
use crate::error::{MergeError, Result};

/// One expert to fine-tune: a task, and which of its same-task variants (another seed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExpertSpec {
    pub task: DemoTask,
    /// 0 for the task's expert, 1, 2, … for the variants of a model soup.
    pub variant: usize,
}

impl ExpertSpec {
    /// `sorting`, then `sorting-2`, `sorting-3` for its variants.
    pub fn name(&self) -> String {
        match self.variant {
            0 => self.task.name().to_string(),
            v => format!("{}-{}", self.task.name(), v + 1),
        }
    }

    /// Its data stream's seed: the same in any run that fine-tunes it, whatever else runs.
    fn seed(&self, run_seed: u64) -> u64 {
        let index = DemoTask::ALL
            .iter()
            .position(|&t| t == self.task)
            .expect("listed");
        derive_seed(run_seed, 10 + index as u64 + 100 * self.variant as u64)
    }

    /// Parses a name [`ExpertSpec::name`] writes.
    pub fn parse(name: &str) -> Option<Self> {
        let (task, variant) = match name.rsplit_once('-') {
            Some((task, n)) => (task, n.parse::<usize>().ok().filter(|&n| n >= 2)? - 1),
            None => (name, 0),
        };
        let task = DemoTask::ALL.into_iter().find(|t| t.name() == task)?;
        Some(ExpertSpec { task, variant })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct DemoRecipe {
    pub seed: u64,
    pub shape: DemoShape,
    pub pretrain: TrainOptions,
    pub finetune: TrainOptions,
    /// Share of each expert's training examples drawn from the base's pre-training mixture
    /// (rehearsal): an expert then learns its task without forgetting the others, so its task
    /// vector does not carry a "forget the other tasks" part into every merge.
    pub replay: f64,
    /// Examples in each task's held-out set.
    pub held_out: usize,
    pub experts: Vec<ExpertSpec>,
}

impl DemoRecipe {
    /// What `mixmerge train-demo` runs: a base pre-trained 6¼× longer than any expert, experts
    /// at 0.13× its rate with the same recipe each, three quarters of their examples replayed
    /// from the pre-training mixture (at half, two task vectors added together cost sorting a
    /// fifth of its accuracy); one expert per task and two more sorting experts (other seeds)
    /// for a model soup.
    pub fn shipped(seed: u64) -> Self {
        let mut experts: Vec<ExpertSpec> = DemoTask::ALL
            .into_iter()
            .map(|task| ExpertSpec { task, variant: 0 })
            .collect();
        experts.extend((1..=2).map(|variant| ExpertSpec {
            task: DemoTask::Sorting,
            variant,
        }));
        DemoRecipe {
            seed,
            shape: DemoShape::DEMO,
            pretrain: TrainOptions {
                steps: 5000,
                rows: 2,
                row_len: 384,
                peak_lr: 3e-3,
                answers_only: false,
                shards: 2,
                freeze_embeddings_and_norms: false,
            },
            finetune: TrainOptions {
                steps: 800,
                rows: 2,
                row_len: 384,
                peak_lr: 4e-4,
                answers_only: true,
                shards: 1,
                freeze_embeddings_and_norms: true,
            },
            replay: 0.75,
            held_out: 200,
            experts,
        }
    }
}

/// One trained model, as saved (f32).
pub struct DemoModel {
    pub name: String,
    pub weights: DemoWeights,
    pub losses: Vec<f32>,
}

pub struct DemoRun {
    /// `base`, then one model per expert of the recipe, in its order.
    pub models: Vec<DemoModel>,
    pub held_out: Vec<(DemoTask, Vec<TaskExample>)>,
}

/// Trains the base (or takes `base`, already trained), then the experts on a pool of threads
/// (one per core; each expert's steps stay on its thread); `progress` sees (model, step, loss).
pub fn train_demo(
    recipe: &DemoRecipe,
    base: Option<DemoWeights>,
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

    let (base, losses) = match base {
        Some(base) => (base, Vec::new()),
        None => {
            let mut base = DemoWeights::init(&recipe.shape, derive_seed(recipe.seed, 1), device);
            let mut corpus = ChaCha8Rng::seed_from_u64(derive_seed(recipe.seed, 2));
            let losses = train(
                &mut base,
                &config,
                &recipe.pretrain,
                &mut || rows(&recipe.pretrain, &mut || pretraining_line(&mut corpus)),
                &mut |step, loss| progress("base", step, loss),
            )?;
            (base, losses)
        }
    };
    let next = AtomicUsize::new(0);
    let done: Mutex<Vec<Option<Result<DemoModel>>>> =
        Mutex::new((0..recipe.experts.len()).map(|_| None).collect());
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(recipe.experts.len().max(1));
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(expert) = recipe.experts.get(i) else {
                    break;
                };
                let model = fine_tune(recipe, &base, &config, *expert, progress);
                done.lock().expect("no thread panics holding it")[i] = Some(model);
            });
        }
    });
    let mut models = vec![DemoModel {
        name: "base".into(),
        weights: base,
        losses,
    }];
    for expert in done.into_inner().expect("no thread panicked") {
        models.push(expert.ok_or_else(|| {
            MergeError::Unsupported("an expert's training thread stopped".into())
        })??);
    }
    Ok(DemoRun { models, held_out })
}

/// One expert: the base trained on hard instances of its task, held-out prompts never seen.
fn fine_tune(
    recipe: &DemoRecipe,
    base: &DemoWeights,
    config: &serde_json::Value,
    expert: ExpertSpec,
    progress: &(dyn Fn(&str, usize, f32) + Sync),
) -> Result<DemoModel> {
    let name = expert.name();
    let mut weights = base.clone();
    let mut stream = TrainingStream::new(expert.task, Level::Hard, expert.seed(recipe.seed));
    let mut rehearsal = ChaCha8Rng::seed_from_u64(derive_seed(expert.seed(recipe.seed), 3));
    let mut next = || match rehearsal.random_bool(recipe.replay) {
        true => pretraining_line(&mut rehearsal),
        false => stream.next_example(),
    };
    let losses = train(
        &mut weights,
        config,
        &recipe.finetune,
        &mut || rows(&recipe.finetune, &mut next),
        &mut |step, loss| progress(&name, step, loss),
    )?;
    Ok(DemoModel {
        name,
        weights,
        losses,
    })
}

fn rows(options: &TrainOptions, next: &mut dyn FnMut() -> TaskExample) -> Vec<TrainRow> {
    (0..options.rows)
        .map(|_| pack_row(next, options.row_len, options.answers_only))
        .collect()
}
