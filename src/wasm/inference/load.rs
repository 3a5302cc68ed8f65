//! A model for evaluation from the files the user picked (or the merge just wrote): the same
//! folder rules as the merge (`ModelFolder`), plus `config.json` and `tokenizer.json`.

use serde::Serialize;

use crate::wasm::ModelFolder;
use crate::error::{MergeError, Result};
use crate::io::TensorSource;
use crate::model::config::stop_tokens;
use crate::model::{InferenceDevice, LoadedModel, Model, TextTokenizer};

/// What the page shows about a loaded model.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelInfo {
    pub name: String,
    pub architecture: Option<String>,
    pub parameters: u64,
    pub vocab_size: usize,
    pub context: Option<usize>,
}

/// Reads `folder`'s config, weights (tensor by tensor, onto `device`) and tokenizer.
pub async fn load_folder(
    folder: &ModelFolder,
    device: &InferenceDevice,
) -> Result<(LoadedModel, ModelInfo)> {
    let config = folder
        .model_config()
        .await?
        .ok_or_else(|| {
            let missing = "missing; evaluation needs the model's config.json";
            MergeError::io(
                format!("{}/config.json", folder.name),
                std::io::Error::new(std::io::ErrorKind::NotFound, missing),
            )
        })?;
    let checkpoint = folder.open().await?;
    let tokenizer_file = folder
        .file("tokenizer.json")
        .ok_or_else(|| MergeError::Tokenizer {
            file: format!("{}/tokenizer.json", folder.name),
            reason: "missing; generation and perplexity need the model's tokenizer".into(),
        })?;
    let tokenizer =
        TextTokenizer::from_bytes(tokenizer_file.name(), &tokenizer_file.read_all().await?)?;
    let model = Model::load(&config, &checkpoint, &device.device).await?;
    let info = ModelInfo {
        name: folder.name.clone(),
        architecture: config
            .get("architectures")
            .and_then(|a| a.get(0)?.as_str().map(String::from)),
        parameters: checkpoint
            .tensors
            .values()
            .map(|t| t.info.numel() as u64)
            .sum(),
        vocab_size: model.vocab_size(),
        context: model.max_context(),
    };
    let loaded = LoadedModel {
        model,
        tokenizer,
        stop_tokens: stop_tokens(&config),
    };
    Ok((loaded, info))
}
