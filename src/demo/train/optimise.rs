//! The training loop: packed rows of examples, weighted next-token loss through the inference
//! `Llama` on burn's autodiff, AdamW (burn's) with warm-up and cosine decay, the rows of a step
//! split into a fixed number of shards whose gradients are computed on threads of their own and
//! summed in shard order (so the result depends on the shard count, never on the core count).

use std::f64::consts::PI;

use burn::optim::{AdamW, AdamWConfig, AdamWState, Optimizer};
use burn::prelude::{Device, Int, Tensor, TensorData};
use burn::tensor::activation::log_softmax;
use serde_json::Value;

use super::weights::DemoWeights;
use crate::demo::tasks::{TaskExample, END};
use crate::demo::vocab::token_of;
use crate::error::{MergeError, Result};
use crate::eval::perplexity::data_f32;
use crate::model::Model;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrainOptions {
    pub steps: usize,
    /// Rows per step; each row is one forward pass.
    pub rows: usize,
    /// Tokens per row (examples packed back to back).
    pub row_len: usize,
    pub peak_lr: f64,
    /// Only answers (and their end) count in the loss; otherwise every token.
    pub answers_only: bool,
    /// The rows of a step are split into this many groups, each differentiated on its own thread
    /// (burn's CPU backend keeps one backward pass on one core).
    pub shards: usize,
    /// The token embedding, the output head and every norm keep their values (fine-tuning).
    pub freeze_embeddings_and_norms: bool,
}

impl TrainOptions {
    /// Whether `tensor` is trained under these options.
    pub fn trains(&self, tensor: &str) -> bool {
        !(self.freeze_embeddings_and_norms && is_embedding_or_norm(tensor))
    }
}

/// The token embedding, the output head and the RMSNorm gains (Hugging Face Llama names).
pub fn is_embedding_or_norm(tensor: &str) -> bool {
    tensor.contains("embed_tokens")
        || tensor.starts_with("lm_head")
        || tensor.ends_with("norm.weight")
}

/// Inputs and weighted targets of one row: `tokens[i + 1]` is predicted from `tokens[..=i]`.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainRow {
    pub tokens: Vec<u32>,
    pub weights: Vec<f32>,
}

/// Fills a row of `len` predictions with examples from `next`, back to back.
pub fn pack_row(next: &mut dyn FnMut() -> TaskExample, len: usize, answers_only: bool) -> TrainRow {
    let mut tokens = Vec::with_capacity(len + 24);
    let mut counted = Vec::with_capacity(len + 24);
    while tokens.len() <= len {
        let example = next();
        for c in example.prompt.chars() {
            tokens.push(token_of(c).expect("generated text stays in the alphabet"));
            counted.push(!answers_only);
        }
        for c in example.answer.chars().chain([END]) {
            tokens.push(token_of(c).expect("generated text stays in the alphabet"));
            counted.push(true);
        }
    }
    tokens.truncate(len + 1);
    let weights = counted[1..=len]
        .iter()
        .map(|&c| f32::from(u8::from(c)))
        .collect();
    TrainRow { tokens, weights }
}

/// Trains `weights` (a Llama per `config`) on rows from `rows_for_step`; returns each step's loss.
pub fn train(
    weights: &mut DemoWeights,
    config: &Value,
    options: &TrainOptions,
    rows_for_step: &mut dyn FnMut() -> Vec<TrainRow>,
    on_step: &mut dyn FnMut(usize, f32),
) -> Result<Vec<f32>> {
    let device = weights.weights[0].value.device().autodiff();
    let optimiser: AdamW = AdamWConfig::new().with_weight_decay(0.0).build();
    let trained: Vec<bool> = weights
        .weights
        .iter()
        .map(|w| options.trains(&w.name))
        .collect();
    let mut states: Vec<Option<AdamWState<2>>> = vec![None; weights.weights.len()];
    let mut losses = Vec::with_capacity(options.steps);
    for step in 0..options.steps {
        let rows = rows_for_step();
        let total_weight: f32 = rows.iter().flat_map(|r| &r.weights).sum();
        if total_weight == 0.0 {
            return Err(MergeError::Unsupported(
                "a training batch with nothing to predict".into(),
            ));
        }
        let shard_len = rows.len().div_ceil(options.shards.max(1));
        let shards: Vec<Result<ShardGradients>> = std::thread::scope(|scope| {
            let handles: Vec<_> = rows
                .chunks(shard_len)
                .map(|shard| {
                    let (weights, trained, device) = (&*weights, &trained, &device);
                    scope.spawn(move || {
                        shard_gradients(weights, trained, config, shard, total_weight, device)
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("a training shard's thread panicked"))
                .collect()
        });
        let mut sum: Option<ShardGradients> = None;
        for shard in shards {
            let shard = shard?;
            sum = Some(match sum {
                None => shard,
                Some(mut total) => {
                    total.loss += shard.loss;
                    for (t, g) in total.grads.iter_mut().zip(shard.grads) {
                        *t = match (t.take(), g) {
                            (Some(a), Some(b)) => Some(a + b),
                            (a, b) => a.or(b),
                        };
                    }
                    total
                }
            });
        }
        let sum = sum.expect("at least one shard");
        let lr = learning_rate(options, step);
        for ((weight, grad), state) in weights.weights.iter_mut().zip(sum.grads).zip(&mut states) {
            if let Some(grad) = grad {
                let (updated, next) = optimiser.step(lr, weight.value.clone(), grad, state.take());
                weight.value = updated;
                *state = next;
            }
        }
        on_step(step, sum.loss);
        losses.push(sum.loss);
    }
    Ok(losses)
}

/// One shard's share of a step: the gradient of its rows' weighted loss over the whole batch's
/// weight (so shard gradients add up to the batch's), `None` for tensors not trained.
struct ShardGradients {
    grads: Vec<Option<Tensor<2>>>,
    loss: f32,
}

fn shard_gradients(
    weights: &DemoWeights,
    trained: &[bool],
    config: &Value,
    rows: &[TrainRow],
    total_weight: f32,
    device: &Device,
) -> Result<ShardGradients> {
    let leaves = weights.leaves(trained);
    let model = pollster::block_on(Model::load(config, &leaves, device))?;
    let loss = weighted_nll_sum(&model, rows, device)? / total_weight as f64;
    let value = data_f32(loss.clone().into_data())?[0];
    let gradients = loss.backward();
    let grads = weights
        .weights
        .iter()
        .zip(&leaves.leaves)
        .zip(trained)
        .map(|((weight, leaf), &trained)| match trained {
            false => Ok(None),
            true => leaf.grad(&gradients).map(Some).ok_or_else(|| {
                MergeError::Unsupported(format!("no gradient reached {}", weight.name))
            }),
        })
        .collect::<Result<_>>()?;
    Ok(ShardGradients { grads, loss: value })
}

/// Mean weighted negative log-likelihood over all rows, one scalar `[1]` to differentiate.
pub fn batch_loss(model: &Model, rows: &[TrainRow], device: &Device) -> Result<Tensor<1>> {
    let total_weight: f32 = rows.iter().flat_map(|r| &r.weights).sum();
    if total_weight == 0.0 {
        return Err(MergeError::Unsupported(
            "a training batch with nothing to predict".into(),
        ));
    }
    Ok(weighted_nll_sum(model, rows, device)? / total_weight as f64)
}

/// The weighted negative log-likelihood summed over `rows`.
fn weighted_nll_sum(model: &Model, rows: &[TrainRow], device: &Device) -> Result<Tensor<1>> {
    let mut sum: Option<Tensor<1>> = None;
    for row in rows {
        let len = row.weights.len();
        let inputs = &row.tokens[..len];
        let logits = model.forward(inputs, &mut model.new_cache())?;
        let targets: Vec<i64> = row.tokens[1..=len].iter().map(|&t| t as i64).collect();
        let targets = Tensor::<2, Int>::from_data(TensorData::new(targets, [len, 1]), device);
        let weights = Tensor::<1>::from_data(TensorData::new(row.weights.clone(), [len]), device);
        let picked = log_softmax(logits, 1).gather(1, targets).reshape([len]);
        let row_sum = (picked * weights).sum();
        sum = Some(match sum {
            Some(s) => s + row_sum,
            None => row_sum,
        });
    }
    Ok(sum
        .ok_or_else(|| MergeError::Unsupported("a training shard without rows".into()))?
        .neg())
}

/// Linear warm-up over the first 10% of steps (fresh Adam moments move every coordinate by the
/// full rate), then cosine decay to a tenth of the peak.
fn learning_rate(options: &TrainOptions, step: usize) -> f64 {
    let warmup = (options.steps / 10).max(1);
    if step < warmup {
        return options.peak_lr * (step + 1) as f64 / warmup as f64;
    }
    let progress = (step - warmup) as f64 / (options.steps - warmup).max(1) as f64;
    let floor = 0.1 * options.peak_lr;
    floor + (options.peak_lr - floor) * 0.5 * (1.0 + (PI * progress).cos())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_weigh_only_answers_and_their_end_when_asked() {
        let mut examples = std::iter::repeat(TaskExample {
            prompt: "1+2=".into(),
            answer: "3".into(),
        });
        let row = pack_row(&mut || examples.next().unwrap(), 9, true);
        // "1+2=3\n1+2=3\n": targets are tokens 1..=9, i.e. "+2=3\n1+2=".
        assert_eq!(row.tokens.len(), 10);
        assert_eq!(row.weights, [0., 0., 0., 1., 1., 0., 0., 0., 0.]);
    }
}
