//! How each task vector is thinned before it is combined: the first switch of generalized task
//! arithmetic. A sparsifier sees the deltas of one input (x − base) and scales each element by
//! 0 (dropped) or its keep factor, after any whole-tensor statistics passes it asks for.

use super::catalog::MethodKind;

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
}

pub struct Dense;

impl Sparsifier for Dense {
    fn apply(&self, _start: usize, _deltas: &mut [f32]) {}
}
