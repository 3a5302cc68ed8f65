//! The Llama decoder (Llama 2/3, Mistral, Qwen2, SmolLM): pre-RMSNorm blocks of grouped-query
//! attention with rotary positions and a SwiGLU MLP. Tensors load under their HF names.

use burn::prelude::{Device, Int, Tensor, TensorData};
use burn::tensor::activation::silu;

use super::cache::KvCache;
use super::config::LlamaConfig;
use super::layers::{causal_attention, merge_heads, repeat_kv, split_heads, Linear, RmsNorm};
use super::rope::Rope;
use super::weights::{WeightLoader, WeightSource};
use crate::error::Result;

struct Attention {
    q_proj: Linear,
    k_proj: Linear,
    v_proj: Linear,
    o_proj: Linear,
}

struct Mlp {
    gate_proj: Linear,
    up_proj: Linear,
    down_proj: Linear,
}

struct Block {
    input_layernorm: RmsNorm,
    self_attn: Attention,
    post_attention_layernorm: RmsNorm,
    mlp: Mlp,
}

pub struct Llama {
    config: LlamaConfig,
    embed_tokens: Tensor<2>,
    layers: Vec<Block>,
    norm: RmsNorm,
    lm_head: Linear,
    rope: Rope,
}

impl Llama {
    pub async fn load<W: WeightSource>(
        config: LlamaConfig,
        source: &W,
        device: &Device,
    ) -> Result<Self> {
        let loader = WeightLoader { source, device };
        let c = &config;
        let (hidden, inter) = (c.hidden_size, c.intermediate_size);
        let q_width = c.num_attention_heads * c.head_dim;
        let kv_width = c.num_key_value_heads * c.head_dim;
        let rms = |weight: Tensor<1>| RmsNorm {
            weight,
            eps: c.rms_norm_eps,
        };
        let embed_tokens = loader
            .tensor("model.embed_tokens.weight", [c.vocab_size, hidden])
            .await?;
        let mut layers = Vec::with_capacity(c.num_hidden_layers);
        for i in 0..c.num_hidden_layers {
            let p = format!("model.layers.{i}");
            let linear = |name: &str, inputs, outputs| {
                let prefix = format!("{p}.{name}");
                let loader = &loader;
                async move { Linear::load_hf(loader, &prefix, inputs, outputs).await }
            };
            layers.push(Block {
                input_layernorm: rms(loader
                    .tensor(&format!("{p}.input_layernorm.weight"), [hidden])
                    .await?),
                self_attn: Attention {
                    q_proj: linear("self_attn.q_proj", hidden, q_width).await?,
                    k_proj: linear("self_attn.k_proj", hidden, kv_width).await?,
                    v_proj: linear("self_attn.v_proj", hidden, kv_width).await?,
                    o_proj: linear("self_attn.o_proj", q_width, hidden).await?,
                },
                post_attention_layernorm: rms(loader
                    .tensor(&format!("{p}.post_attention_layernorm.weight"), [hidden])
                    .await?),
                mlp: Mlp {
                    gate_proj: linear("mlp.gate_proj", hidden, inter).await?,
                    up_proj: linear("mlp.up_proj", hidden, inter).await?,
                    down_proj: linear("mlp.down_proj", inter, hidden).await?,
                },
            });
        }
        let norm = rms(loader.tensor("model.norm.weight", [hidden]).await?);
        // Tied models (SmolLM) store no lm_head; some tied checkpoints still carry a copy.
        let lm_head = match loader.contains("lm_head.weight") {
            true => Linear::load_hf(&loader, "lm_head", hidden, c.vocab_size).await?,
            false => Linear::tied(&embed_tokens),
        };
        let rope = Rope::new(c.head_dim, c.rope_theta, c.rope_scaling.as_ref());
        Ok(Llama {
            config,
            embed_tokens,
            layers,
            norm,
            lm_head,
            rope,
        })
    }

    pub fn config(&self) -> &LlamaConfig {
        &self.config
    }

    /// Logits `[tokens, vocab]` for `tokens`, which follow the `cache.len()` tokens cached.
    pub fn forward(&self, tokens: &[u32], cache: &mut KvCache) -> Tensor<2> {
        let device = self.embed_tokens.device();
        let ids: Vec<i64> = tokens.iter().map(|&t| t as i64).collect();
        let ids = Tensor::<1, Int>::from_data(TensorData::new(ids, [tokens.len()]), &device);
        let mut x = self.embed_tokens.clone().select(0, ids);
        let first = cache.len();
        for (i, block) in self.layers.iter().enumerate() {
            let attn = self.attention(
                block,
                block.input_layernorm.forward(x.clone()),
                first,
                i,
                cache,
            );
            x = x + attn;
            let h = block.post_attention_layernorm.forward(x.clone());
            let mlp = &block.mlp;
            let gated = silu(mlp.gate_proj.forward(h.clone())) * mlp.up_proj.forward(h);
            x = x + mlp.down_proj.forward(gated);
        }
        cache.advance(tokens.len());
        self.lm_head.forward(self.norm.forward(x))
    }

    fn attention(
        &self,
        block: &Block,
        h: Tensor<2>,
        first: usize,
        layer: usize,
        cache: &mut KvCache,
    ) -> Tensor<2> {
        let c = &self.config;
        let attn = &block.self_attn;
        let q = split_heads(attn.q_proj.forward(h.clone()), c.num_attention_heads);
        let k = split_heads(attn.k_proj.forward(h.clone()), c.num_key_value_heads);
        let v = split_heads(attn.v_proj.forward(h), c.num_key_value_heads);
        let (q, k) = (self.rope.apply(q, first), self.rope.apply(k, first));
        let (k, v) = cache.extend(layer, k, v);
        let group = c.num_attention_heads / c.num_key_value_heads;
        let out = causal_attention(q, repeat_kv(k, group), repeat_kv(v, group));
        attn.o_proj.forward(merge_heads(out))
    }
}
