//! A recipe's model, wherever it is: a local path (which wins, as in mergekit), else the hub
//! id's snapshot in the local Hugging Face cache, else the hub itself, streamed.

use std::path::{Path, PathBuf};

use super::hub::{cached_snapshot, open_hub_model, HubModel, HubSettings};
use super::input_source::LocalSource;
use super::open::{model_folder, open_checkpoint};
use super::Checkpoint;
use crate::error::{MergeError, Result};

/// An opened model and where its other files are.
pub struct OpenedModel {
    pub checkpoint: Checkpoint<LocalSource>,
    pub files: ModelFiles,
}

/// The folder a model's `config.json` and tokenizer files are read from.
#[derive(Debug)]
pub struct ModelFiles {
    pub folder: PathBuf,
    /// The fetched small files of a streamed model live here until the merge is done.
    _staging: Option<tempfile::TempDir>,
}

/// Opens `path`, or, when nothing is there and the recipe named a hub model, the model from
/// the cache or the hub; every header is checked before this returns.
pub fn open_model(
    path: &Path,
    hub: Option<&HubModel>,
    settings: &HubSettings,
) -> Result<OpenedModel> {
    let local = |path: &Path| -> Result<OpenedModel> {
        Ok(OpenedModel {
            checkpoint: open_checkpoint(path)?,
            files: ModelFiles {
                folder: model_folder(path),
                _staging: None,
            },
        })
    };
    let Some(model) = hub.filter(|_| !path.exists()) else {
        return local(path);
    };
    let looked = match &settings.cache {
        Some(cache) => {
            if let Some(snapshot) = cached_snapshot(cache, model) {
                return local(&snapshot);
            }
            format!("not in the Hugging Face cache at {}", cache.display())
        }
        None => "no Hugging Face cache is set (HF_HUB_CACHE, HF_HOME or HOME)".to_string(),
    };
    if settings.offline {
        return Err(MergeError::HubReference {
            reference: model.label(),
            reason: format!(
                "{looked}, and HF_HUB_OFFLINE forbids streaming it from {}",
                settings.endpoint
            ),
        });
    }
    let staging = tempfile::Builder::new()
        .prefix("mixmerge-hub-")
        .tempdir()
        .map_err(|e| MergeError::io("a temporary folder for hub files", e))?;
    match open_hub_model(model, settings, staging.path()) {
        Ok(streamed) => Ok(OpenedModel {
            checkpoint: streamed.checkpoint,
            files: ModelFiles {
                folder: streamed.folder,
                _staging: Some(staging),
            },
        }),
        Err(MergeError::HubReference { reference, reason }) => Err(MergeError::HubReference {
            reference,
            reason: format!("{looked}, and streaming it failed: {reason}"),
        }),
        Err(other) => Err(other),
    }
}
