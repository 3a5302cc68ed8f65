//! A hub model as the page's [`ModelFolder`]: its listing, its small files fetched whole and
//! checked, its weights streamed by range requests as the merge reads them. Nothing is stored:
//! the token and every byte stay in this worker's memory.

use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::Arc;

use js_sys::Reflect;
use serde::Deserialize;
use wasm_bindgen::JsValue;

use super::fetch_transport::FetchTransport;
use super::model_folder::ModelFolder;
use super::page_file::PageFile;
use crate::error::{MergeError, Result};
use crate::io::hub::{HubClient, HubModel, HubRepo, HubSettings, Weights};
use crate::io::{MemorySource, INDEX_FILE};

/// Where the page streams hub models from: `{endpoint, token}`, both optional.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PageHub {
    /// `https://huggingface.co` unless a mirror is given.
    pub endpoint: Option<String>,
    /// For gated and private models; sent to the endpoint only, never stored.
    pub token: Option<String>,
}

impl PageHub {
    /// The defaults (`HubSettings::from_env` finds no environment in a tab) with the page's
    /// endpoint and token.
    pub fn settings(&self) -> HubSettings {
        let given = |value: &Option<String>| {
            let value = value.as_deref()?.trim();
            (!value.is_empty()).then(|| value.to_string())
        };
        let mut settings = HubSettings::from_env();
        if let Some(endpoint) = given(&self.endpoint) {
            settings.endpoint = endpoint.trim_end_matches('/').to_string();
        }
        settings.token = given(&self.token);
        settings
    }
}

/// A page model, `{name, files}` (picked) or `{name, hub: "owner/name[@revision]"}`.
pub async fn resolve_model(value: &JsValue, hub: &PageHub) -> Result<ModelFolder> {
    let id = Reflect::get(value, &JsValue::from_str("hub"))
        .ok()
        .and_then(|v| v.as_string());
    let Some(id) = id else {
        return ModelFolder::from_js(value);
    };
    let model = HubModel::parse(id.trim()).ok_or_else(|| {
        MergeError::config(
            "models",
            format!("`{id}` is not a hub id (owner/name, optionally @revision)"),
        )
    })?;
    let name = Reflect::get(value, &JsValue::from_str("name"))
        .ok()
        .and_then(|v| v.as_string())
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| id.trim().to_string());
    open_hub_folder(&name, &model, hub).await
}

/// Lists `model` and fetches its small files; its weights' headers are read when the folder
/// is opened, like a picked folder's.
pub async fn open_hub_folder(name: &str, model: &HubModel, hub: &PageHub) -> Result<ModelFolder> {
    let client = Arc::new(HubClient::new(FetchTransport, hub.settings()));
    let repo = HubRepo::list(model, client).await?;
    let mut files = BTreeMap::new();
    let fetched =
        |label: String, bytes: Vec<u8>| PageFile::Fetched(Rc::new(MemorySource::new(label, bytes)));
    for file in repo.small_files() {
        let bytes = repo.fetch_whole(file).await?;
        files.insert(file.name.clone(), fetched(repo.label(&file.name), bytes));
    }
    let streamed = |file| PageFile::Streamed(Rc::new(repo.stream(file)));
    match repo.weights()? {
        Weights::Sharded(index) => {
            let bytes = repo.fetch_whole(index).await?;
            for shard in repo.shards(&bytes)? {
                files.insert(shard.name.clone(), streamed(shard));
            }
            files.insert(
                INDEX_FILE.to_string(),
                fetched(repo.label(INDEX_FILE), bytes),
            );
        }
        Weights::Safetensors(file) => {
            files.insert(file.name.clone(), streamed(file));
        }
        Weights::Gguf(file) => {
            return Err(MergeError::Unsupported(format!(
                "{}: the page merges safetensors models; merge GGUF files with the CLI",
                repo.label(&file.name)
            )))
        }
    }
    Ok(ModelFolder::from_files(name, files))
}
