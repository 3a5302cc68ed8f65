//! A model for evaluation from the files the user picked (or the merge just wrote): one `.gguf`
//! file (config, weights and tokenizer inside), or a folder by the merge's rules
//! (`ModelFolder`) with `config.json` and `tokenizer.json`.

use serde::Serialize;
use serde_json::Value;

use crate::error::{MergeError, Result};
use crate::io::gguf::GgufFile;
use crate::io::TensorSource;
use crate::model::config::stop_tokens;
use crate::model::{
    load_gguf, InferenceDevice, LoadedModel, Model, TextTokenizer, TokenizerConfig,
};
use crate::wasm::{ModelFolder, PageFile};

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

impl ModelInfo {
    fn new(name: &str, config: &Value, parameters: u64, model: &Model) -> Self {
        ModelInfo {
            name: name.to_string(),
            architecture: config
                .get("architectures")
                .and_then(|a| a.get(0)?.as_str().map(String::from)),
            parameters,
            vocab_size: model.vocab_size(),
            context: model.max_context(),
        }
    }
}

/// Loads the picked model onto `device`, tensor by tensor.
pub async fn load(
    folder: &ModelFolder,
    device: &InferenceDevice,
) -> Result<(LoadedModel, ModelInfo)> {
    match folder.files_with_extension("gguf").as_slice() {
        [] => load_folder(folder, device).await,
        [gguf] => load_gguf_file(folder, gguf, device).await,
        several => Err(MergeError::config(
            "model",
            format!(
                "{} holds {} .gguf files; pick one",
                folder.name,
                several.len()
            ),
        )),
    }
}

async fn load_gguf_file(
    folder: &ModelFolder,
    source: &PageFile,
    device: &InferenceDevice,
) -> Result<(LoadedModel, ModelInfo)> {
    let file = GgufFile::open(source.clone()).await?;
    let config = file.hf_config()?.to_config_json()?;
    let parameters = file.tensors().iter().map(|t| t.numel() as u64).sum();
    let loaded = load_gguf(&file, &device.device).await?;
    let info = ModelInfo::new(&folder.name, &config, parameters, &loaded.model);
    Ok((loaded, info))
}

async fn load_folder(
    folder: &ModelFolder,
    device: &InferenceDevice,
) -> Result<(LoadedModel, ModelInfo)> {
    let config = folder.model_config().await?.ok_or_else(|| {
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
    let parameters = checkpoint
        .tensors
        .values()
        .map(|t| t.info.numel() as u64)
        .sum();
    let info = ModelInfo::new(&folder.name, &config, parameters, &model);
    let tokenizer_config = read_tokenizer_config(folder).await?;
    let mut stop_tokens = stop_tokens(&config);
    tokenizer_config.add_stop_token(&mut stop_tokens, &tokenizer);
    let loaded = LoadedModel {
        model,
        tokenizer,
        stop_tokens,
        chat_template: tokenizer_config.chat_template,
    };
    Ok((loaded, info))
}

/// `tokenizer_config.json` and `chat_template.jinja` among the picked files; either may be missing.
async fn read_tokenizer_config(folder: &ModelFolder) -> Result<TokenizerConfig> {
    let (file, bytes) = match folder.file("tokenizer_config.json") {
        Some(source) => (source.name().to_string(), source.read_all().await?),
        None => (
            format!("{}/tokenizer_config.json", folder.name),
            b"{}".to_vec(),
        ),
    };
    let jinja = match folder.file("chat_template.jinja") {
        Some(source) => Some((source.name().to_string(), source.read_all().await?)),
        None => None,
    };
    let jinja = jinja
        .as_ref()
        .map(|(name, bytes)| (name.as_str(), String::from_utf8_lossy(bytes)));
    TokenizerConfig::parse(
        &file,
        &bytes,
        jinja.as_ref().map(|(name, text)| (*name, &**text)),
    )
}
