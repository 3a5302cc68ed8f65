//! GPT-2: learned positions, pre-LayerNorm blocks, fused QKV `Conv1D` (`[in, out]` weights),
//! tanh-GELU MLP, output head tied to the token embedding. Tensors load under their HF names,
//! with or without the `transformer.` prefix.

use burn::prelude::{Device, Int, Tensor, TensorData};

use super::cache::KvCache;
use super::config::Gpt2Config;
use super::layers::{causal_attention, merge_heads, split_heads, LayerNorm, Linear};
use super::weights::{WeightLoader, WeightSource};
use crate::error::{MergeError, Result};

struct Block {
    ln_1: LayerNorm,
    c_attn: Linear,
    c_proj: Linear,
    ln_2: LayerNorm,
    c_fc: Linear,
    mlp_c_proj: Linear,
}

pub struct Gpt2 {
    config: Gpt2Config,
    wte: Tensor<2>,
    wpe: Tensor<2>,
    blocks: Vec<Block>,
    ln_f: LayerNorm,
    lm_head: Linear,
}

impl Gpt2 {
    pub async fn load<W: WeightSource>(
        config: Gpt2Config,
        source: &W,
        device: &Device,
    ) -> Result<Self> {
        let loader = WeightLoader { source, device };
        // `GPT2LMHeadModel` saves `transformer.h.0…`; the original hub checkpoints `h.0…`.
        let t = match loader.contains("transformer.wte.weight") {
            true => "transformer.",
            false => "",
        };
        let c = &config;
        let d = c.n_embd;
        let eps = c.layer_norm_epsilon;
        let wte = loader
            .tensor(&format!("{t}wte.weight"), [c.vocab_size, d])
            .await?;
        let wpe = loader
            .tensor(&format!("{t}wpe.weight"), [c.n_positions, d])
            .await?;
        let mut blocks = Vec::with_capacity(c.n_layer);
        for i in 0..c.n_layer {
            let p = format!("{t}h.{i}");
            blocks.push(Block {
                ln_1: LayerNorm::load(&loader, &format!("{p}.ln_1"), d, eps).await?,
                c_attn: Linear::load_conv1d(&loader, &format!("{p}.attn.c_attn"), d, 3 * d).await?,
                c_proj: Linear::load_conv1d(&loader, &format!("{p}.attn.c_proj"), d, d).await?,
                ln_2: LayerNorm::load(&loader, &format!("{p}.ln_2"), d, eps).await?,
                c_fc: Linear::load_conv1d(&loader, &format!("{p}.mlp.c_fc"), d, 4 * d).await?,
                mlp_c_proj: Linear::load_conv1d(&loader, &format!("{p}.mlp.c_proj"), 4 * d, d)
                    .await?,
            });
        }
        let ln_f = LayerNorm::load(&loader, &format!("{t}ln_f"), d, eps).await?;
        let lm_head = match loader.contains("lm_head.weight") {
            true => Linear::load_hf(&loader, "lm_head", d, c.vocab_size).await?,
            false => Linear::tied(&wte),
        };
        Ok(Gpt2 {
            config,
            wte,
            wpe,
            blocks,
            ln_f,
            lm_head,
        })
    }

    pub fn config(&self) -> &Gpt2Config {
        &self.config
    }

    /// Logits `[tokens, vocab]` for `tokens`, which follow the `cache.len()` tokens cached.
    /// Fails when positions would run past `n_positions` (GPT-2 has no positions beyond).
    pub fn forward(&self, tokens: &[u32], cache: &mut KvCache) -> Result<Tensor<2>> {
        let first = cache.len();
        let end = first + tokens.len();
        if end > self.config.n_positions {
            return Err(MergeError::Unsupported(format!(
                "GPT-2 context is {} positions; {end} requested (use a smaller --window)",
                self.config.n_positions
            )));
        }
        let device = self.wte.device();
        let ids: Vec<i64> = tokens.iter().map(|&t| t as i64).collect();
        let ids = Tensor::<1, Int>::from_data(TensorData::new(ids, [tokens.len()]), &device);
        let d = self.config.n_embd;
        let positions = self.wpe.clone().slice([first..end, 0..d]);
        let mut x = self.wte.clone().select(0, ids) + positions;
        for (i, block) in self.blocks.iter().enumerate() {
            let qkv = block.c_attn.forward(block.ln_1.forward(x.clone()));
            let n = tokens.len();
            let heads = self.config.n_head;
            let part = |k: usize| split_heads(qkv.clone().slice([0..n, k * d..(k + 1) * d]), heads);
            let (k, v) = cache.extend(i, part(1), part(2));
            let attn = causal_attention(part(0), k, v);
            x = x + block.c_proj.forward(merge_heads(attn));
            let h = gelu_tanh(block.c_fc.forward(block.ln_2.forward(x.clone())));
            x = x + block.mlp_c_proj.forward(h);
        }
        cache.advance(tokens.len());
        Ok(self.lm_head.forward(self.ln_f.forward(x)))
    }
}

/// `0.5 x (1 + tanh(√(2/π) (x + 0.044715 x³)))`; the cube as products, since WGSL's `pow` is
/// undefined for negative bases.
fn gelu_tanh(x: Tensor<2>) -> Tensor<2> {
    let sqrt_2_over_pi = (2.0 / std::f64::consts::PI).sqrt();
    let cube = x.clone() * x.clone() * x.clone();
    let inner = (x.clone() + cube * 0.044715) * sqrt_2_over_pi;
    x * (inner.tanh() + 1.0) * 0.5
}
