//! `model_stock`: cos = mean over pairs of cos(δᵢ, δⱼ) (δ = x − base, norm product clamped at
//! 1e-6), t = N·cos/(1 + (N−1)·cos) (0 when the denominator is below 1e-6 in magnitude),
//! out = t·mean(xᵢ) + (1−t)·base. Per whole tensor (one statistics pass) or, with
//! `filter_wise`, per last-axis row (no pass: each chunk holds whole rows).

use super::catalog::{
    decl, BasePolicy, GpuRoute, MethodDescriptor, MethodKind, Paper, ParamDecl, ParamKind,
    ParamName, Scope,
};
use super::stats::{task_vectors, Gram, VectorLayout};
use super::{Chunk, TensorMerge, TensorRecipe};
use crate::error::{MergeError, Result};

pub static MODEL_STOCK: MethodDescriptor = MethodDescriptor {
    kind: MethodKind::ModelStock,
    key: "model_stock",
    base: BasePolicy::Required,
    merges_listed_base: false,
    arity: (2, usize::MAX),
    random: false,
    params: &MODEL_STOCK_PARAMS,
    cpu: |r| Ok(Box::new(ModelStock::new(r)?)),
    gpu: Some(GpuRoute::ModelStock),
    paper: Some(Paper {
        name: "Model Stock",
        url: "https://arxiv.org/abs/2403.19522",
    }),
};
const MODEL_STOCK_PARAMS: [ParamDecl; 1] = [decl(
    ParamName::FilterWise,
    Scope::Global,
    ParamKind::Flag,
    Some(0.0),
)];

pub struct ModelStock {
    /// `Some(row length)` with `filter_wise`.
    rows: Option<usize>,
    gram: Gram,
    t: f32,
}

impl ModelStock {
    pub fn new(recipe: &TensorRecipe) -> Result<Self> {
        let n = recipe.per_input.len();
        if !recipe.has_base || n < 2 {
            return Err(MergeError::Unsupported(format!(
                "`model_stock` needs a base and at least two other models; tensor `{}` has {n}{}",
                recipe.name,
                if recipe.has_base { "" } else { " and no base" }
            )));
        }
        Ok(ModelStock {
            rows: recipe.flag(ParamName::FilterWise).then(|| recipe.row_len()),
            gram: Gram::new(n),
            t: 0.0,
        })
    }

    /// One vector per tensor, or per last-axis row with `filter_wise`.
    pub fn layout(&self) -> VectorLayout {
        self.rows.map_or(VectorLayout::Flat, VectorLayout::Rows)
    }
}

/// The interpolation factor from the task vectors' Gram matrix.
pub(crate) fn stock_ratio(gram: &Gram) -> f32 {
    let n = gram.len();
    let mut total = 0.0;
    let mut pairs = 0usize;
    for i in 0..n {
        for j in i + 1..n {
            let norms = (gram.norm(i) * gram.norm(j)).max(1e-6);
            total += (gram.dot(i, j) / norms).clamp(-1.0, 1.0);
            pairs += 1;
        }
    }
    let cos = total / pairs as f64;
    let denominator = 1.0 + (n as f64 - 1.0) * cos;
    if denominator.abs() < 1e-6 {
        0.0
    } else {
        (n as f64 * cos / denominator) as f32
    }
}

fn interpolate(t: f32, base: &[f32], inputs: &[&[f32]], out: &mut [f32]) {
    let count = inputs.len() as f32;
    for (e, (o, &b)) in out.iter_mut().zip(base).enumerate() {
        let mut sum = inputs[0][e];
        for x in &inputs[1..] {
            sum += x[e];
        }
        *o = t * (sum / count) + (1.0 - t) * b;
    }
}

impl TensorMerge for ModelStock {
    fn stat_passes(&self) -> usize {
        self.rows.is_none() as usize
    }

    fn observe(&mut self, _pass: usize, chunk: &Chunk<'_>) {
        self.gram.add(chunk.start, &task_vectors(chunk, true));
    }

    fn finish_pass(&mut self, _pass: usize) {
        self.t = stock_ratio(&self.gram);
    }

    fn row_alignment(&self) -> usize {
        self.rows.unwrap_or(1)
    }

    fn apply(&self, chunk: &Chunk<'_>, out: &mut [f32]) {
        let base = chunk.base.expect("model_stock needs a base model");
        let Some(len) = self.rows else {
            interpolate(self.t, base, chunk.inputs, out);
            return;
        };
        let deltas = task_vectors(chunk, true);
        for (row, o) in out.chunks_mut(len).enumerate() {
            let span = row * len..row * len + o.len();
            let mut gram = Gram::new(deltas.len());
            let row_deltas: Vec<&[f32]> = deltas.iter().map(|d| &d[span.clone()]).collect();
            gram.add(0, &row_deltas);
            let inputs: Vec<&[f32]> = chunk.inputs.iter().map(|x| &x[span.clone()]).collect();
            interpolate(stock_ratio(&gram), &base[span], &inputs, o);
        }
    }
}
