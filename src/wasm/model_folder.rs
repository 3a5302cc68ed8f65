//! A model the page works on: a folder the user picked, or a hub model streamed into the tab.
//! The same rules as the native `io::open_checkpoint` (index, then `model.safetensors`, then a
//! lone `*.safetensors`; pickles refused), over [`PageFile`]s instead of paths.

use std::collections::BTreeMap;

use js_sys::{Array, Reflect};
use serde::Serialize;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::File;

use super::blob_source::BlobSource;
use super::page_file::PageFile;
use crate::error::{MergeError, Result};
use crate::io::{
    index_shard_files, Checkpoint, TensorSource, INDEX_FILE, PICKLE_EXTENSIONS, TOKENIZER_FILES,
};

/// One model: its name (the folder name the config refers to) and its top-level files.
#[derive(Debug, Clone)]
pub struct ModelFolder {
    pub name: String,
    files: BTreeMap<String, PageFile>,
}

/// What `inspect` shows about a picked model.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelSummary {
    pub name: String,
    pub files: Vec<String>,
    pub shards: usize,
    pub tensors: usize,
    pub parameters: u64,
    pub bytes: u64,
    pub dtypes: BTreeMap<String, usize>,
    pub has_config: bool,
    pub architecture: Option<String>,
    pub tokenizer_files: Vec<String>,
}

impl ModelFolder {
    /// `files` from `<input type=file webkitdirectory>` or a multi-file pick. Files in
    /// subfolders of the picked folder are ignored, as the native reader ignores them.
    pub fn new(name: &str, files: &[File]) -> Result<Self> {
        let name = name.trim();
        if name.is_empty() {
            return Err(MergeError::config("models", "a model has no name"));
        }
        let mut by_name = BTreeMap::new();
        for file in files {
            let relative = Reflect::get(file, &JsValue::from_str("webkitRelativePath"))
                .ok()
                .and_then(|v| v.as_string())
                .unwrap_or_default();
            if relative.matches('/').count() > 1 {
                continue;
            }
            let file_name = file.name();
            let source = BlobSource::new(format!("{name}/{file_name}"), file.clone().into());
            by_name.insert(file_name, PageFile::Picked(source));
        }
        Ok(ModelFolder {
            name: name.to_string(),
            files: by_name,
        })
    }

    /// A model of already-opened files, by file name.
    pub fn from_files(name: &str, files: BTreeMap<String, PageFile>) -> Self {
        ModelFolder {
            name: name.to_string(),
            files,
        }
    }

    /// `value` is `{name: string, files: File[] | FileList}`.
    pub fn from_js(value: &JsValue) -> Result<Self> {
        let bad = |reason: &str| MergeError::config("models", reason);
        let name = Reflect::get(value, &JsValue::from_str("name"))
            .ok()
            .and_then(|v| v.as_string())
            .ok_or_else(|| bad("each model needs a `name` string"))?;
        let files = Reflect::get(value, &JsValue::from_str("files"))
            .map_err(|_| bad("each model needs `files`"))?;
        let files: Vec<File> = Array::from(&files)
            .iter()
            .map(|f| f.dyn_into::<File>())
            .collect::<std::result::Result<_, _>>()
            .map_err(|_| bad("`files` must hold File objects"))?;
        ModelFolder::new(&name, &files)
    }

    pub fn file(&self, name: &str) -> Option<&PageFile> {
        self.files.get(name)
    }

    /// The picked files whose name ends in `.{ext}` (any case), by name.
    pub fn files_with_extension(&self, ext: &str) -> Vec<&PageFile> {
        self.files
            .iter()
            .filter(|(name, _)| has_extension(name, ext))
            .map(|(_, source)| source)
            .collect()
    }

    /// Reads every shard header (and the index when sharded); no tensor bytes are read.
    pub async fn open(&self) -> Result<Checkpoint<PageFile>> {
        if let Some(index) = self.files.get(INDEX_FILE) {
            return self.open_indexed(index).await;
        }
        if let Some(single) = self.files.get("model.safetensors") {
            return self.open_single(single).await;
        }
        let with_extension = |exts: &[&str]| -> Vec<&PageFile> {
            self.files
                .iter()
                .filter(|(n, _)| exts.iter().any(|e| has_extension(n, e)))
                .map(|(_, s)| s)
                .collect()
        };
        match with_extension(&["safetensors"]).as_slice() {
            [only] => self.open_single(only).await,
            [] => match with_extension(&PICKLE_EXTENSIONS).first() {
                Some(pickle) => Err(MergeError::PickleRefused {
                    file: pickle.name().to_string(),
                }),
                None => Err(MergeError::ModelNotFound {
                    path: self.name.clone(),
                }),
            },
            several => {
                let names: Vec<&str> = several.iter().map(|s| s.name()).collect();
                Err(MergeError::BadIndex {
                    file: format!("{}/{INDEX_FILE}", self.name),
                    reason: format!(
                        "missing, and the folder holds several .safetensors files ({}); add the index or pick one file",
                        names.join(", ")
                    ),
                })
            }
        }
    }

    async fn open_single(&self, source: &PageFile) -> Result<Checkpoint<PageFile>> {
        Checkpoint::from_sources(self.name.clone(), vec![source.clone()], None).await
    }

    async fn open_indexed(&self, index: &PageFile) -> Result<Checkpoint<PageFile>> {
        let bytes = index.read_all().await?;
        let mut shards = Vec::new();
        for file in index_shard_files(index.name(), &bytes)? {
            let bad = |reason: String| MergeError::BadIndex {
                file: index.name().to_string(),
                reason,
            };
            if file.contains(['/', '\\']) {
                return Err(bad(format!("shard name `{file}` is not a plain file name")));
            }
            let shard = self.files.get(&file).ok_or_else(|| {
                bad(format!(
                    "names shard {file}, which was not picked with {}",
                    self.name
                ))
            })?;
            shards.push(shard.clone());
        }
        let index = Some((index.name(), bytes.as_slice()));
        Checkpoint::from_sources(self.name.clone(), shards, index).await
    }

    /// `config.json` parsed, if the folder has one.
    pub async fn model_config(&self) -> Result<Option<serde_json::Value>> {
        let Some(source) = self.files.get("config.json") else {
            return Ok(None);
        };
        let bytes = source.read_all().await?;
        serde_json::from_slice(&bytes).map(Some).map_err(|e| {
            MergeError::io(
                source.name(),
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("not valid JSON ({e})"),
                ),
            )
        })
    }

    /// The tokenizer and generation files present, in the native copy order.
    pub fn tokenizer_files(&self) -> Vec<&PageFile> {
        TOKENIZER_FILES
            .iter()
            .filter_map(|name| self.files.get(*name))
            .collect()
    }

    pub async fn summary(&self) -> Result<ModelSummary> {
        let checkpoint = self.open().await?;
        let config = self.model_config().await?;
        let mut dtypes = BTreeMap::new();
        let (mut parameters, mut bytes) = (0u64, 0u64);
        for location in checkpoint.tensors.values() {
            *dtypes
                .entry(location.info.dtype.safetensors_name().to_string())
                .or_insert(0) += 1;
            parameters += location.info.numel() as u64;
            bytes += location.info.len;
        }
        Ok(ModelSummary {
            name: self.name.clone(),
            files: self.files.keys().cloned().collect(),
            shards: checkpoint.shards.len(),
            tensors: checkpoint.tensors.len(),
            parameters,
            bytes,
            dtypes,
            has_config: config.is_some(),
            architecture: config
                .as_ref()
                .and_then(|c| c.get("architectures")?.get(0)?.as_str().map(String::from)),
            tokenizer_files: self
                .tokenizer_files()
                .iter()
                .map(|s| file_name(s.name()).to_string())
                .collect(),
        })
    }
}

/// The part after the model folder: `expert-a/config.json` → `config.json`.
pub fn file_name(name: &str) -> &str {
    name.rsplit('/').next().unwrap_or(name)
}

fn has_extension(name: &str, ext: &str) -> bool {
    name.rsplit_once('.')
        .is_some_and(|(_, e)| e.eq_ignore_ascii_case(ext))
}
