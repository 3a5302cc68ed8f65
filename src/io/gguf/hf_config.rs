//! The model hyper-parameters a GGUF carries, as a typed struct and as a HF `config.json`.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{json, Value};

use super::metadata::MetadataValue;
use crate::error::{MergeError, Result};

/// What a Llama-family model needs to be rebuilt; names follow HF's `config.json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HfConfig {
    /// GGUF's `general.architecture` (`llama`, `qwen2`, …).
    pub architecture: String,
    pub hidden_size: usize,
    pub intermediate_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub num_key_value_heads: usize,
    pub head_dim: usize,
    pub vocab_size: usize,
    pub max_position_embeddings: Option<usize>,
    pub rope_theta: f64,
    pub rms_norm_eps: f64,
    pub tie_word_embeddings: bool,
    pub bos_token_id: Option<u32>,
    pub eos_token_id: Option<u32>,
}

/// ggml's default when a converter leaves `rope.freq_base` out.
const DEFAULT_ROPE_THETA: f64 = 10_000.0;

/// A number as the converter wrote it: an f32 widens to its shortest decimal (1e-5, not
/// 9.999999747378752e-6), as `config.json` had it.
fn decimal(value: &MetadataValue) -> Option<f64> {
    match value {
        MetadataValue::F32(v) => v.to_string().parse().ok(),
        other => other.as_f64(),
    }
}

/// HF class and model type of the GGUF architectures mixmerge can describe.
fn hf_architecture(architecture: &str) -> Option<(&'static str, &'static str)> {
    Some(match architecture {
        "llama" => ("LlamaForCausalLM", "llama"),
        "qwen2" => ("Qwen2ForCausalLM", "qwen2"),
        _ => return None,
    })
}

impl HfConfig {
    /// Reads `{arch}.*` keys. `vocab_rows` (rows of the embedding) stands in for a missing
    /// vocabulary size; `has_output` is whether the file stores a separate `output.weight`.
    pub fn from_metadata(
        file: &str,
        metadata: &BTreeMap<String, MetadataValue>,
        vocab_rows: Option<usize>,
        has_output: bool,
    ) -> Result<Self> {
        let bad = |key: &str, reason: &str| MergeError::MalformedGguf {
            file: file.to_string(),
            reason: format!("metadata `{key}` {reason}"),
        };
        let architecture = metadata
            .get("general.architecture")
            .and_then(MetadataValue::as_str)
            .ok_or_else(|| bad("general.architecture", "is missing or not a string"))?
            .to_string();
        let key = |name: &str| format!("{architecture}.{name}");
        let count = |name: &str| -> Result<Option<usize>> {
            let key = key(name);
            match metadata.get(&key) {
                None => Ok(None),
                Some(value) => value
                    .as_u64()
                    .and_then(|v| usize::try_from(v).ok())
                    .map(Some)
                    .ok_or_else(|| bad(&key, "must be a non-negative integer")),
            }
        };
        let required = |name: &str| -> Result<usize> {
            count(name)?.ok_or_else(|| bad(&key(name), "is missing"))
        };
        let float = |name: &str| -> Result<Option<f64>> {
            let key = key(name);
            match metadata.get(&key) {
                None => Ok(None),
                Some(value) => decimal(value)
                    .map(Some)
                    .ok_or_else(|| bad(&key, "must be a number")),
            }
        };
        let hidden_size = required("embedding_length")?;
        let num_attention_heads = required("attention.head_count")?;
        if num_attention_heads == 0 {
            return Err(bad(&key("attention.head_count"), "is 0"));
        }
        let head_dim = match count("attention.key_length")? {
            Some(dim) => dim,
            None => hidden_size / num_attention_heads,
        };
        let vocab_size = match count("vocab_size")? {
            Some(size) => size,
            None => vocab_rows.ok_or_else(|| bad(&key("vocab_size"), "is missing"))?,
        };
        let token_id = |key: &str| -> Option<u32> {
            metadata
                .get(key)
                .and_then(MetadataValue::as_u64)
                .and_then(|v| u32::try_from(v).ok())
        };
        Ok(HfConfig {
            hidden_size,
            intermediate_size: required("feed_forward_length")?,
            num_hidden_layers: required("block_count")?,
            num_key_value_heads: count("attention.head_count_kv")?.unwrap_or(num_attention_heads),
            num_attention_heads,
            head_dim,
            vocab_size,
            max_position_embeddings: count("context_length")?,
            rope_theta: float("rope.freq_base")?.unwrap_or(DEFAULT_ROPE_THETA),
            rms_norm_eps: float("attention.layer_norm_rms_epsilon")?
                .ok_or_else(|| bad(&key("attention.layer_norm_rms_epsilon"), "is missing"))?,
            tie_word_embeddings: !has_output,
            bos_token_id: token_id("tokenizer.ggml.bos_token_id"),
            eos_token_id: token_id("tokenizer.ggml.eos_token_id"),
            architecture,
        })
    }

    /// A `config.json` that `transformers` loads, for the architectures it knows.
    pub fn to_config_json(&self) -> Result<Value> {
        let (class, model_type) = hf_architecture(&self.architecture).ok_or_else(|| {
            MergeError::Unsupported(format!(
                "GGUF architecture `{}` has no Hugging Face config mapping (llama, qwen2)",
                self.architecture
            ))
        })?;
        let mut config = json!({
            "architectures": [class],
            "model_type": model_type,
            "hidden_size": self.hidden_size,
            "intermediate_size": self.intermediate_size,
            "num_hidden_layers": self.num_hidden_layers,
            "num_attention_heads": self.num_attention_heads,
            "num_key_value_heads": self.num_key_value_heads,
            "head_dim": self.head_dim,
            "vocab_size": self.vocab_size,
            "rope_theta": self.rope_theta,
            "rms_norm_eps": self.rms_norm_eps,
            "tie_word_embeddings": self.tie_word_embeddings,
            "hidden_act": "silu",
            "torch_dtype": "float32",
        });
        let optional = [
            (
                "max_position_embeddings",
                self.max_position_embeddings.map(|v| v as u64),
            ),
            ("bos_token_id", self.bos_token_id.map(u64::from)),
            ("eos_token_id", self.eos_token_id.map(u64::from)),
        ];
        for (key, value) in optional {
            if let Some(value) = value {
                config[key] = json!(value);
            }
        }
        Ok(config)
    }
}
