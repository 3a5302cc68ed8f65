//! Perplexity of a token sequence with a sliding window: windows of at most `size` tokens start
//! every `stride` tokens, and each token is scored once, in the first window that reaches it,
//! with at least `size − stride` tokens of context (except near the start).

use burn::prelude::{Int, Tensor, TensorData};
use burn::tensor::activation::log_softmax;

use super::clock;
use super::hooks::EvalHooks;
use crate::error::{MergeError, Result};
use crate::model::Model;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Most tokens in one forward pass.
    pub size: usize,
    /// Tokens between window starts, below `size`: a window's first token has no context in it,
    /// so it must have been scored by the window before.
    pub stride: usize,
}

impl Window {
    /// The window the CLI and the page use unless told: `size` tokens (default 512, or the
    /// model's context if smaller), starting every `stride` tokens (default half the window).
    pub fn for_context(context: Option<usize>, size: Option<usize>, stride: Option<usize>) -> Self {
        let size = size.unwrap_or(512.min(context.unwrap_or(usize::MAX)));
        match stride {
            Some(stride) => Window { size, stride },
            None => Window::overlapping(size),
        }
    }

    /// Half-overlapping windows of `size` tokens.
    pub fn overlapping(size: usize) -> Self {
        Window {
            size,
            stride: (size / 2).max(1),
        }
    }
}

#[derive(Debug, Clone)]
pub struct PerplexityReport {
    /// `log p(token[i + 1] | token[..=i])` for every token after the first, in order.
    pub log_probs: Vec<f32>,
    /// Tokens (of `log_probs`) that the model ranked first.
    pub top1_hits: usize,
    /// Tokens run through the model (overlapping windows count their shared tokens again).
    pub forward_tokens: usize,
    pub seconds: f64,
}

impl PerplexityReport {
    pub fn mean_nll(&self) -> f64 {
        -self.log_probs.iter().map(|&l| l as f64).sum::<f64>() / self.log_probs.len() as f64
    }

    pub fn perplexity(&self) -> f64 {
        self.mean_nll().exp()
    }

    /// Share of the scored tokens that the model ranked first.
    pub fn top1_accuracy(&self) -> f64 {
        self.top1_hits as f64 / self.log_probs.len() as f64
    }

    /// Forward-pass throughput.
    pub fn tokens_per_second(&self) -> f64 {
        self.forward_tokens as f64 / self.seconds
    }
}

/// [`perplexity_async`] without hooks, blocking until done (native callers).
#[cfg(not(target_arch = "wasm32"))]
pub fn perplexity(model: &Model, tokens: &[u32], window: Window) -> Result<PerplexityReport> {
    pollster::block_on(perplexity_async(model, tokens, window, &mut ()))
}

/// Scores every token of `tokens` after the first. Needs at least two tokens. Results are read
/// back asynchronously, as the browser's WebGPU requires; `hooks` may stop between windows.
pub async fn perplexity_async(
    model: &Model,
    tokens: &[u32],
    window: Window,
    hooks: &mut impl EvalHooks,
) -> Result<PerplexityReport> {
    if tokens.len() < 2 {
        return Err(MergeError::Unsupported(format!(
            "perplexity needs at least 2 tokens, the text has {}",
            tokens.len()
        )));
    }
    if window.size < 2 || window.stride == 0 || window.stride >= window.size {
        return Err(MergeError::config(
            "window",
            format!(
                "size {} and stride {} (need size ≥ 2 and 1 ≤ stride < size)",
                window.size, window.stride
            ),
        ));
    }
    check_vocab(model, tokens)?;
    let start = clock::seconds();
    let mut log_probs = Vec::with_capacity(tokens.len() - 1);
    let mut forward_tokens = 0;
    let mut top1_hits = 0;
    let mut begin = 0;
    loop {
        let end = (begin + window.size).min(tokens.len());
        // Targets not scored yet: tokens first_target..end, predicted by rows t − 1 − begin.
        let first_target = log_probs.len() + 1;
        hooks.before_pass().await?;
        let logits = model.forward(&tokens[begin..end], &mut model.new_cache())?;
        forward_tokens += end - begin;
        let scored =
            target_log_probs(logits, first_target - 1 - begin, &tokens[first_target..end]).await?;
        top1_hits += scored.iter().filter(|t| t.top1).count();
        log_probs.extend(scored.iter().map(|t| t.log_prob));
        if end == tokens.len() {
            break;
        }
        begin += window.stride;
    }
    Ok(PerplexityReport {
        log_probs,
        top1_hits,
        forward_tokens,
        seconds: clock::seconds() - start,
    })
}

/// One target's log-probability, and whether no other token scored higher.
struct TargetScore {
    log_prob: f32,
    top1: bool,
}

/// `log_softmax(logits)[first_row + i, targets[i]]` for each target, beside its row's maximum,
/// read back as one small `[n, 2]` tensor.
async fn target_log_probs(
    logits: Tensor<2>,
    first_row: usize,
    targets: &[u32],
) -> Result<Vec<TargetScore>> {
    let n = targets.len();
    let vocab = logits.dims()[1];
    let device = logits.device();
    let rows = log_softmax(logits.slice([first_row..first_row + n, 0..vocab]), 1);
    let ids: Vec<i64> = targets.iter().map(|&t| t as i64).collect();
    let ids = Tensor::<2, Int>::from_data(TensorData::new(ids, [n, 1]), &device);
    let best = rows.clone().max_dim(1);
    let picked = rows.gather(1, ids);
    let pairs = read_f32(Tensor::cat(vec![picked, best], 1)).await?;
    Ok(pairs
        .chunks_exact(2)
        .map(|pair| TargetScore {
            log_prob: pair[0],
            top1: pair[0] >= pair[1],
        })
        .collect())
}

/// A tensor's values on the host; asynchronous because WebGPU reads back only that way.
pub(crate) async fn read_f32<const D: usize>(tensor: Tensor<D>) -> Result<Vec<f32>> {
    let data = tensor
        .into_data_async()
        .await
        .map_err(|e| read_failed(format!("{e:?}")))?;
    data_f32(data)
}

/// Values already on the host (CPU backends, or after a blocking `into_data`) as f32.
pub(crate) fn data_f32(data: TensorData) -> Result<Vec<f32>> {
    data.try_into_vec_as::<f32>()
        .map_err(|e| read_failed(format!("{e:?}")))
}

fn read_failed(reason: String) -> MergeError {
    MergeError::Unsupported(format!("reading inference results: {reason}"))
}

/// Token ids must index the embedding; a tokenizer from another model is the usual cause.
pub(crate) fn check_vocab(model: &Model, tokens: &[u32]) -> Result<()> {
    let vocab = model.vocab_size();
    match tokens.iter().find(|&&t| t as usize >= vocab) {
        Some(t) => Err(MergeError::Unsupported(format!(
            "token id {t} is outside the model's vocabulary ({vocab}); is the tokenizer this model's?"
        ))),
        None => Ok(()),
    }
}
