//! The interpolation path between two experts A and B. At λ ∈ [0, 1] every method merges A and
//! B with weights 1 − λ and λ (λ is B's share): `linear` is (1 − λ)·A + λ·B; task-arithmetic
//! methods (TIES, DARE…) merge the task vectors A − base and B − base with those weights, times
//! their `scale`. M³ draws λ ~ Beta(α, α) with the mixup code and merges at the drawn λ.

use burn::prelude::Device;
use serde::Serialize;

use super::merge::{merge_models, PairMethod};
use super::{PointDone, SweepHooks, SweepModels};
use crate::demo::score::TaskScore;
use crate::error::{MergeError, Result};
use crate::merge::mixup::draw_lambda;

/// M³ samples along the path.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MixupSampling {
    /// λ ~ Beta(alpha, alpha).
    pub alpha: f64,
    pub samples: usize,
    /// Sample k draws with seed `seed + k`: the λ `mixmerge merge` draws with that mixup seed.
    pub seed: u64,
    /// The method the drawn weights are used with.
    pub method: PairMethod,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PathOptions {
    pub a: String,
    pub b: String,
    /// Grid points from λ = 0 to λ = 1 (at least 2).
    pub points: usize,
    pub methods: Vec<PairMethod>,
    pub mixup: Option<MixupSampling>,
    /// Seed of the random methods' streams (DARE).
    pub seed: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PathPoint {
    /// B's weight.
    pub lambda: f64,
    pub scores: Vec<TaskScore>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PathCurve {
    #[serde(flatten)]
    pub method: PairMethod,
    pub points: Vec<PathPoint>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MixupPoint {
    pub seed: u64,
    /// The Beta draw, A's weight as the mixup code assigns it (the first model gets λ).
    pub drawn: f64,
    /// B's weight, 1 − drawn: where the point sits on the path.
    pub lambda: f64,
    pub scores: Vec<TaskScore>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MixupReport {
    #[serde(flatten)]
    pub sampling: MixupSampling,
    pub points: Vec<MixupPoint>,
    /// `[λ, Beta(α, α) density at λ]` on an open grid of (0, 1).
    pub density: Vec<[f64; 2]>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PathReport {
    pub base: String,
    pub a: String,
    pub b: String,
    pub tasks: Vec<String>,
    pub examples_per_task: usize,
    pub seed: u64,
    pub curves: Vec<PathCurve>,
    pub mixup: Option<MixupReport>,
}

/// Merges and scores every point of the path on `device`.
pub async fn run_path<H: SweepHooks>(
    models: &SweepModels,
    options: &PathOptions,
    device: &Device,
    hooks: &mut H,
) -> Result<PathReport> {
    if options.points < 2 {
        return Err(MergeError::config(
            "points",
            "a path needs at least 2 points",
        ));
    }
    if options.methods.is_empty() && options.mixup.is_none() {
        return Err(MergeError::config(
            "methods",
            "nothing to sweep: no method and no mixup",
        ));
    }
    if let Some(m) = &options.mixup {
        if !(m.alpha.is_finite() && m.alpha > 0.0) {
            return Err(MergeError::config(
                "alpha",
                format!("must be positive, not {}", m.alpha),
            ));
        }
    }
    let (a, b) = (models.expert(&options.a)?, models.expert(&options.b)?);
    let samples = options.mixup.map_or(0, |m| m.samples);
    let mut progress = PointDone {
        done: 0,
        total: options.methods.len() * options.points + samples,
    };
    let score_at = |method: &PairMethod, lambda: f64| {
        let merged = merge_models(
            method,
            &models.base,
            &[a, b],
            &[1.0 - lambda, lambda],
            options.seed,
        );
        async move { models.score(&merged?, device).await }
    };
    let mut curves = Vec::with_capacity(options.methods.len());
    for method in &options.methods {
        let mut points = Vec::with_capacity(options.points);
        for i in 0..options.points {
            hooks.before_point().await?;
            let lambda = i as f64 / (options.points - 1) as f64;
            let scores = score_at(method, lambda).await?;
            points.push(PathPoint { lambda, scores });
            progress.done += 1;
            hooks.point_done(progress);
        }
        curves.push(PathCurve {
            method: *method,
            points,
        });
    }
    let mixup = match options.mixup {
        None => None,
        Some(sampling) => {
            let mut points = Vec::with_capacity(sampling.samples);
            for k in 0..sampling.samples as u64 {
                hooks.before_point().await?;
                let seed = sampling.seed + k;
                let drawn = draw_lambda(sampling.alpha, seed);
                let scores = score_at(&sampling.method, 1.0 - drawn).await?;
                points.push(MixupPoint {
                    seed,
                    drawn,
                    lambda: 1.0 - drawn,
                    scores,
                });
                progress.done += 1;
                hooks.point_done(progress);
            }
            Some(MixupReport {
                sampling,
                points,
                density: beta_density_curve(sampling.alpha, 99),
            })
        }
    };
    Ok(PathReport {
        base: models.base.name.clone(),
        a: a.name.clone(),
        b: b.name.clone(),
        tasks: models.scorer.task_names(),
        examples_per_task: models.examples_per_task(),
        seed: options.seed,
        curves,
        mixup,
    })
}

/// Beta(α, α) density at `n` evenly spaced points strictly inside (0, 1).
pub fn beta_density_curve(alpha: f64, n: usize) -> Vec<[f64; 2]> {
    // ln B(α, α) = 2 ln Γ(α) − ln Γ(2α)
    let ln_beta = 2.0 * libm::lgamma(alpha) - libm::lgamma(2.0 * alpha);
    (1..=n)
        .map(|i| {
            let x = i as f64 / (n + 1) as f64;
            let ln_pdf = (alpha - 1.0) * (libm::log(x) + libm::log(1.0 - x)) - ln_beta;
            [x, libm::exp(ln_pdf)]
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beta_density_is_uniform_at_one_and_integrates_to_one() {
        for [_, p] in beta_density_curve(1.0, 9) {
            assert!((p - 1.0).abs() < 1e-12, "{p}");
        }
        for alpha in [0.5, 2.0, 5.0] {
            let n = 20_000;
            let integral: f64 = beta_density_curve(alpha, n)
                .iter()
                .map(|[_, p]| p)
                .sum::<f64>()
                / (n + 1) as f64;
            // α = 0.5 loses the mass of its integrable end spikes outside the grid.
            assert!((integral - 1.0).abs() < 0.01, "alpha {alpha}: {integral}");
        }
        // Beta(2, 2) = 6 x (1 − x): 1.5 at the middle.
        let mid = beta_density_curve(2.0, 1)[0];
        assert_eq!(mid[0], 0.5);
        assert!((mid[1] - 1.5).abs() < 1e-12);
    }
}
