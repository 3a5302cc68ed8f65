//! One split's scorer: the demo tasks, a text's half, or both, on a model loaded once per
//! evaluation.

use burn::prelude::Device;
use serde_json::Value;

use super::text::TextPart;
use crate::demo::score::TaskScore;
use crate::demo::sweep::{TaskScorer, TensorSet};
use crate::error::{MergeError, Result};
use crate::model::Model;

pub struct SplitScorer {
    /// The models' `config.json` (a GGUF's, converted).
    pub config: Value,
    pub tasks: Option<TaskScorer>,
    pub text: Option<TextPart>,
    /// Most tokens in one perplexity window.
    pub window: usize,
}

impl SplitScorer {
    /// Needs tasks or a text; their names must differ, for objectives name them.
    pub fn new(
        config: Value,
        tasks: Option<TaskScorer>,
        text: Option<TextPart>,
        window: usize,
    ) -> Result<Self> {
        let scorer = SplitScorer {
            config,
            tasks,
            text,
            window,
        };
        if scorer.tasks.is_none() && scorer.text.is_none() {
            return Err(MergeError::config(
                "search.data",
                "nothing to score on: give `tasks:`, `text:` or both",
            ));
        }
        if let (Some(tasks), Some(text)) = (&scorer.tasks, &scorer.text) {
            if tasks.task_names().contains(&text.name) {
                return Err(MergeError::config(
                    "search.data.text",
                    format!("`{}` is also a task set's name; rename one", text.name),
                ));
            }
        }
        Ok(scorer)
    }

    /// What objectives may name: the task sets, then the text.
    pub fn names(&self) -> Vec<String> {
        let tasks = self.tasks.iter().flat_map(|t| t.task_names());
        tasks
            .chain(self.text.iter().map(|t| t.name.clone()))
            .collect()
    }

    /// Scores of the model with `weights`, laid out by `layers` hidden layers when a merge
    /// renumbered them: the tasks' in order, then the text's.
    pub async fn score(
        &self,
        weights: &TensorSet,
        layers: Option<usize>,
        device: &Device,
    ) -> Result<Vec<TaskScore>> {
        let model = match layers {
            None => Model::load(&self.config, weights, device).await?,
            Some(layers) => {
                let mut config = self.config.clone();
                config["num_hidden_layers"] = layers.into();
                Model::load(&config, weights, device).await?
            }
        };
        let mut scores = match &self.tasks {
            Some(tasks) => tasks.score_model(&model).await?,
            None => Vec::new(),
        };
        if let Some(text) = &self.text {
            scores.push(text.score(&model, self.window).await?);
        }
        Ok(scores)
    }
}
