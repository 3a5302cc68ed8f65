//! Generation with the KV cache: one forward pass over the prompt, then one per new token,
//! timed separately so prompt and generation throughput can be reported apart.

use burn::prelude::Tensor;

use super::clock;
use super::hooks::EvalHooks;
use super::perplexity::{check_vocab, read_f32};
use super::sampling::{log_prob, Sampler, Sampling};
use crate::error::{MergeError, Result};
use crate::model::Model;

#[derive(Debug, Clone)]
pub struct GenerateOptions {
    pub max_new_tokens: usize,
    pub sampling: Sampling,
    /// Generation stops after producing any of these (end-of-sequence ids).
    pub stop_tokens: Vec<u32>,
}

#[derive(Debug, Clone)]
pub struct Generation {
    /// The new tokens (the prompt excluded), a stop token included when one ended it.
    pub tokens: Vec<u32>,
    /// The model's log-probability of each new token (before temperature).
    pub log_probs: Vec<f32>,
    pub prompt_tokens: usize,
    pub prompt_seconds: f64,
    pub generation_seconds: f64,
}

impl Generation {
    pub fn prompt_tokens_per_second(&self) -> f64 {
        self.prompt_tokens as f64 / self.prompt_seconds
    }

    /// New tokens after the first (which the prompt pass produced) per second of decoding.
    pub fn generation_tokens_per_second(&self) -> f64 {
        self.tokens.len().saturating_sub(1) as f64 / self.generation_seconds
    }
}

/// [`generate_async`] blocking until done (native callers); `on_token` sees each new token as
/// soon as it is chosen (for streaming).
#[cfg(not(target_arch = "wasm32"))]
pub fn generate(
    model: &Model,
    prompt: &[u32],
    options: &GenerateOptions,
    on_token: &mut dyn FnMut(u32),
) -> Result<Generation> {
    pollster::block_on(generate_async(
        model,
        prompt,
        options,
        &mut super::hooks::OnToken(on_token),
    ))
}

/// Continues `prompt`, handing each new token to `hooks` as soon as it is chosen; results are
/// read back asynchronously (WebGPU's only way), and `hooks` may stop before any forward pass.
pub async fn generate_async(
    model: &Model,
    prompt: &[u32],
    options: &GenerateOptions,
    hooks: &mut impl EvalHooks,
) -> Result<Generation> {
    if prompt.is_empty() {
        return Err(MergeError::Unsupported(
            "generation needs a non-empty prompt".into(),
        ));
    }
    check_vocab(model, prompt)?;
    if let Some(limit) = model.max_context() {
        let wanted = prompt.len() + options.max_new_tokens;
        if wanted > limit {
            return Err(MergeError::Unsupported(format!(
                "prompt ({}) + new tokens ({}) exceed the model's context of {limit}",
                prompt.len(),
                options.max_new_tokens
            )));
        }
    }
    let mut sampler = Sampler::new(options.sampling);
    let mut cache = model.new_cache();
    let mut generation = Generation {
        tokens: Vec::new(),
        log_probs: Vec::new(),
        prompt_tokens: prompt.len(),
        prompt_seconds: 0.0,
        generation_seconds: 0.0,
    };
    hooks.before_pass().await?;
    let start = clock::seconds();
    let mut logits = last_row(model.forward(prompt, &mut cache)?).await?;
    let decode_start = clock::seconds();
    generation.prompt_seconds = decode_start - start;
    while generation.tokens.len() < options.max_new_tokens {
        let token = sampler.next(&logits);
        generation.tokens.push(token);
        generation.log_probs.push(log_prob(&logits, token));
        hooks.token(token);
        let done = generation.tokens.len() == options.max_new_tokens;
        if done || options.stop_tokens.contains(&token) {
            break;
        }
        hooks.before_pass().await?;
        logits = last_row(model.forward(&[token], &mut cache)?).await?;
    }
    generation.generation_seconds = clock::seconds() - decode_start;
    Ok(generation)
}

/// The logits of the last position, read back to the host.
async fn last_row(logits: Tensor<2>) -> Result<Vec<f32>> {
    let [rows, vocab] = logits.dims();
    read_f32(logits.slice([rows - 1..rows, 0..vocab])).await
}
