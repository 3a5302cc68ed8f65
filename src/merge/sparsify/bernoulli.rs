//! DARE (`bernoulli`): keep each element with probability `density`, decided by the
//! counter-based stream so the mask is a pure function of (seed, tensor, input, index).
//! L1 rescale needs one pass (Σ|δ| and Σ|kept|); `inverse` and off need none.

use super::{l1_factor, Rescale, Sparsifier};
use crate::merge::rng::Stream;

pub struct Bernoulli {
    stream: Stream,
    density: f32,
    passes: usize,
    total: f64,
    kept: f64,
    factor: f32,
}

impl Bernoulli {
    /// The caller handles density ≥ 1 (keep all, no rescale, as mergekit).
    pub fn new(stream: Stream, density: f64, rescale: Rescale) -> Self {
        let keeps_some = density > 0.0;
        Bernoulli {
            stream,
            density: density as f32,
            passes: usize::from(rescale == Rescale::L1 && keeps_some),
            total: 0.0,
            kept: 0.0,
            factor: match rescale {
                Rescale::Inverse if keeps_some => (1.0 / density) as f32,
                _ => 1.0,
            },
        }
    }

    #[inline]
    fn keeps(&self, index: usize) -> bool {
        self.stream.uniform(index as u32) < self.density
    }
}

impl Sparsifier for Bernoulli {
    fn stat_passes(&self) -> usize {
        self.passes
    }

    fn observe(&mut self, _pass: usize, start: usize, deltas: &[f32]) {
        let (mut total, mut kept) = (0f64, 0f64);
        for (i, d) in deltas.iter().enumerate() {
            let magnitude = d.abs() as f64;
            total += magnitude;
            kept += if self.keeps(start + i) {
                magnitude
            } else {
                0.0
            };
        }
        self.total += total;
        self.kept += kept;
    }

    fn finish_pass(&mut self, _pass: usize) {
        self.factor = l1_factor(self.total, self.kept);
    }

    fn apply(&self, start: usize, deltas: &mut [f32]) {
        let factor = self.factor;
        for (i, d) in deltas.iter_mut().enumerate() {
            *d = if self.keeps(start + i) {
                *d * factor
            } else {
                0.0
            };
        }
    }
}
