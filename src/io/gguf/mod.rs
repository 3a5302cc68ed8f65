//! GGUF (llama.cpp's format) as a merge input and a model source: header and metadata
//! parsing, dequantisation to f32, tensors renamed and reordered to the Hugging Face layout,
//! the model's config and tokenizer, and a safetensors view for the merge pipeline.

mod cursor;
mod dequant;
mod header;
mod hf_config;
mod metadata;
mod names;
mod tensors;
mod tokenizer;
mod tokenizer_json;
mod types;
mod view;

use std::collections::{BTreeMap, HashMap};

use serde_json::{json, Map};

pub use dequant::dequantize;
pub use header::{read_gguf_header, GgufHeader, GgufTensorInfo, MAX_GGUF_HEADER_LEN};
pub use hf_config::HfConfig;
pub use metadata::MetadataValue;
pub use names::{hf_name, RowPermutation};
pub use tensors::GgufTensor;
pub use tokenizer::GgufTokenizer;
pub use tokenizer_json::{
    generation_config_json, pre_tokenizer_splits, tokenizer_config_json, tokenizer_json,
};
pub use types::GgmlType;
use view::SafetensorsView;

use crate::error::{MergeError, Result};
use crate::io::source::TensorSource;

/// An opened GGUF file: validated header, tensors under HF names. As a `TensorSource` it reads
/// as a safetensors file of those tensors (quantised ones as F32).
#[derive(Debug)]
pub struct GgufFile<S> {
    source: S,
    version: u32,
    metadata: BTreeMap<String, MetadataValue>,
    /// In file order.
    tensors: Vec<GgufTensor>,
    by_name: HashMap<String, usize>,
    view: SafetensorsView,
}

impl<S: TensorSource> GgufFile<S> {
    /// Reads and checks the header; no tensor bytes are read.
    pub async fn open(source: S) -> Result<Self> {
        let header = read_gguf_header(&source).await?;
        let file = source.name().to_string();
        let architecture = header
            .metadata
            .get("general.architecture")
            .and_then(MetadataValue::as_str)
            .unwrap_or_default()
            .to_string();
        let head_count = |key: &str| {
            header
                .metadata
                .get(&format!("{architecture}.attention.{key}"))
                .and_then(MetadataValue::as_u64)
                .map(|v| v as usize)
        };
        let heads = head_count("head_count");
        let kv_heads = head_count("head_count_kv").or(heads);
        let mut tensors = Vec::with_capacity(header.tensors.len());
        let mut by_name = HashMap::with_capacity(header.tensors.len());
        for info in &header.tensors {
            let name = hf_name(&info.name).unwrap_or_else(|| info.name.clone());
            let permuted = names::permuted_heads(
                &architecture,
                &info.name,
                heads.unwrap_or(0),
                kv_heads.unwrap_or(0),
            );
            if permuted == Some(0) {
                return Err(MergeError::MalformedGguf {
                    file,
                    reason: format!(
                        "`{architecture}.attention.head_count` is missing or 0, and undoing the Q/K row permutation of `{}` needs it",
                        info.name
                    ),
                });
            }
            let tensor = GgufTensor::from_info(&file, info, name, permuted)?;
            if let Some(&other) = by_name.get(&tensor.name) {
                let other: &GgufTensor = &tensors[other];
                return Err(MergeError::BadTensor {
                    file,
                    tensor: info.name.clone(),
                    reason: format!("maps to `{}`, as `{}` does", tensor.name, other.gguf_name),
                });
            }
            by_name.insert(tensor.name.clone(), tensors.len());
            tensors.push(tensor);
        }
        let mut view_metadata = Map::new();
        view_metadata.insert("format".into(), json!("gguf"));
        if !architecture.is_empty() {
            view_metadata.insert("gguf.architecture".into(), json!(architecture));
        }
        let view = SafetensorsView::new(&tensors, view_metadata);
        Ok(GgufFile {
            source,
            version: header.version,
            metadata: header.metadata,
            tensors,
            by_name,
            view,
        })
    }

    pub fn source(&self) -> &S {
        &self.source
    }

    /// GGUF format version (2 or 3).
    pub fn version(&self) -> u32 {
        self.version
    }

    pub fn metadata(&self) -> &BTreeMap<String, MetadataValue> {
        &self.metadata
    }

    pub fn architecture(&self) -> Option<&str> {
        self.metadata
            .get("general.architecture")
            .and_then(MetadataValue::as_str)
    }

    /// Tensors in file order, under HF names and shapes.
    pub fn tensors(&self) -> &[GgufTensor] {
        &self.tensors
    }

    /// A tensor by its HF name.
    pub fn tensor(&self, name: &str) -> Option<&GgufTensor> {
        self.by_name.get(name).map(|&i| &self.tensors[i])
    }

    /// HF elements `first..first + out.len()` of tensor `name`, as f32.
    pub async fn read_f32(&self, name: &str, first: usize, out: &mut [f32]) -> Result<()> {
        let tensor = self.tensor(name).ok_or_else(|| MergeError::MissingTensor {
            tensor: name.to_string(),
            model: self.source.name().to_string(),
        })?;
        let dtype = tensor.dtype();
        let mut raw = vec![0u8; out.len() * dtype.size()];
        tensor
            .read(&self.source, first, out.len(), &mut raw)
            .await?;
        dtype.decode(&raw, out);
        Ok(())
    }

    /// The hyper-parameters for a HF `config.json` (`HfConfig::to_config_json`).
    pub fn hf_config(&self) -> Result<HfConfig> {
        let vocab_rows = self
            .tensor("model.embed_tokens.weight")
            .and_then(|t| t.shape.first().copied());
        let has_output = self.tensor("lm_head.weight").is_some();
        HfConfig::from_metadata(self.source.name(), &self.metadata, vocab_rows, has_output)
    }

    /// The vocabulary and special tokens from `tokenizer.ggml.*`.
    pub fn tokenizer(&self) -> Result<GgufTokenizer> {
        GgufTokenizer::from_metadata(self.source.name(), &self.metadata)
    }
}
