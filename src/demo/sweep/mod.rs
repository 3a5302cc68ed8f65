//! What merging does between the demo experts, measured: models re-merged in memory with the
//! project's own kernels and scored on every task at each point of an interpolation path
//! (`path`) or of a plane through three checkpoints (`plane`), then drawn as SVG (`svg`).
//! No file access: the page runs the same code on fetched bytes.

#[cfg(not(target_arch = "wasm32"))]
pub mod folders;
pub mod merge;
pub mod pair;
pub mod path;
pub mod plane;
pub mod svg;
pub mod tensors;

use burn::prelude::Device;
use serde::Serialize;
use serde_json::Value;

pub use merge::{merge_models, PairMethod};
pub use pair::{default_pair, expert_names};
pub use path::{run_path, MixupSampling, PathOptions, PathReport};
pub use plane::{run_plane, PlaneOptions, PlaneReport};
pub use tensors::{HostTensor, TensorSet};

use super::score::{score_task_async, TaskScore, TaskSet};
use crate::error::{MergeError, Result};
use crate::model::config::stop_tokens;
use crate::model::{Model, TextTokenizer};

/// The models of a sweep, loaded once, and the task sets every point is scored on.
pub struct SweepModels {
    /// The parsed `config.json` the models share.
    pub config: Value,
    pub tokenizer: TextTokenizer,
    /// The token that ends an answer (the config's first `eos_token_id`).
    pub end_token: u32,
    pub base: TensorSet,
    pub experts: Vec<TensorSet>,
    pub tasks: Vec<TaskSet>,
}

impl SweepModels {
    /// Checks that the experts share the base's tensors and keeps the first
    /// `examples_per_task` examples of each set (all when `None`).
    pub fn new(
        config: Value,
        tokenizer: TextTokenizer,
        base: TensorSet,
        experts: Vec<TensorSet>,
        mut tasks: Vec<TaskSet>,
        examples_per_task: Option<usize>,
    ) -> Result<Self> {
        let end_token = *stop_tokens(&config).first().ok_or_else(|| {
            MergeError::config(
                format!("{}: config.json: eos_token_id", base.name),
                "missing; scoring needs the token that ends an answer",
            )
        })?;
        base.check_same_layout(&experts.iter().collect::<Vec<_>>())?;
        if tasks.is_empty() {
            return Err(MergeError::config("tasks", "no task sets to score on"));
        }
        if examples_per_task == Some(0) {
            return Err(MergeError::config("examples", "must be at least 1"));
        }
        for set in &mut tasks {
            if let Some(n) = examples_per_task {
                set.examples.truncate(n);
            }
        }
        Ok(SweepModels {
            config,
            tokenizer,
            end_token,
            base,
            experts,
            tasks,
        })
    }

    /// The expert named `name`.
    pub fn expert(&self, name: &str) -> Result<&TensorSet> {
        self.experts.iter().find(|e| e.name == name).ok_or_else(|| {
            let known: Vec<&str> = self.experts.iter().map(|e| e.name.as_str()).collect();
            MergeError::config(
                "models",
                format!("no expert named `{name}` (have: {})", known.join(", ")),
            )
        })
    }

    /// Every task's score of the model with `weights`.
    pub async fn score(&self, weights: &TensorSet, device: &Device) -> Result<Vec<TaskScore>> {
        let model = Model::load(&self.config, weights, device).await?;
        let mut scores = Vec::with_capacity(self.tasks.len());
        for set in &self.tasks {
            let score = score_task_async(
                &model,
                &self.tokenizer,
                self.end_token,
                &set.name,
                &set.examples,
            )
            .await?;
            scores.push(score);
        }
        Ok(scores)
    }

    /// Examples scored per task (the smallest set's count).
    pub fn examples_per_task(&self) -> usize {
        self.tasks
            .iter()
            .map(|t| t.examples.len())
            .min()
            .unwrap_or(0)
    }
}

/// A point of a sweep has been scored.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct PointDone {
    pub done: usize,
    pub total: usize,
}

/// What a caller sees of a running sweep: a chance to yield or stop before each point, and
/// each point's completion.
#[allow(async_fn_in_trait)]
pub trait SweepHooks {
    /// An error (usually `Cancelled`) ends the sweep with it.
    async fn before_point(&mut self) -> Result<()> {
        Ok(())
    }

    fn point_done(&mut self, _progress: PointDone) {}
}

/// No progress, no cancellation.
impl SweepHooks for () {}

/// Mean over tasks of the answer loss: the "combined" loss of the pictures.
pub fn mean_loss(scores: &[TaskScore]) -> f64 {
    scores.iter().map(|s| s.answer_loss).sum::<f64>() / scores.len().max(1) as f64
}

/// Mean over tasks of the exact match.
pub fn mean_exact_match(scores: &[TaskScore]) -> f64 {
    scores.iter().map(|s| s.exact_match).sum::<f64>() / scores.len().max(1) as f64
}
