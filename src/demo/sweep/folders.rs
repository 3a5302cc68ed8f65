//! The models of a sweep from a demo folder on disk (`train-demo`'s layout: `base/`, one folder
//! per expert, `tasks/*.jsonl`, `scores.json`). Native only; the page fetches the same files.

use std::path::{Path, PathBuf};

use super::{SweepModels, TensorSet};
use crate::demo::files::load_task_sets;
use crate::error::{MergeError, Result};
use crate::io::{open_checkpoint, read_model_config};
use crate::model::TextTokenizer;

/// Where the models and tasks of a sweep are.
#[derive(Debug, Clone)]
pub struct DemoFolder {
    pub dir: PathBuf,
    /// The base model's folder name inside `dir`.
    pub base: String,
    /// `*.jsonl` task sets (default `dir/tasks`).
    pub tasks: Option<PathBuf>,
}

impl DemoFolder {
    /// `scores.json` of the demo, parsed.
    pub fn scores(&self) -> Result<serde_json::Value> {
        let file = self.dir.join("scores.json");
        let text = std::fs::read_to_string(&file).map_err(|e| MergeError::io(file.display(), e))?;
        serde_json::from_str(&text)
            .map_err(|e| MergeError::config(file.display().to_string(), e.to_string()))
    }

    /// Loads the base and `experts` (folder names) once, and the task sets.
    pub fn load(&self, experts: &[&str], examples_per_task: Option<usize>) -> Result<SweepModels> {
        let base_dir = self.dir.join(&self.base);
        let config = read_model_config(&base_dir)?.ok_or_else(|| MergeError::ModelNotFound {
            path: format!("{} (no config.json; scoring needs it)", base_dir.display()),
        })?;
        let tokenizer = TextTokenizer::from_file(&base_dir.join("tokenizer.json"))?;
        let base = read_named(&base_dir, &self.base)?;
        let experts = experts
            .iter()
            .map(|name| read_named(&self.dir.join(name), name))
            .collect::<Result<Vec<_>>>()?;
        let tasks = load_task_sets(&self.tasks.clone().unwrap_or_else(|| self.dir.join("tasks")))?;
        SweepModels::new(config, tokenizer, base, experts, tasks, examples_per_task)
    }
}

/// A model folder's tensors, named `name` (as the sweep refers to it).
fn read_named(dir: &Path, name: &str) -> Result<TensorSet> {
    let checkpoint = open_checkpoint(dir)?;
    let mut set = pollster::block_on(TensorSet::read(&checkpoint))?;
    set.name = name.to_string();
    Ok(set)
}
