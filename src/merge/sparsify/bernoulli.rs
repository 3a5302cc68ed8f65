//! DARE (`bernoulli`): keep each element with probability `density`, decided by the
//! counter-based stream so the mask is a pure function of (seed, tensor, input, index).
//! L1 rescale needs one pass (Σ|δ| and Σ|kept|); `inverse` and off need none.

use super::l1::L1Sums;
use super::wide::wide_fn;
use super::{l1_factor, Rescale, Sparsifier};
use crate::merge::rng::Stream;

pub struct Bernoulli {
    stream: Stream,
    density: f32,
    passes: usize,
    sums: L1Sums,
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
            sums: L1Sums::default(),
            factor: match rescale {
                Rescale::Inverse if keeps_some => (1.0 / density) as f32,
                _ => 1.0,
            },
        }
    }
}

impl Sparsifier for Bernoulli {
    fn stat_passes(&self) -> usize {
        self.passes
    }

    fn observe(&mut self, _pass: usize, start: usize, deltas: &[f32]) {
        add_l1(&mut self.sums, start, deltas, self.stream, self.density);
    }

    fn finish_pass(&mut self, _pass: usize) {
        let (total, kept) = self.sums.totals();
        self.factor = l1_factor(total, kept);
    }

    fn apply(&self, start: usize, deltas: &mut [f32]) {
        keep_scaled(deltas, start, self.stream, self.density, self.factor);
    }
}

wide_fn! {
    /// Σ|δ| and Σ|kept δ| of elements from `start`.
    fn add_l1(sums: &mut L1Sums, start: usize, deltas: &[f32], stream: Stream, density: f32) {
        sums.add(start, deltas, |index, _| stream.uniform(index as u32) < density);
    }
}

wide_fn! {
    /// Kept elements × factor, dropped ones 0.
    fn keep_scaled(deltas: &mut [f32], start: usize, stream: Stream, density: f32, factor: f32) {
        // Indices are below 2^32 (checked when the sparsifier is built).
        let first = start as u32;
        for (i, d) in deltas.iter_mut().enumerate() {
            let keep = stream.uniform(first.wrapping_add(i as u32)) < density;
            *d = if keep { *d * factor } else { 0.0 };
        }
    }
}
