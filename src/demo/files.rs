//! Demo models and task sets on disk (native only; the page fetches the same files).

use std::fs;
use std::path::{Path, PathBuf};

pub use super::score::TaskSet;
use super::tasks::{parse_jsonl, to_jsonl, DemoTask, TaskExample};
use crate::error::{MergeError, Result};

/// Every `*.jsonl` in `path` (sorted by name), or the one file `path` names.
pub fn load_task_sets(path: &Path) -> Result<Vec<TaskSet>> {
    let files = match path.is_dir() {
        true => {
            let mut files: Vec<PathBuf> = fs::read_dir(path)
                .map_err(|e| MergeError::io(path.display(), e))?
                .filter_map(|entry| entry.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
                .collect();
            files.sort();
            if files.is_empty() {
                return Err(MergeError::config(
                    path.display().to_string(),
                    "no *.jsonl task files in this folder",
                ));
            }
            files
        }
        false => vec![path.to_path_buf()],
    };
    files
        .iter()
        .map(|file| {
            let text = fs::read_to_string(file).map_err(|e| MergeError::io(file.display(), e))?;
            Ok(TaskSet {
                name: file
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                examples: parse_jsonl(&file.display().to_string(), &text)?,
            })
        })
        .collect()
}

/// Writes `{task}.jsonl` per held-out set into `dir`.
pub fn write_task_sets(dir: &Path, sets: &[(DemoTask, Vec<TaskExample>)]) -> Result<()> {
    fs::create_dir_all(dir).map_err(|e| MergeError::io(dir.display(), e))?;
    for (task, examples) in sets {
        let file = dir.join(format!("{}.jsonl", task.name()));
        fs::write(&file, to_jsonl(examples)).map_err(|e| MergeError::io(file.display(), e))?;
    }
    Ok(())
}

/// Writes `files` (name, bytes) into `dir`, creating it.
pub fn write_files(dir: &Path, files: &[(&str, Vec<u8>)]) -> Result<()> {
    fs::create_dir_all(dir).map_err(|e| MergeError::io(dir.display(), e))?;
    for (name, bytes) in files {
        let file = dir.join(name);
        fs::write(&file, bytes).map_err(|e| MergeError::io(file.display(), e))?;
    }
    Ok(())
}

/// Scores the model folder at `model` (config.json, safetensors, tokenizer.json) on every set.
pub fn score_model_folder(
    model: &Path,
    sets: &[TaskSet],
    device: &burn::prelude::Device,
) -> Result<Vec<super::TaskScore>> {
    let loaded = crate::model::folder::load_model_folder(model, device)?;
    let end = *loaded.stop_tokens.first().ok_or_else(|| {
        MergeError::config(
            format!("{}: config.json: eos_token_id", model.display()),
            "missing; scoring needs the token that ends an answer",
        )
    })?;
    sets.iter()
        .map(|set| {
            super::score_task(
                &loaded.model,
                &loaded.tokenizer,
                end,
                &set.name,
                &set.examples,
            )
        })
        .collect()
}
