//! Weighted means on the unit hypersphere: `multislerp` (one tangent-space step at the
//! normalised weighted mean) and `karcher` (the iterated Riemannian mean, uniform weights).
//!
//! Every intermediate point of both algorithms is a linear combination of the (normalised)
//! inputs, so they run on coefficient vectors against the inputs' Gram matrix: one statistics
//! pass whatever `max_iter` is, then out = [base +] Σ cᵢ·vᵢ.

use super::stats::{combine, task_vectors, Gram};
use super::{Chunk, TensorMerge, TensorRecipe};
use crate::error::{MergeError, Result};

fn no_inputs(recipe: &TensorRecipe) -> MergeError {
    MergeError::Unsupported(format!(
        "`{}` needs at least one model to merge (tensor `{}`)",
        recipe.method.key(),
        recipe.name
    ))
}

/// Multi-SLERP: unit vectors uᵢ = vᵢ/(‖vᵢ‖+eps) with vᵢ = xᵢ − base; mean m = Σwᵢuᵢ normalised;
/// tangent τ = Σ wᵢ(uᵢ − (uᵢ·m)m); out = base + Σwᵢ‖vᵢ‖ · (m cos‖τ‖ + τ sin‖τ‖/‖τ‖).
use super::catalog::{
    decl, BasePolicy, GpuRoute, MethodDescriptor, MethodKind, Paper, ParamDecl, ParamName, Scope,
    ANY_NUMBER, NON_NEGATIVE, WEIGHT_REQUIRED,
};

pub static MULTISLERP: MethodDescriptor = MethodDescriptor {
    kind: MethodKind::Multislerp,
    key: "multislerp",
    base: BasePolicy::Optional,
    merges_listed_base: false,
    arity: ANY_NUMBER,
    random: false,
    params: &MULTISLERP_PARAMS,
    cpu: |r| Ok(Box::new(Multislerp::new(r)?)),
    gpu: Some(GpuRoute::Multislerp),
    paper: None,
};
const MULTISLERP_PARAMS: [ParamDecl; 2] = [
    WEIGHT_REQUIRED,
    decl(ParamName::Eps, Scope::Global, NON_NEGATIVE, Some(1e-8)),
];

pub static KARCHER: MethodDescriptor = MethodDescriptor {
    kind: MethodKind::Karcher,
    key: "karcher",
    base: BasePolicy::Optional,
    merges_listed_base: true,
    arity: ANY_NUMBER,
    random: false,
    params: &KARCHER_PARAMS,
    cpu: |r| Ok(Box::new(Karcher::new(r)?)),
    gpu: Some(GpuRoute::Karcher),
    paper: Some(Paper {
        name: "Karcher mean",
        url: "https://en.wikipedia.org/wiki/Karcher_mean",
    }),
};
const KARCHER_PARAMS: [ParamDecl; 2] = [
    decl(ParamName::MaxIter, Scope::Global, NON_NEGATIVE, Some(10.0)),
    decl(ParamName::Tol, Scope::Global, NON_NEGATIVE, Some(1e-5)),
];

pub struct Multislerp {
    /// Normalised to sum 1.
    weights: Vec<f64>,
    eps: f64,
    gram: Gram,
    coefs: Vec<f32>,
}

impl Multislerp {
    pub fn new(recipe: &TensorRecipe) -> Result<Self> {
        let n = recipe.per_input.len();
        if n == 0 {
            return Err(no_inputs(recipe));
        }
        let raw: Vec<f64> = (0..n)
            .map(|i| recipe.per_input(i, ParamName::Weight))
            .collect();
        let total: f64 = raw.iter().sum();
        Ok(Multislerp {
            weights: raw.iter().map(|w| w / total).collect(),
            eps: recipe.global(ParamName::Eps),
            gram: Gram::new(n),
            coefs: Vec::new(),
        })
    }

    /// The coefficients of the task vectors for their Gram matrix gathered elsewhere.
    pub fn coefs_for(&mut self, gram: Gram) -> &[f32] {
        self.gram = gram;
        self.finish_pass(0);
        &self.coefs
    }

    fn coefficients(&self) -> Vec<f64> {
        let (w, eps) = (&self.weights, self.eps);
        let scales: Vec<f64> = (0..w.len()).map(|i| self.gram.norm(i) + eps).collect();
        let units = self.gram.scaled(&scales);
        let mean_norm = units.bilinear(w, w).max(0.0).sqrt();
        if mean_norm < eps {
            // mergekit lerps two antipodal task vectors (and raises for more); we lerp always.
            return w.clone();
        }
        let mean: Vec<f64> = w.iter().map(|wi| wi / mean_norm).collect();
        let pull: f64 = (0..w.len())
            .map(|i| w[i] * units.bilinear(&unit_vector(w.len(), i), &mean))
            .sum();
        let tangent: Vec<f64> = w.iter().zip(&mean).map(|(wi, mi)| wi - pull * mi).collect();
        let tn = units.bilinear(&tangent, &tangent).max(0.0).sqrt() + eps;
        let avg_norm: f64 = (0..w.len()).map(|i| self.gram.norm(i) * w[i]).sum();
        (0..w.len())
            .map(|i| (mean[i] * tn.cos() + tangent[i] * (tn.sin() / tn)) * avg_norm / scales[i])
            .collect()
    }
}

fn unit_vector(n: usize, i: usize) -> Vec<f64> {
    let mut e = vec![0.0; n];
    e[i] = 1.0;
    e
}

impl TensorMerge for Multislerp {
    fn stat_passes(&self) -> usize {
        (self.weights.len() > 1) as usize
    }

    fn observe(&mut self, _pass: usize, chunk: &Chunk<'_>) {
        self.gram.add(chunk.start, &task_vectors(chunk, true));
    }

    fn finish_pass(&mut self, _pass: usize) {
        self.coefs = self.coefficients().iter().map(|&c| c as f32).collect();
    }

    fn apply(&self, chunk: &Chunk<'_>, out: &mut [f32]) {
        if self.weights.len() == 1 {
            // A single model is returned as it is, base or not (mergekit).
            out.copy_from_slice(chunk.inputs[0]);
            return;
        }
        let v = task_vectors(chunk, true);
        let v: Vec<&[f32]> = v.iter().map(Vec::as_slice).collect();
        combine(&v, &self.coefs, chunk.base, out);
    }
}

/// Karcher mean of the inputs' directions with uniform weights, scaled by their mean norm.
pub struct Karcher {
    max_iter: usize,
    tol: f64,
    gram: Gram,
    coefs: Vec<f32>,
}

impl Karcher {
    pub fn new(recipe: &TensorRecipe) -> Result<Self> {
        let n = recipe.per_input.len();
        if n == 0 {
            return Err(no_inputs(recipe));
        }
        Ok(Karcher {
            max_iter: recipe.global(ParamName::MaxIter).max(0.0) as usize,
            tol: recipe.global(ParamName::Tol),
            gram: Gram::new(n),
            coefs: Vec::new(),
        })
    }

    /// The coefficients of the inputs for their Gram matrix gathered elsewhere.
    pub fn coefs_for(&mut self, gram: Gram) -> &[f32] {
        self.gram = gram;
        self.finish_pass(0);
        &self.coefs
    }

    /// The mean as coefficients over the unit vectors uᵢ = xᵢ/‖xᵢ‖, then over the xᵢ.
    fn coefficients(&self) -> Vec<f64> {
        let n = self.gram.len();
        let tol = self.tol;
        let norms: Vec<f64> = (0..n).map(|i| self.gram.norm(i)).collect();
        let valid: Vec<usize> = (0..n).filter(|&i| norms[i] > tol).collect();
        if valid.is_empty() {
            return vec![0.0; n];
        }
        let scales: Vec<f64> = norms
            .iter()
            .map(|&x| if x > 0.0 { x } else { 1.0 })
            .collect();
        let units = self.gram.scaled(&scales);
        let alpha = 1.0 / valid.len() as f64;
        let norm_of = |c: &[f64]| units.bilinear(c, c).max(0.0).sqrt();

        let mut mean = vec![0.0; n];
        for &i in &valid {
            mean[i] = alpha;
        }
        let mean_norm = norm_of(&mean);
        if mean_norm < tol {
            mean = unit_vector(n, valid[0]);
        } else {
            mean.iter_mut().for_each(|m| *m /= mean_norm);
        }
        for _ in 0..self.max_iter {
            let mut tangent = vec![0.0; n];
            for &i in &valid {
                let dot = units.bilinear(&unit_vector(n, i), &mean).clamp(-1.0, 1.0);
                let theta = dot.acos();
                if theta < tol {
                    continue;
                }
                let k = alpha * theta / theta.sin();
                tangent[i] += k;
                for (t, m) in tangent.iter_mut().zip(&mean) {
                    *t -= k * dot * m;
                }
            }
            let tn = norm_of(&tangent);
            if tn < tol {
                break;
            }
            for (m, t) in mean.iter_mut().zip(&tangent) {
                *m = tn.cos() * *m + tn.sin() * t / tn;
            }
            let un = norm_of(&mean);
            if un > tol {
                mean.iter_mut().for_each(|m| *m /= un);
            }
        }
        // Σ αᵢ‖xᵢ‖ with the original uniform weights, zero-norm inputs included (mergekit).
        let scale: f64 = norms.iter().sum::<f64>() / n as f64;
        (0..n).map(|i| scale * mean[i] / scales[i]).collect()
    }
}

impl TensorMerge for Karcher {
    fn stat_passes(&self) -> usize {
        (self.gram.len() > 1) as usize
    }

    fn observe(&mut self, _pass: usize, chunk: &Chunk<'_>) {
        self.gram.add(chunk.start, chunk.inputs);
    }

    fn finish_pass(&mut self, _pass: usize) {
        self.coefs = self.coefficients().iter().map(|&c| c as f32).collect();
    }

    fn apply(&self, chunk: &Chunk<'_>, out: &mut [f32]) {
        if self.gram.len() == 1 {
            out.copy_from_slice(chunk.inputs[0]);
            return;
        }
        combine(chunk.inputs, &self.coefs, None, out);
    }
}
