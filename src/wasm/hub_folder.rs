//! A hub model as the page's [`ModelFolder`]: its listing, its small files fetched whole and
//! checked, its weights streamed by range requests as the merge reads them. Nothing is stored:
//! the token and every byte stay in this worker's memory.

use std::cell::RefCell;
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
use crate::io::hub::{HubClient, HubModel, HubRepo, HubSettings, RepoFile, Weights};
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

/// Whether a hub model may come from the worker's list of models already listed: checks before
/// a merge may (the form is checked on every edit), a merge lists afresh.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listing {
    Remembered,
    Fresh,
}

/// A page model, `{name, files}` (picked) or `{name, hub: "owner/name[@revision]"}`.
pub async fn resolve_model(
    value: &JsValue,
    hub: &PageHub,
    listing: Listing,
) -> Result<ModelFolder> {
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
    let settings = hub.settings();
    let key = format!(
        "{}\n{}\n{}",
        settings.endpoint,
        settings.token.as_deref().unwrap_or(""),
        model.label()
    );
    let remembered = LISTED.with_borrow(|listed| {
        let found = listed.iter().find(|(k, _)| *k == key);
        found.map(|(_, m)| m.clone())
    });
    let listed = match remembered.filter(|_| listing == Listing::Remembered) {
        Some(listed) => listed,
        None => {
            let listed = Rc::new(list_model(&model, settings).await?);
            LISTED.with_borrow_mut(|all| {
                all.retain(|(k, _)| *k != key);
                all.push((key, listed.clone()));
                let excess = all.len().saturating_sub(REMEMBERED_MODELS);
                all.drain(..excess);
            });
            listed
        }
    };
    Ok(listed.folder(&name))
}

/// Models listed recently, with their small files: a few, as a recipe names a few.
const REMEMBERED_MODELS: usize = 16;

thread_local! {
    static LISTED: RefCell<Vec<(String, Rc<ListedModel>)>> = const { RefCell::new(Vec::new()) };
}

/// A hub model's listing at one commit, its small files fetched and its weights' files chosen.
struct ListedModel {
    repo: HubRepo<FetchTransport>,
    small_files: BTreeMap<String, PageFile>,
    weights: Vec<RepoFile>,
}

impl ListedModel {
    /// A folder whose weights stream afresh: each merge hashes what it reads.
    fn folder(&self, name: &str) -> ModelFolder {
        let mut files = self.small_files.clone();
        for file in &self.weights {
            let source = PageFile::Streamed(Rc::new(self.repo.stream(file)));
            files.insert(file.name.clone(), source);
        }
        ModelFolder::from_files(name, files)
    }
}

/// Lists `model` and fetches its small files; its weights' headers are read when the folder
/// is opened, like a picked folder's.
async fn list_model(model: &HubModel, settings: HubSettings) -> Result<ListedModel> {
    let client = Arc::new(HubClient::new(FetchTransport, settings));
    let repo = HubRepo::list(model, client).await?;
    let mut small_files = BTreeMap::new();
    let fetched =
        |label: String, bytes: Vec<u8>| PageFile::Fetched(Rc::new(MemorySource::new(label, bytes)));
    for file in repo.small_files() {
        let bytes = repo.fetch_whole(file).await?;
        small_files.insert(file.name.clone(), fetched(repo.label(&file.name), bytes));
    }
    let weights = match repo.weights()? {
        Weights::Sharded(index) => {
            let bytes = repo.fetch_whole(index).await?;
            let shards = repo.shards(&bytes)?.into_iter().cloned().collect();
            small_files.insert(
                INDEX_FILE.to_string(),
                fetched(repo.label(INDEX_FILE), bytes),
            );
            shards
        }
        Weights::Safetensors(file) => vec![file.clone()],
        Weights::Gguf(file) => {
            return Err(MergeError::Unsupported(format!(
                "{}: the page merges safetensors models; merge GGUF files with the CLI",
                repo.label(&file.name)
            )))
        }
    };
    Ok(ListedModel {
        repo,
        small_files,
        weights,
    })
}
