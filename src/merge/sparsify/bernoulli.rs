//! DARE (`bernoulli`): keep each element with probability `density`, decided by the
//! counter-based stream so the mask is a pure function of (seed, tensor, input, index).
//! L1 rescale needs one pass (Σ|δ| and Σ|kept|), which records every decision as a bit so the
//! merge pass reads them instead of hashing again; `inverse` and off need no pass and hash once.

use super::keep_bits::KeepBits;
use super::l1::L1Sums;
use super::wide::wide_fn;
use super::{apply_then_weigh, l1_factor, Rescale, Sparsifier};
use crate::merge::rng::Stream;

pub struct Bernoulli {
    stream: Stream,
    /// An element is kept when the top 24 bits of its draw are below this (uniform < density).
    below: u32,
    passes: usize,
    sums: L1Sums,
    /// Decisions recorded by the statistics pass; read by `apply` once the pass finished.
    kept: KeepBits,
    recorded: bool,
    factor: f32,
}

impl Bernoulli {
    /// For a tensor of `numel` elements. The caller handles density ≥ 1 (keep all, no rescale,
    /// as mergekit).
    pub fn new(stream: Stream, numel: usize, density: f64, rescale: Rescale) -> Self {
        let keeps_some = density > 0.0;
        let passes = usize::from(rescale == Rescale::L1 && keeps_some);
        Bernoulli {
            stream,
            below: keep_threshold(density as f32),
            passes,
            sums: L1Sums::default(),
            kept: if passes > 0 {
                KeepBits::with_len(numel)
            } else {
                KeepBits::default()
            },
            recorded: false,
            factor: match rescale {
                Rescale::Inverse if keeps_some => (1.0 / density) as f32,
                _ => 1.0,
            },
        }
    }
}

/// The integer form of `uniform < density`: uniform is x·2⁻²⁴ exactly (x the draw's top 24
/// bits), so it is below density exactly when x < ⌈density·2²⁴⌉.
fn keep_threshold(density: f32) -> u32 {
    (density as f64 * 16_777_216.0)
        .ceil()
        .clamp(0.0, 16_777_216.0) as u32
}

impl Sparsifier for Bernoulli {
    fn stat_passes(&self) -> usize {
        self.passes
    }

    fn observe(&mut self, _pass: usize, start: usize, deltas: &[f32]) {
        record_and_add_l1(self, start, deltas);
    }

    fn finish_pass(&mut self, _pass: usize) {
        let (total, kept) = self.sums.totals();
        self.factor = l1_factor(total, kept);
        self.recorded = true;
    }

    fn apply(&self, start: usize, deltas: &mut [f32]) {
        if self.recorded {
            self.kept.scale(start, deltas, self.factor);
        } else {
            keep_scaled(deltas, start, self.stream, self.below, self.factor);
        }
    }

    fn apply_weighted(
        &self,
        start: usize,
        input: &[f32],
        base: &[f32],
        weight: f32,
        deltas: &mut [f32],
    ) {
        if !self.recorded {
            return apply_then_weigh(self, start, input, base, weight, deltas);
        }
        self.kept
            .scale_weighted(start, input, base, self.factor, weight, deltas);
    }
}

wide_fn! {
    /// Draws and records the decisions of elements from `start`, then adds Σ|δ| and Σ|kept δ|.
    fn record_and_add_l1(sparsifier: &mut Bernoulli, start: usize, deltas: &[f32]) {
        let (stream, below) = (sparsifier.stream, sparsifier.below);
        // Indices are below 2^32 (checked when the sparsifier is built).
        let keeps = |index: usize| stream.bits(index as u32) >> 8 < below;
        sparsifier.kept.record(start, deltas.len(), keeps);
        sparsifier.sums.add_kept_bits(start, deltas, &sparsifier.kept);
    }
}

wide_fn! {
    /// Kept elements × factor, dropped ones 0.
    fn keep_scaled(deltas: &mut [f32], start: usize, stream: Stream, below: u32, factor: f32) {
        // Indices are below 2^32 (checked when the sparsifier is built).
        let first = start as u32;
        for (i, d) in deltas.iter_mut().enumerate() {
            let keep = stream.bits(first.wrapping_add(i as u32)) >> 8 < below;
            *d = if keep { *d * factor } else { 0.0 };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merge::rng::tensor_key;
    use crate::merge::sparsify::chunked_testing::{
        assert_independent_of_chunking, odd_cuts, run_chunked,
    };

    fn noise(n: usize) -> Vec<f32> {
        let s = Stream::new(11, tensor_key("noise"), 0);
        (0..n as u32).map(|i| s.uniform(i) * 2.0 - 1.0).collect()
    }

    fn bits(values: &[f32]) -> Vec<u32> {
        values.iter().map(|v| v.to_bits()).collect()
    }

    #[test]
    fn recorded_masks_equal_drawn_masks_for_any_chunking_and_threads() {
        let n = 50_000;
        let deltas = noise(n);
        let stream = Stream::new(5, tensor_key("w"), 1);
        let mut whole = Bernoulli::new(stream, n, 0.3, Rescale::L1);
        let reference = run_chunked(&mut whole, &deltas, n, &[], 1);
        assert!(whole.recorded && whole.factor > 1.0);
        // What `apply` computed before masks were recorded: draw again, same factor.
        let mut drawn = deltas.clone();
        keep_scaled(&mut drawn, 0, stream, keep_threshold(0.3), whole.factor);
        assert_eq!(bits(&reference), bits(&drawn));
        let kept = reference.iter().filter(|v| **v != 0.0).count() as f64 / n as f64;
        assert!((kept - 0.3).abs() < 0.01, "kept fraction {kept}");
        let make = || Bernoulli::new(stream, n, 0.3, Rescale::L1);
        let factor = |b: &Bernoulli| b.factor;
        let chunks = [1, 77, 1024, n];
        assert_independent_of_chunking(make, factor, &deltas, &chunks, (&reference, whole.factor));
    }

    #[test]
    fn without_statistics_the_mask_is_drawn_in_apply() {
        let n = 10_000;
        let deltas = noise(n);
        let stream = Stream::new(6, tensor_key("w"), 0);
        for (rescale, factor) in [(Rescale::Off, 1.0), (Rescale::Inverse, 1.0 / 0.4)] {
            let mut sparsifier = Bernoulli::new(stream, n, 0.4, rescale);
            assert_eq!(sparsifier.stat_passes(), 0);
            let out = run_chunked(&mut sparsifier, &deltas, n, &odd_cuts(n, 999), 2);
            let mut drawn = deltas.clone();
            keep_scaled(&mut drawn, 0, stream, keep_threshold(0.4), factor as f32);
            assert_eq!(bits(&out), bits(&drawn), "{rescale:?}");
        }
    }

    #[test]
    fn the_integer_threshold_is_exactly_uniform_below_density() {
        let s = Stream::new(0, 0, 0);
        let densities = [
            0.0,
            1e-9,
            0.3,
            0.5,
            0.7,
            0.99999994,
            1.0,
            f32::from_bits(0x3e99_999a),
        ];
        for density in densities {
            let below = keep_threshold(density);
            // Every value uniform can take, and the stream's own draws.
            for x in (0..1u32 << 24)
                .step_by(997)
                .chain([below.saturating_sub(1), below])
            {
                let u = x as f32 * (1.0 / 16_777_216.0);
                assert_eq!(x < below, u < density, "density {density}, x {x}");
            }
            for i in 0..10_000 {
                assert_eq!(s.bits(i) >> 8 < below, s.uniform(i) < density);
            }
        }
    }
}
