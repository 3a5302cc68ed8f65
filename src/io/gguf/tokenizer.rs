//! The tokenizer a GGUF carries in its `tokenizer.ggml.*` metadata, typed.

use std::collections::BTreeMap;

use serde::Serialize;

use super::metadata::MetadataValue;
use crate::error::{MergeError, Result};

/// The vocabulary and special tokens; `model` is `gpt2` (byte-level BPE) or `llama`
/// (SentencePiece), as llama.cpp names them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GgufTokenizer {
    pub model: String,
    /// llama.cpp's pre-tokenizer name (`smollm`, `llama-bpe`, …), when given.
    pub pre: Option<String>,
    pub tokens: Vec<String>,
    /// One per token when present (SentencePiece models).
    pub scores: Option<Vec<f32>>,
    /// llama.cpp token types (1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte).
    pub token_types: Option<Vec<i32>>,
    /// BPE merges as "left right".
    pub merges: Vec<String>,
    pub bos_token_id: Option<u32>,
    pub eos_token_id: Option<u32>,
    pub unknown_token_id: Option<u32>,
    pub padding_token_id: Option<u32>,
    pub add_bos_token: Option<bool>,
    pub add_eos_token: Option<bool>,
    /// SentencePiece models: whether text gets a leading space (llama.cpp's default: yes).
    pub add_space_prefix: Option<bool>,
    pub chat_template: Option<String>,
}

impl GgufTokenizer {
    pub fn from_metadata(file: &str, metadata: &BTreeMap<String, MetadataValue>) -> Result<Self> {
        let bad = |key: &str, reason: String| MergeError::MalformedGguf {
            file: file.to_string(),
            reason: format!("metadata `{key}` {reason}"),
        };
        let string = |key: &str| -> Result<Option<String>> {
            match metadata.get(key) {
                None => Ok(None),
                Some(v) => v
                    .as_str()
                    .map(|s| Some(s.to_string()))
                    .ok_or_else(|| bad(key, "must be a string".into())),
            }
        };
        let array = |key: &str| -> Result<Option<&[MetadataValue]>> {
            match metadata.get(key) {
                None => Ok(None),
                Some(v) => v
                    .as_array()
                    .map(Some)
                    .ok_or_else(|| bad(key, "must be an array".into())),
            }
        };
        let strings = |key: &str| -> Result<Option<Vec<String>>> {
            let Some(items) = array(key)? else {
                return Ok(None);
            };
            items
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    v.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| bad(key, format!("item {i} is not a string")))
                })
                .collect::<Result<Vec<_>>>()
                .map(Some)
        };
        let model = string("tokenizer.ggml.model")?.ok_or_else(|| {
            bad(
                "tokenizer.ggml.model",
                "is missing: this GGUF has no tokenizer".into(),
            )
        })?;
        let tokens = strings("tokenizer.ggml.tokens")?
            .ok_or_else(|| bad("tokenizer.ggml.tokens", "is missing".into()))?;
        let per_token = |key: &str| -> Result<Option<&[MetadataValue]>> {
            match array(key)? {
                Some(items) if items.len() != tokens.len() => Err(bad(
                    key,
                    format!("has {} items for {} tokens", items.len(), tokens.len()),
                )),
                other => Ok(other),
            }
        };
        let scores = per_token("tokenizer.ggml.scores")?
            .map(|items| {
                items
                    .iter()
                    .map(|v| v.as_f64().map(|f| f as f32))
                    .collect::<Option<Vec<f32>>>()
                    .ok_or_else(|| bad("tokenizer.ggml.scores", "must hold numbers".into()))
            })
            .transpose()?;
        let token_types = per_token("tokenizer.ggml.token_type")?
            .map(|items| {
                items
                    .iter()
                    .map(|v| v.as_i64().and_then(|t| i32::try_from(t).ok()))
                    .collect::<Option<Vec<i32>>>()
                    .ok_or_else(|| bad("tokenizer.ggml.token_type", "must hold integers".into()))
            })
            .transpose()?;
        let token_id = |key: &str| -> Result<Option<u32>> {
            match metadata.get(key) {
                None => Ok(None),
                Some(v) => match v.as_u64().and_then(|id| u32::try_from(id).ok()) {
                    Some(id) if (id as usize) < tokens.len() => Ok(Some(id)),
                    _ => Err(bad(
                        key,
                        format!("is {}, not a token id below {}", v.summary(), tokens.len()),
                    )),
                },
            }
        };
        let flag = |key: &str| metadata.get(key).and_then(MetadataValue::as_bool);
        Ok(GgufTokenizer {
            pre: string("tokenizer.ggml.pre")?,
            merges: strings("tokenizer.ggml.merges")?.unwrap_or_default(),
            bos_token_id: token_id("tokenizer.ggml.bos_token_id")?,
            eos_token_id: token_id("tokenizer.ggml.eos_token_id")?,
            unknown_token_id: token_id("tokenizer.ggml.unknown_token_id")?,
            padding_token_id: token_id("tokenizer.ggml.padding_token_id")?,
            add_bos_token: flag("tokenizer.ggml.add_bos_token"),
            add_eos_token: flag("tokenizer.ggml.add_eos_token"),
            add_space_prefix: flag("tokenizer.ggml.add_space_prefix"),
            chat_template: string("tokenizer.chat_template")?,
            model,
            tokens,
            scores,
            token_types,
        })
    }
}
