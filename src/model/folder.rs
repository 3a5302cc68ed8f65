//! A model on disk as the CLI takes it: a folder with `config.json`, safetensors weights and
//! `tokenizer.json` side by side, or one `.gguf` file.

use std::path::Path;

use burn::prelude::Device;

use super::config::stop_tokens;
pub use super::LoadedModel;
use super::{load_gguf, Model, TextTokenizer, TokenizerConfig};
use crate::error::{MergeError, Result};
use crate::io::{model_folder, open_checkpoint, open_gguf_file, read_model_config};

/// Loads `path`: a `.gguf` file (config, weights and tokenizer inside), else a model folder.
pub fn load_model(path: &Path, device: &Device) -> Result<LoadedModel> {
    let is_gguf = path
        .extension()
        .is_some_and(|ext| ext.eq_ignore_ascii_case("gguf"));
    match is_gguf {
        true => pollster::block_on(load_gguf(&open_gguf_file(path)?, device)),
        false => load_model_folder(path, device),
    }
}

/// Loads the model at `path` (a folder, or a `.safetensors` file beside its `config.json`).
pub fn load_model_folder(path: &Path, device: &Device) -> Result<LoadedModel> {
    let folder = model_folder(path);
    let config = read_model_config(&folder)?.ok_or_else(|| MergeError::ModelNotFound {
        path: format!("{} (no config.json; inference needs it)", folder.display()),
    })?;
    let checkpoint = open_checkpoint(path)?;
    let model = pollster::block_on(Model::load(&config, &checkpoint, device))?;
    let tokenizer = TextTokenizer::from_file(&folder.join("tokenizer.json"))?;
    let tokenizer_config = read_tokenizer_config(&folder)?;
    let mut stop_tokens = stop_tokens(&config);
    tokenizer_config.add_stop_token(&mut stop_tokens, &tokenizer);
    Ok(LoadedModel {
        model,
        tokenizer,
        stop_tokens,
        chat_template: tokenizer_config.chat_template,
    })
}

/// `tokenizer_config.json` and `chat_template.jinja` in `folder`; either may be missing.
fn read_tokenizer_config(folder: &Path) -> Result<TokenizerConfig> {
    let read = |name: &str| -> Result<Option<(String, Vec<u8>)>> {
        let path = folder.join(name);
        match path.is_file() {
            true => std::fs::read(&path)
                .map(|bytes| Some((path.display().to_string(), bytes)))
                .map_err(|e| MergeError::io(path.display(), e)),
            false => Ok(None),
        }
    };
    let (file, bytes) = read("tokenizer_config.json")?.unwrap_or_else(|| {
        (
            folder.join("tokenizer_config.json").display().to_string(),
            b"{}".to_vec(),
        )
    });
    let jinja = read("chat_template.jinja")?
        .map(|(file, bytes)| (file, String::from_utf8_lossy(&bytes).into_owned()));
    let jinja = jinja
        .as_ref()
        .map(|(file, text)| (file.as_str(), text.as_str()));
    TokenizerConfig::parse(&file, &bytes, jinja)
}
