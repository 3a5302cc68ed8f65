//! Scoring any in-memory model on a fixed list of task sets: what every sweep point and every
//! search evaluation does after its merge.

use burn::prelude::Device;
use serde_json::Value;

use super::TensorSet;
use crate::demo::score::{score_task_async, TaskScore, TaskSet};
use crate::error::{MergeError, Result};
use crate::model::config::stop_tokens;
use crate::model::{Model, TextTokenizer};

/// The models' shared `config.json`, their tokenizer and the task sets to score on.
pub struct TaskScorer {
    pub config: Value,
    pub tokenizer: TextTokenizer,
    /// The token that ends an answer (the config's first `eos_token_id`).
    pub end_token: u32,
    pub tasks: Vec<TaskSet>,
}

impl TaskScorer {
    /// Keeps the first `examples_per_task` examples of each set (all when `None`); `model`
    /// names the config's owner in messages.
    pub fn new(
        model: &str,
        config: Value,
        tokenizer: TextTokenizer,
        mut tasks: Vec<TaskSet>,
        examples_per_task: Option<usize>,
    ) -> Result<Self> {
        let end_token = *stop_tokens(&config).first().ok_or_else(|| {
            MergeError::config(
                format!("{model}: config.json: eos_token_id"),
                "missing; scoring needs the token that ends an answer",
            )
        })?;
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
        Ok(TaskScorer {
            config,
            tokenizer,
            end_token,
            tasks,
        })
    }

    /// Every task's score of the model with `weights`, in the order of `tasks`.
    pub async fn score(&self, weights: &TensorSet, device: &Device) -> Result<Vec<TaskScore>> {
        self.score_model(&Model::load(&self.config, weights, device).await?)
            .await
    }

    /// Every task's score of `model`, in the order of `tasks`.
    pub async fn score_model(&self, model: &Model) -> Result<Vec<TaskScore>> {
        let mut scores = Vec::with_capacity(self.tasks.len());
        for set in &self.tasks {
            let score = score_task_async(
                model,
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

    pub fn task_names(&self) -> Vec<String> {
        self.tasks.iter().map(|t| t.name.clone()).collect()
    }
}
