//! What a model's `config.json` says, for the architectures mixmerge can run.

use serde_json::Value;

use super::rope::RopeScaling;
use crate::error::{MergeError, Result};

/// The Llama family: Llama 2/3, Mistral, Qwen2, SmolLM (one decoder, different switches).
#[derive(Debug, Clone, PartialEq)]
pub struct LlamaConfig {
    pub hidden_size: usize,
    pub intermediate_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub num_key_value_heads: usize,
    pub head_dim: usize,
    pub vocab_size: usize,
    pub rms_norm_eps: f64,
    pub rope_theta: f64,
    pub rope_scaling: Option<RopeScaling>,
    pub tie_word_embeddings: bool,
    pub max_position_embeddings: Option<usize>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Gpt2Config {
    pub n_embd: usize,
    pub n_head: usize,
    pub n_layer: usize,
    pub n_positions: usize,
    pub vocab_size: usize,
    pub layer_norm_epsilon: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ArchConfig {
    Llama(LlamaConfig),
    Gpt2(Gpt2Config),
}

/// `model_type` values decoded as the Llama family.
const LLAMA_FAMILY: [&str; 4] = ["llama", "mistral", "qwen2", "smollm"];

impl ArchConfig {
    pub fn parse(config: &Value) -> Result<Self> {
        let model_type = config
            .get("model_type")
            .and_then(Value::as_str)
            .ok_or_else(|| MergeError::config("config.json: model_type", "missing"))?;
        match model_type {
            "gpt2" => Gpt2Config::parse(config).map(ArchConfig::Gpt2),
            t if LLAMA_FAMILY.contains(&t) => LlamaConfig::parse(config).map(ArchConfig::Llama),
            other => Err(MergeError::Unsupported(format!(
                "config.json: model_type `{other}` cannot be evaluated (supported: gpt2, {})",
                LLAMA_FAMILY.join(", ")
            ))),
        }
    }
}

impl LlamaConfig {
    pub fn parse(config: &Value) -> Result<Self> {
        let get = Keys(config);
        let hidden_size = get.usize("hidden_size")?;
        let num_attention_heads = get.usize("num_attention_heads")?;
        let num_key_value_heads = get.usize_or("num_key_value_heads", num_attention_heads)?;
        if num_attention_heads == 0 || num_key_value_heads == 0 {
            return Err(MergeError::config(
                "config.json: num_attention_heads",
                "must be > 0",
            ));
        }
        if num_attention_heads % num_key_value_heads != 0 {
            return Err(MergeError::config(
                "config.json: num_key_value_heads",
                format!("{num_key_value_heads} does not divide num_attention_heads ({num_attention_heads})"),
            ));
        }
        let head_dim = get.usize_or("head_dim", hidden_size / num_attention_heads)?;
        if head_dim == 0 || head_dim % 2 != 0 {
            return Err(MergeError::config(
                "config.json: head_dim",
                format!("{head_dim} must be even and > 0 for rotary embeddings"),
            ));
        }
        let act = config
            .get("hidden_act")
            .and_then(Value::as_str)
            .unwrap_or("silu");
        if act != "silu" {
            return Err(MergeError::Unsupported(format!(
                "config.json: hidden_act `{act}` (only silu, i.e. SwiGLU, is implemented)"
            )));
        }
        Ok(LlamaConfig {
            hidden_size,
            intermediate_size: get.usize("intermediate_size")?,
            num_hidden_layers: get.usize("num_hidden_layers")?,
            num_attention_heads,
            num_key_value_heads,
            head_dim,
            vocab_size: get.usize("vocab_size")?,
            rms_norm_eps: get.f64_or("rms_norm_eps", 1e-6)?,
            rope_theta: get.f64_or("rope_theta", 10_000.0)?,
            rope_scaling: parse_rope_scaling(config.get("rope_scaling"))?,
            tie_word_embeddings: get.bool_or("tie_word_embeddings", false)?,
            max_position_embeddings: get.optional_usize("max_position_embeddings")?,
        })
    }
}

impl Gpt2Config {
    pub fn parse(config: &Value) -> Result<Self> {
        let get = Keys(config);
        let n_embd = get.usize("n_embd")?;
        let n_head = get.usize("n_head")?;
        if n_head == 0 || n_embd % n_head != 0 {
            return Err(MergeError::config(
                "config.json: n_head",
                format!("{n_head} does not divide n_embd ({n_embd})"),
            ));
        }
        let act = config
            .get("activation_function")
            .and_then(Value::as_str)
            .unwrap_or("gelu_new");
        if !matches!(act, "gelu_new" | "gelu_pytorch_tanh") {
            return Err(MergeError::Unsupported(format!(
                "config.json: activation_function `{act}` (only gelu_new is implemented)"
            )));
        }
        Ok(Gpt2Config {
            n_embd,
            n_head,
            n_layer: get.usize("n_layer")?,
            n_positions: get.usize("n_positions")?,
            vocab_size: get.usize("vocab_size")?,
            layer_norm_epsilon: get.f64_or("layer_norm_epsilon", 1e-5)?,
        })
    }
}

fn parse_rope_scaling(value: Option<&Value>) -> Result<Option<RopeScaling>> {
    let Some(value) = value.filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    let get = Keys(value);
    let kind = value
        .get("rope_type")
        .or_else(|| value.get("type"))
        .and_then(Value::as_str)
        .unwrap_or("");
    match kind {
        "default" => Ok(None),
        "linear" => Ok(Some(RopeScaling::Linear {
            factor: get.f64("factor")?,
        })),
        "llama3" => Ok(Some(RopeScaling::Llama3 {
            factor: get.f64("factor")?,
            low_freq_factor: get.f64("low_freq_factor")?,
            high_freq_factor: get.f64("high_freq_factor")?,
            original_max_position_embeddings: get.f64("original_max_position_embeddings")?,
        })),
        other => Err(MergeError::Unsupported(format!(
            "config.json: rope_scaling type `{other}` (supported: linear, llama3)"
        ))),
    }
}

/// Typed reads of `config.json` keys; errors name the key.
struct Keys<'a>(&'a Value);

impl Keys<'_> {
    fn key(name: &str) -> String {
        format!("config.json: {name}")
    }

    fn usize(&self, name: &str) -> Result<usize> {
        self.optional_usize(name)?
            .ok_or_else(|| MergeError::config(Self::key(name), "missing"))
    }

    fn usize_or(&self, name: &str, default: usize) -> Result<usize> {
        Ok(self.optional_usize(name)?.unwrap_or(default))
    }

    fn optional_usize(&self, name: &str) -> Result<Option<usize>> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v.as_u64().map(|n| Some(n as usize)).ok_or_else(|| {
                MergeError::config(
                    Self::key(name),
                    format!("{v} is not a non-negative integer"),
                )
            }),
        }
    }

    fn f64(&self, name: &str) -> Result<f64> {
        match self.0.get(name) {
            Some(v) => v
                .as_f64()
                .ok_or_else(|| MergeError::config(Self::key(name), format!("{v} is not a number"))),
            None => Err(MergeError::config(Self::key(name), "missing")),
        }
    }

    fn f64_or(&self, name: &str, default: f64) -> Result<f64> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(default),
            Some(_) => self.f64(name),
        }
    }

    fn bool_or(&self, name: &str, default: bool) -> Result<bool> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(default),
            Some(v) => v.as_bool().ok_or_else(|| {
                MergeError::config(Self::key(name), format!("{v} is not true or false"))
            }),
        }
    }
}

/// Ids that end a generation: `config.json`'s `eos_token_id`, a number or a list.
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn llama_defaults_and_grouped_query_heads() {
        let config = json!({"model_type": "llama", "hidden_size": 64, "intermediate_size": 128,
            "num_hidden_layers": 2, "num_attention_heads": 8, "num_key_value_heads": 2,
            "vocab_size": 100});
        let ArchConfig::Llama(c) = ArchConfig::parse(&config).unwrap() else {
            panic!("not llama")
        };
        assert_eq!((c.head_dim, c.num_key_value_heads), (8, 2));
        assert_eq!((c.rope_theta, c.rms_norm_eps), (10_000.0, 1e-6));
        assert!(!c.tie_word_embeddings && c.rope_scaling.is_none());
    }

    #[test]
    fn bad_configs_name_the_key() {
        let base = json!({"model_type": "llama", "hidden_size": 64, "intermediate_size": 128,
            "num_hidden_layers": 2, "num_attention_heads": 8, "num_key_value_heads": 3,
            "vocab_size": 100});
        let err = ArchConfig::parse(&base).unwrap_err().to_string();
        assert!(err.contains("num_key_value_heads"), "{err}");
        let mut missing = base.clone();
        missing["num_key_value_heads"] = json!(2);
        missing.as_object_mut().unwrap().remove("vocab_size");
        let err = ArchConfig::parse(&missing).unwrap_err().to_string();
        assert!(
            err.contains("vocab_size") && err.contains("missing"),
            "{err}"
        );
        let mut yarn = missing.clone();
        yarn["vocab_size"] = json!(100);
        yarn["rope_scaling"] = json!({"rope_type": "yarn", "factor": 4.0});
        let err = ArchConfig::parse(&yarn).unwrap_err().to_string();
        assert!(err.contains("yarn"), "{err}");
        let err = ArchConfig::parse(&json!({"model_type": "bert"}))
            .unwrap_err()
            .to_string();
        assert!(err.contains("bert"), "{err}");
    }

    #[test]
    fn gpt2_needs_heads_that_divide_the_width() {
        let config = json!({"model_type": "gpt2", "n_embd": 30, "n_head": 4, "n_layer": 1,
            "n_positions": 8, "vocab_size": 10});
        let err = ArchConfig::parse(&config).unwrap_err().to_string();
        assert!(err.contains("n_head"), "{err}");
    }
}
