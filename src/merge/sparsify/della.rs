//! DELLA (`della_magprune`): keep probability rises linearly with the element's |δ| rank within
//! its row, p = density − ε + 2ε·(rank − 1)/(n − 1), drawn from the counter-based stream.
//! Ranks need whole rows, so chunks are row-aligned and each row is sorted inside the chunk;
//! L1 rescale needs one pass (Σ|δ| and Σ|kept|), which records every decision as a bit so the
//! merge pass neither sorts nor hashes again; `inverse` (÷p per element) and off need no pass.

use super::keep_bits::KeepBits;
use super::topk::magnitude_key;
use super::{l1_factor, Rescale, Sparsifier};
use crate::merge::rng::Stream;

pub struct DellaMagprune {
    stream: Stream,
    row_len: usize,
    /// p = lowest + rank_norm · spread.
    lowest: f32,
    spread: f32,
    rescale: Rescale,
    passes: usize,
    total: f64,
    kept: f64,
    /// Decisions recorded by the statistics pass; read by `apply` once the pass finished.
    kept_bits: KeepBits,
    recorded: bool,
    factor: f32,
}

impl DellaMagprune {
    /// The caller checks 0 < density ± ε < 1 and handles density ≥ 1.
    pub fn new(
        stream: Stream,
        row_len: usize,
        density: f64,
        epsilon: f64,
        rescale: Rescale,
    ) -> Self {
        DellaMagprune {
            stream,
            row_len: row_len.max(1),
            lowest: (density - epsilon) as f32,
            spread: (2.0 * epsilon) as f32,
            rescale,
            passes: usize::from(rescale == Rescale::L1),
            total: 0.0,
            kept: 0.0,
            kept_bits: KeepBits::default(),
            recorded: false,
            factor: 1.0,
        }
    }

    /// Keep probability of the element of magnitude rank `rank` in a row of `row_len`.
    fn probability(&self, rank: usize, row_len: usize) -> f32 {
        // A one-element row has no rank spread: it takes the middle, p = density.
        let rank_norm = if row_len == 1 {
            0.5
        } else {
            rank as f32 / (row_len - 1) as f32
        };
        self.lowest + rank_norm * self.spread
    }

    /// p of every rank of a row, as `apply` computes them (the GPU path looks them up).
    pub fn probabilities(&self) -> Vec<f32> {
        (0..self.row_len)
            .map(|rank| self.probability(rank, self.row_len))
            .collect()
    }

    /// Calls `visit(offset, p, keep)` for every element of the row-aligned chunk.
    fn visit_rows(&self, start: usize, deltas: &[f32], mut visit: impl FnMut(usize, f32, bool)) {
        debug_assert!(
            start % self.row_len == 0,
            "DELLA chunks must hold whole rows"
        );
        // (|δ| key, position in row): ascending order is rank order, ties by index.
        let mut order: Vec<u64> = Vec::with_capacity(self.row_len);
        for (r, row) in deltas.chunks(self.row_len).enumerate() {
            let row_start = r * self.row_len;
            order.clear();
            order.extend(
                row.iter()
                    .enumerate()
                    .map(|(j, &d)| (magnitude_key(d) as u64) << 32 | j as u64),
            );
            order.sort_unstable();
            for (rank, &entry) in order.iter().enumerate() {
                let offset = row_start + (entry & 0xffff_ffff) as usize;
                let p = self.probability(rank, row.len());
                let keep = self.stream.uniform((start + offset) as u32) < p;
                visit(offset, p, keep);
            }
        }
    }
}

impl Sparsifier for DellaMagprune {
    fn stat_passes(&self) -> usize {
        self.passes
    }

    fn observe(&mut self, _pass: usize, start: usize, deltas: &[f32]) {
        let (mut total, mut kept) = (0f64, 0f64);
        let mut kept_bits = std::mem::take(&mut self.kept_bits);
        kept_bits.cover(start + deltas.len());
        self.visit_rows(start, deltas, |offset, _, keep| {
            let magnitude = deltas[offset].abs() as f64;
            total += magnitude;
            kept += if keep { magnitude } else { 0.0 };
            if keep {
                kept_bits.keep(start + offset);
            }
        });
        self.kept_bits = kept_bits;
        self.total += total;
        self.kept += kept;
    }

    fn finish_pass(&mut self, _pass: usize) {
        self.factor = l1_factor(self.total, self.kept);
        self.recorded = true;
    }

    fn row_alignment(&self) -> usize {
        self.row_len
    }

    fn apply(&self, start: usize, deltas: &mut [f32]) {
        if self.recorded {
            return self.kept_bits.scale(start, deltas, self.factor);
        }
        let mut scales = vec![0f32; deltas.len()];
        let (factor, inverse) = (self.factor, self.rescale == Rescale::Inverse);
        self.visit_rows(start, deltas, |offset, p, keep| {
            scales[offset] = match (keep, inverse) {
                (false, _) => 0.0,
                (true, true) => 1.0 / p,
                (true, false) => factor,
            };
        });
        for (d, s) in deltas.iter_mut().zip(scales) {
            *d = if s == 0.0 { 0.0 } else { *d * s };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merge::rng::tensor_key;
    use crate::merge::sparsify::chunked_testing::{odd_cuts, run_chunked};

    #[test]
    fn recorded_masks_equal_ranked_masks_for_any_chunking_and_threads() {
        let (rows, row_len) = (60, 700);
        let n = rows * row_len;
        let noise = Stream::new(12, tensor_key("noise"), 0);
        // Coarse values: magnitude ties inside rows.
        let deltas: Vec<f32> = (0..n as u32)
            .map(|i| ((noise.uniform(i) * 2.0 - 1.0) * 64.0).round() / 64.0)
            .collect();
        let stream = Stream::new(5, tensor_key("w"), 2);
        let della = || DellaMagprune::new(stream, row_len, 0.5, 0.2, Rescale::L1);
        let mut whole = della();
        let reference = run_chunked(&mut whole, &deltas, n, &[], 1);
        assert!(whole.recorded && whole.factor > 1.0);
        // What `apply` computed before masks were recorded: rank and draw again.
        whole.recorded = false;
        let mut ranked = deltas.clone();
        whole.apply(0, &mut ranked);
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&reference), bits(&ranked));
        for observe_chunk in [row_len, 3 * row_len, n] {
            for step in [61, 1000, 4096] {
                for threads in [1, 2, 4] {
                    let mut chunked = della();
                    let cuts = odd_cuts(n, step);
                    let out = run_chunked(&mut chunked, &deltas, observe_chunk, &cuts, threads);
                    assert_eq!(chunked.factor.to_bits(), whole.factor.to_bits());
                    assert!(
                        bits(&out) == bits(&reference),
                        "observe {observe_chunk}, cuts every {step}, {threads} threads"
                    );
                }
            }
        }
    }
}
