//! Model references: resolved against the config's folder, de-duplicated, checked for existence.

use std::path::{Component, Path, PathBuf};

use super::spec::{ModelId, ModelRef};
use crate::error::{MergeError, Result};

/// Every distinct model the config names, in order of first appearance.
pub(super) struct ModelTable<'a> {
    base_dir: &'a Path,
    check_paths: bool,
    pub(super) models: Vec<ModelRef>,
}

impl<'a> ModelTable<'a> {
    pub(super) fn new(base_dir: &'a Path, check_paths: bool) -> Self {
        ModelTable {
            base_dir,
            check_paths,
            models: Vec::new(),
        }
    }

    /// The id of `reference` (written at config key `key`), adding it on first sight.
    pub(super) fn intern(&mut self, reference: &str, key: &str) -> Result<ModelId> {
        if reference.trim().is_empty() {
            return Err(MergeError::config(key, "model reference is empty"));
        }
        if reference.contains('+') {
            return Err(MergeError::Unsupported(format!(
                "config: {key}: `{reference}` applies a LoRA (`model+lora`), which mixmerge does not \
                 support; merge the adapter into the model first"
            )));
        }
        // `./a` and `a` name the same folder; drop `.` so messages show the plain path.
        let written: PathBuf = Path::new(reference)
            .components()
            .filter(|c| *c != Component::CurDir)
            .collect();
        let path = if written.is_absolute() {
            written
        } else {
            self.base_dir.join(written)
        };
        if let Some(id) = self.models.iter().position(|m| m.path == path) {
            return Ok(id);
        }
        if self.check_paths && !path.exists() {
            return Err(if looks_like_hub_id(reference) {
                MergeError::HubReference {
                    reference: reference.to_string(),
                }
            } else {
                MergeError::ModelNotFound {
                    path: path.display().to_string(),
                }
            });
        }
        self.models.push(ModelRef {
            reference: reference.to_string(),
            path,
        });
        Ok(self.models.len() - 1)
    }
}

/// `owner/name` with hub-legal characters: what a mergekit recipe uses to name a hub model.
pub(super) fn looks_like_hub_id(reference: &str) -> bool {
    let legal = |part: &str| {
        !part.is_empty()
            && part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    };
    match reference.split_once('/') {
        Some((owner, name)) => !owner.starts_with('.') && legal(owner) && legal(name),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::looks_like_hub_id;

    #[test]
    fn hub_ids() {
        assert!(looks_like_hub_id("mistralai/Mistral-7B-v0.1"));
        assert!(looks_like_hub_id("Qwen/Qwen2.5-0.5B"));
        assert!(!looks_like_hub_id("./models/a"));
        assert!(!looks_like_hub_id("../a"));
        assert!(!looks_like_hub_id("/abs/path"));
        assert!(!looks_like_hub_id("a/b/c"));
        assert!(!looks_like_hub_id("model"));
        assert!(!looks_like_hub_id("owner/na me"));
    }
}
