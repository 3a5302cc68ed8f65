//! `arcee_fusion`: take the model's value where its change matters most.
//! importance = |x − base| · KL(softmax(x row) + 1e-8 ‖ softmax(base row) + 1e-8), per last-axis
//! row; threshold = median + 1.5·IQR of the importance (quantile i = ⌊q·(n−1)⌋ of the sorted
//! values), out = base + (x − base)·[importance ≥ threshold].
//!
//! One statistics pass. Above 1,000,000 elements the quantiles come from 1,000,000 positions drawn
//! with replacement (mergekit's `torch.randint`) — here from the counter RNG, so a seed always
//! gives the same sample.

use super::catalog::{BasePolicy, GpuRoute, MethodDescriptor, MethodKind, ParamDecl};
use super::rng::{tensor_key, Stream};
use super::{Chunk, TensorMerge, TensorRecipe};
use crate::error::{MergeError, Result};

/// arcee_fusion samples positions for its quantiles above 1,000,000 elements.
pub static ARCEE_FUSION: MethodDescriptor = MethodDescriptor {
    kind: MethodKind::ArceeFusion,
    key: "arcee_fusion",
    base: BasePolicy::Required,
    merges_listed_base: false,
    arity: (1, 1),
    random: true,
    params: &ARCEE_FUSION_PARAMS,
    cpu: |r| Ok(Box::new(ArceeFusion::new(r)?)),
    gpu: Some(GpuRoute::ArceeFusion),
    paper: None,
};
const ARCEE_FUSION_PARAMS: [ParamDecl; 0] = [];

pub const QUANTILE_SAMPLE: usize = 1_000_000;

pub struct ArceeFusion {
    row_len: usize,
    /// Sorted sampled element positions (repeats allowed); `None`: every element.
    positions: Option<Vec<u64>>,
    cursor: usize,
    values: Vec<f32>,
    threshold: f32,
}

impl ArceeFusion {
    pub fn new(recipe: &TensorRecipe) -> Result<Self> {
        if !recipe.has_base || recipe.per_input.len() != 1 {
            return Err(MergeError::Unsupported(format!(
                "`arcee_fusion` merges a base and exactly one other model (tensor `{}`)",
                recipe.name
            )));
        }
        let numel = recipe.numel();
        let positions = (numel > QUANTILE_SAMPLE)
            .then(|| sample_positions(recipe.seed, &recipe.name, numel as u64));
        Ok(ArceeFusion {
            row_len: recipe.row_len(),
            values: Vec::with_capacity(numel.min(QUANTILE_SAMPLE)),
            positions,
            cursor: 0,
            threshold: 0.0,
        })
    }
}

/// `QUANTILE_SAMPLE` uniform positions in [0, numel), sorted, from the tensor's random stream.
pub fn sample_positions(seed: u64, tensor: &str, numel: u64) -> Vec<u64> {
    let stream = Stream::new(seed, tensor_key(tensor), 0);
    let mut positions: Vec<u64> = (0..QUANTILE_SAMPLE as u32)
        .map(|j| {
            let r = (stream.bits(2 * j) as u64) << 32 | stream.bits(2 * j + 1) as u64;
            ((r as u128 * numel as u128) >> 64) as u64
        })
        .collect();
    positions.sort_unstable();
    positions
}

/// KL(p ‖ q) of the softmaxes of two logit rows, each probability shifted by 1e-8.
fn row_divergence(x: &[f32], base: &[f32]) -> f64 {
    fn softmax(v: &[f32]) -> Vec<f64> {
        let max = v.iter().fold(f64::NEG_INFINITY, |m, &x| m.max(x as f64));
        let exp: Vec<f64> = v.iter().map(|&x| (x as f64 - max).exp()).collect();
        let total: f64 = exp.iter().sum();
        exp.into_iter().map(|e| e / total + 1e-8).collect()
    }
    let (p, q) = (softmax(x), softmax(base));
    p.iter().zip(&q).map(|(p, q)| p * (p / q).ln()).sum()
}

/// The divergence of every row of a chunk of whole rows (what the GPU path uploads).
pub fn row_divergences(row_len: usize, base: &[f32], x: &[f32]) -> Vec<f32> {
    x.chunks(row_len)
        .zip(base.chunks(row_len))
        .map(|(xr, br)| row_divergence(xr, br) as f32)
        .collect()
}

/// Importance of every element of a chunk of whole rows, given the rows' divergences.
fn importance(row_len: usize, divergences: &[f32], base: &[f32], x: &[f32]) -> Vec<f32> {
    let mut out = Vec::with_capacity(x.len());
    for ((xr, br), &kl) in x.chunks(row_len).zip(base.chunks(row_len)).zip(divergences) {
        out.extend(xr.iter().zip(br).map(|(x, b)| (x - b).abs() * kl));
    }
    out
}

impl ArceeFusion {
    /// The statistics pass over a chunk whose rows' divergences are already known.
    pub fn observe_rows(&mut self, start: usize, divergences: &[f32], base: &[f32], x: &[f32]) {
        let scores = importance(self.row_len, divergences, base, x);
        let Some(positions) = &self.positions else {
            self.values.extend_from_slice(&scores);
            return;
        };
        let end = (start + scores.len()) as u64;
        while let Some(&p) = positions.get(self.cursor).filter(|&&p| p < end) {
            self.values.push(scores[p as usize - start]);
            self.cursor += 1;
        }
    }

    /// median + 1.5·IQR of the importance, once the statistics pass has finished.
    pub fn threshold(&self) -> f32 {
        self.threshold
    }
}

impl TensorMerge for ArceeFusion {
    fn stat_passes(&self) -> usize {
        1
    }

    fn observe(&mut self, _pass: usize, chunk: &Chunk<'_>) {
        let base = chunk.base.expect("arcee_fusion needs a base model");
        let x = chunk.inputs[0];
        self.observe_rows(
            chunk.start,
            &row_divergences(self.row_len, base, x),
            base,
            x,
        );
    }

    fn finish_pass(&mut self, _pass: usize) {
        let mut values = std::mem::take(&mut self.values);
        if values.is_empty() {
            return;
        }
        values.sort_unstable_by(f32::total_cmp);
        let quantile = |q: f64| values[(q * (values.len() - 1) as f64) as usize];
        let (q1, median, q3) = (quantile(0.25), quantile(0.5), quantile(0.75));
        self.threshold = median + 1.5 * (q3 - q1);
    }

    fn row_alignment(&self) -> usize {
        self.row_len
    }

    fn apply(&self, chunk: &Chunk<'_>, out: &mut [f32]) {
        let base = chunk.base.expect("arcee_fusion needs a base model");
        let x = chunk.inputs[0];
        let scores = importance(
            self.row_len,
            &row_divergences(self.row_len, base, x),
            base,
            x,
        );
        for (((o, &b), &x), s) in out.iter_mut().zip(base).zip(x).zip(scores) {
            let keep = if s >= self.threshold { 1.0 } else { 0.0 };
            *o = b + (x - b) * keep;
        }
    }
}
