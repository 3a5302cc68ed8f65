//! Model references: resolved against the config's folder, de-duplicated, checked for existence.

use std::path::{Component, Path, PathBuf};

use super::spec::{ModelId, ModelRef};
use crate::error::{MergeError, Result};
use crate::io::HubModel;

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
        // A hub id names a hub model unless a local path of that name exists (mergekit's rule).
        let hub = HubModel::parse(reference).filter(|_| !(self.check_paths && path.exists()));
        if let Some(id) = self
            .models
            .iter()
            .position(|m| m.path == path && m.hub == hub)
        {
            return Ok(id);
        }
        if self.check_paths && hub.is_none() && !path.exists() {
            return Err(MergeError::ModelNotFound {
                path: path.display().to_string(),
            });
        }
        self.models.push(ModelRef {
            reference: reference.to_string(),
            path,
            hub,
        });
        Ok(self.models.len() - 1)
    }
}
