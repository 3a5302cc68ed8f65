//! How each task vector is thinned before it is combined: the first switch of generalized task
//! arithmetic. A sparsifier sees the deltas of one input (x − base) and scales each element by
//! 0 (dropped) or its keep factor, after any whole-tensor statistics passes it asks for.
//!
//! Statistics passes per input, per tensor (each re-reads the tensor):
//! | sparsifier | passes | what they gather |
//! | --- | --- | --- |
//! | dense, density ≥ 1, density ≤ 0 | 0 | — |
//! | magnitude, magnitude_outliers | 1 when the first 64Ki elements predict the cut (3 or 4 declared until then), else 1 + 2 or 3 | windowed select ([`sampled_select`]), radix select ([`topk`]) when it misses; L1 sums with `rescale: true` |
//! | bernoulli, della_magprune | 1 with L1 rescale, else 0 | Σ\|δ\| and Σ\|kept\|; each keep decision, as one bit per element (1/8 byte) for the merge pass |

mod bernoulli;
#[cfg(test)]
mod chunked_testing;
mod della;
mod keep_bits;
mod l1;
mod magnitude;
mod sampled_select;
pub mod topk;
pub mod wide;
mod word_pool;

pub use bernoulli::Bernoulli;
pub use della::DellaMagprune;
pub use magnitude::MagnitudeWindow;

use super::catalog::{encoded, MethodKind};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SparsifyKind {
    /// Keep every element (task arithmetic).
    Dense,
    /// Keep the top `density` fraction by magnitude, per tensor (TIES).
    Magnitude,
    /// Keep each element with probability `density` (DARE).
    Bernoulli,
    /// Drop the largest `gamma` and smallest fraction so `density` remains (breadcrumbs).
    MagnitudeOutliers,
    /// Keep probability rising with per-row magnitude rank (DELLA).
    DellaMagprune,
}

impl SparsifyKind {
    pub fn of(method: MethodKind) -> Option<Self> {
        use MethodKind::*;
        Some(match method {
            TaskArithmetic => SparsifyKind::Dense,
            Ties => SparsifyKind::Magnitude,
            DareLinear | DareTies => SparsifyKind::Bernoulli,
            Breadcrumbs | BreadcrumbsTies => SparsifyKind::MagnitudeOutliers,
            Della | DellaLinear => SparsifyKind::DellaMagprune,
            _ => return None,
        })
    }
}

/// One input's sparsification state for one tensor.
pub trait Sparsifier: Send + Sync {
    /// Passes still wanted in all; may shrink after a `finish_pass` (never grows).
    fn stat_passes(&self) -> usize {
        0
    }

    /// `deltas` are the unweighted deltas of elements `start..start + deltas.len()`.
    fn observe(&mut self, _pass: usize, _start: usize, _deltas: &[f32]) {}

    fn finish_pass(&mut self, _pass: usize) {}

    fn row_alignment(&self) -> usize {
        1
    }

    /// Scales `deltas` (elements from `start`) in place: 0 where dropped, rescaled where kept.
    fn apply(&self, start: usize, deltas: &mut [f32]);

    /// `deltas` = apply(input − base) × weight: one call per block of the merge, which a
    /// sparsifier may fuse into one loop (same arithmetic, same order).
    fn apply_weighted(
        &self,
        start: usize,
        input: &[f32],
        base: &[f32],
        weight: f32,
        deltas: &mut [f32],
    ) {
        apply_then_weigh(self, start, input, base, weight, deltas);
    }
}

/// `apply_weighted` in three steps: subtract, [`Sparsifier::apply`], multiply by the weight.
pub(crate) fn apply_then_weigh<S: Sparsifier + ?Sized>(
    sparsifier: &S,
    start: usize,
    input: &[f32],
    base: &[f32],
    weight: f32,
    deltas: &mut [f32],
) {
    for ((d, &x), &b) in deltas.iter_mut().zip(input).zip(base) {
        *d = x - b;
    }
    sparsifier.apply(start, deltas);
    deltas.iter_mut().for_each(|d| *d *= weight);
}

pub struct Dense;

impl Sparsifier for Dense {
    fn apply(&self, _start: usize, _deltas: &mut [f32]) {}
}

/// How kept elements are scaled (`rescale:`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rescale {
    Off,
    /// Kept elements × Σ|δ| / Σ|kept| (mergekit's `rescale: true`).
    L1,
    /// Kept elements ÷ their keep probability.
    Inverse,
}

impl Rescale {
    pub fn of(encoded_value: f64) -> Self {
        if encoded_value == encoded::RESCALE_L1 {
            Rescale::L1
        } else if encoded_value == encoded::RESCALE_INVERSE {
            Rescale::Inverse
        } else {
            Rescale::Off
        }
    }
}

/// mergekit's L1 rescale factor: skipped (1) when either norm is below 1e-7.
pub fn l1_factor(total: f64, kept: f64) -> f32 {
    if total < 1e-7 || kept < 1e-7 {
        1.0
    } else {
        (total / kept) as f32
    }
}
