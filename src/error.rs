//! The library's one error type. Variants carry the file, tensor or config key they concern.

use thiserror::Error;

pub type Result<T, E = MergeError> = std::result::Result<T, E>;

#[derive(Debug, Error)]
pub enum MergeError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },

    #[error("{file}: malformed safetensors header: {reason}")]
    MalformedHeader { file: String, reason: String },

    #[error("{file}: malformed GGUF: {reason}")]
    MalformedGguf { file: String, reason: String },

    #[error("{file}: tensor `{tensor}` is stored as GGUF type {kind}, which mixmerge cannot dequantise (F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K)")]
    UnsupportedGgufType {
        file: String,
        tensor: String,
        kind: String,
    },

    #[error("{file}: tensor `{tensor}`: {reason}")]
    BadTensor {
        file: String,
        tensor: String,
        reason: String,
    },

    #[error("{file}: tensor `{tensor}` has dtype {dtype}, which mixmerge does not support (F64, F32, F16, BF16)")]
    UnsupportedDtype {
        file: String,
        tensor: String,
        dtype: String,
    },

    #[error("{file}: pickle checkpoints are refused (they can execute code); convert the model to safetensors first")]
    PickleRefused { file: String },

    #[error("{path}: no checkpoint found (expected model.safetensors, model.safetensors.index.json, *.safetensors or one *.gguf)")]
    ModelNotFound { path: String },

    #[error("`{reference}` is not a local folder and names a Hugging Face hub model that could not be read: {reason}")]
    HubReference { reference: String, reason: String },

    #[error("{file}: bad shard index: {reason}")]
    BadIndex { file: String, reason: String },

    #[error("config: {key}: {reason}")]
    Config { key: String, reason: String },

    #[error("config: {0}")]
    Yaml(String),

    #[error("tensor `{tensor}` in {model}: {reason}")]
    Mismatch {
        tensor: String,
        model: String,
        reason: String,
    },

    #[error("tensor `{tensor}` is missing from {model}")]
    MissingTensor { tensor: String, model: String },

    #[error("output {path}: {reason}")]
    Output { path: String, reason: String },

    #[error("{0}")]
    Unsupported(String),

    #[error("{file}: tokenizer: {reason}")]
    Tokenizer { file: String, reason: String },

    #[error("merge cancelled")]
    Cancelled,

    /// A perplexity pass or a generation stopped by its caller (the page's Stop button).
    #[error("evaluation cancelled")]
    EvaluationCancelled,
}

impl MergeError {
    pub fn io(path: impl std::fmt::Display, source: std::io::Error) -> Self {
        MergeError::Io {
            path: path.to_string(),
            source,
        }
    }

    pub fn config(key: impl Into<String>, reason: impl Into<String>) -> Self {
        MergeError::Config {
            key: key.into(),
            reason: reason.into(),
        }
    }
}
