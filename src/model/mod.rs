//! burn inference for evaluating merges: the Llama family and GPT-2, configured by
//! `config.json`, weights loaded under their Hugging Face names from any [`WeightSource`].

pub mod backend;
pub mod cache;
pub mod chat;
pub mod config;
#[cfg(not(target_arch = "wasm32"))]
pub mod folder;
pub mod gguf_model;
pub mod gguf_tokenizer;
pub mod gpt2;
pub mod layers;
pub mod llama;
pub mod rope;
pub mod tokenizer;
pub mod tokenizer_config;
pub mod weights;

use burn::prelude::{Device, Tensor};
use serde_json::Value;

#[cfg(feature = "cuda")]
pub use backend::cuda_device;
#[cfg(all(feature = "gpu", not(target_arch = "wasm32")))]
pub use backend::gpu_device;
pub use backend::{cpu_device, device_for, Backend, InferenceDevice};
#[cfg(feature = "gpu")]
pub use backend::{gpu_device_async, shared_gpu_device};
pub use cache::KvCache;
pub use chat::{ChatMessage, ChatTemplate};
pub use config::{ArchConfig, Gpt2Config, LlamaConfig};
pub use gguf_model::load_gguf;
pub use tokenizer::TextTokenizer;
pub use tokenizer_config::TokenizerConfig;
pub use weights::{WeightLoader, WeightSource};

use crate::error::Result;

/// A model with what running it on text needs.
pub struct LoadedModel {
    pub model: Model,
    pub tokenizer: TextTokenizer,
    /// Ids that end a generation (`eos_token_id`, a number or a list).
    pub stop_tokens: Vec<u32>,
    /// How the model wants a conversation written, when it says.
    pub chat_template: Option<ChatTemplate>,
}

/// A causal language model ready to run.
pub enum Model {
    Llama(Box<llama::Llama>),
    Gpt2(Box<gpt2::Gpt2>),
}

impl Model {
    /// Builds the architecture `config` (parsed `config.json`) names, reading its weights.
    pub async fn load<W: WeightSource>(
        config: &Value,
        weights: &W,
        device: &Device,
    ) -> Result<Self> {
        Ok(match ArchConfig::parse(config)? {
            ArchConfig::Llama(c) => {
                Model::Llama(Box::new(llama::Llama::load(c, weights, device).await?))
            }
            ArchConfig::Gpt2(c) => {
                Model::Gpt2(Box::new(gpt2::Gpt2::load(c, weights, device).await?))
            }
        })
    }

    /// An empty cache sized for this model.
    pub fn new_cache(&self) -> KvCache {
        KvCache::new(match self {
            Model::Llama(m) => m.config().num_hidden_layers,
            Model::Gpt2(m) => m.config().n_layer,
        })
    }

    pub fn vocab_size(&self) -> usize {
        match self {
            Model::Llama(m) => m.config().vocab_size,
            Model::Gpt2(m) => m.config().vocab_size,
        }
    }

    /// The longest context the model was built for, when its config says.
    pub fn max_context(&self) -> Option<usize> {
        match self {
            Model::Llama(m) => m.config().max_position_embeddings,
            Model::Gpt2(m) => Some(m.config().n_positions),
        }
    }

    /// Logits `[tokens, vocab]` for `tokens`, which continue the sequence held in `cache`.
    pub fn forward(&self, tokens: &[u32], cache: &mut KvCache) -> Result<Tensor<2>> {
        match self {
            Model::Llama(m) => Ok(m.forward(tokens, cache)),
            Model::Gpt2(m) => m.forward(tokens, cache),
        }
    }
}
