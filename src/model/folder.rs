//! A model folder as the CLI takes it: `config.json`, safetensors weights and `tokenizer.json`
//! side by side (read from disk here; the browser reads the same files from `File`s).

#[cfg(not(target_arch = "wasm32"))]
use std::path::Path;

#[cfg(not(target_arch = "wasm32"))]
use burn::prelude::Device;
use serde_json::Value;

use super::{Model, TextTokenizer};
#[cfg(not(target_arch = "wasm32"))]
use crate::error::{MergeError, Result};
#[cfg(not(target_arch = "wasm32"))]
use crate::io::{model_folder, open_checkpoint, read_model_config};

pub struct LoadedModel {
    pub model: Model,
    pub tokenizer: TextTokenizer,
    /// Ids that end a generation (`eos_token_id`, a number or a list).
    pub stop_tokens: Vec<u32>,
}

/// Loads the model at `path` (a folder, or a `.safetensors` file beside its `config.json`).
#[cfg(not(target_arch = "wasm32"))]
pub fn load_model_folder(path: &Path, device: &Device) -> Result<LoadedModel> {
    let folder = model_folder(path);
    let config = read_model_config(&folder)?.ok_or_else(|| MergeError::ModelNotFound {
        path: format!("{} (no config.json; inference needs it)", folder.display()),
    })?;
    let checkpoint = open_checkpoint(path)?;
    let model = pollster::block_on(Model::load(&config, &checkpoint, device))?;
    let tokenizer = TextTokenizer::from_file(&folder.join("tokenizer.json"))?;
    Ok(LoadedModel {
        model,
        tokenizer,
        stop_tokens: stop_tokens(&config),
    })
}

pub fn stop_tokens(config: &Value) -> Vec<u32> {
    match config.get("eos_token_id") {
        Some(Value::Number(n)) => n.as_u64().map(|n| vec![n as u32]).unwrap_or_default(),
        Some(Value::Array(ids)) => ids
            .iter()
            .filter_map(|v| v.as_u64())
            .map(|n| n as u32)
            .collect(),
        _ => Vec::new(),
    }
}
