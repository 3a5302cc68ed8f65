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
pub mod scorer;
pub mod svg;
pub mod tensors;

use burn::prelude::Device;
use serde::Serialize;
use serde_json::Value;

pub use merge::{merge_models, PairMethod};
pub use pair::{default_pair, expert_names};
pub use path::{run_path, MixupSampling, PathOptions, PathReport};
pub use plane::{run_plane, PlaneOptions, PlaneReport};
pub use scorer::TaskScorer;
pub use tensors::{HostTensor, TensorSet};

use super::score::{TaskScore, TaskSet};
use crate::error::{MergeError, Result};
use crate::model::TextTokenizer;

/// The models of a sweep, loaded once, and the task sets every point is scored on.
pub struct SweepModels {
    pub scorer: TaskScorer,
    pub base: TensorSet,
    pub experts: Vec<TensorSet>,
}

impl SweepModels {
    /// Checks that the experts share the base's tensors and keeps the first
    /// `examples_per_task` examples of each set (all when `None`).
    pub fn new(
        config: Value,
        tokenizer: TextTokenizer,
        base: TensorSet,
        experts: Vec<TensorSet>,
        tasks: Vec<TaskSet>,
        examples_per_task: Option<usize>,
    ) -> Result<Self> {
        let scorer = TaskScorer::new(&base.name, config, tokenizer, tasks, examples_per_task)?;
        base.check_same_layout(&experts.iter().collect::<Vec<_>>())?;
        Ok(SweepModels {
            scorer,
            base,
            experts,
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
        self.scorer.score(weights, device).await
    }

    /// Examples scored per task (the smallest set's count).
    pub fn examples_per_task(&self) -> usize {
        self.scorer.examples_per_task()
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
