//! DELLA (`della_magprune`): keep probability rises linearly with the element's |δ| rank within
//! its row, p = density − ε + 2ε·(rank − 1)/(n − 1), drawn from the counter-based stream.
//! Ranks need whole rows, so chunks are row-aligned; each row is radix-sorted by |δ| (stable:
//! ties by index) to give every element its p, then elements draw in index order.
//! L1 rescale needs one pass (Σ|δ| and Σ|kept|, summed as [`L1Sums`] does), which records every
//! decision as a bit so the merge pass neither ranks nor draws again; `inverse` (÷p per element)
//! and off need no pass.

use super::keep_bits::KeepBits;
use super::l1::L1Sums;
use super::topk::magnitude_key;
use super::wide::wide_fn;
use super::{l1_factor, Rescale, Sparsifier};
use crate::merge::rng::Stream;

pub struct DellaMagprune {
    stream: Stream,
    row_len: usize,
    /// p = lowest + rank_norm · spread.
    lowest: f32,
    spread: f32,
    /// p of every rank of a whole row.
    by_rank: Vec<f32>,
    rescale: Rescale,
    passes: usize,
    sums: L1Sums,
    /// Decisions recorded by the statistics pass; read by `apply` once the pass finished.
    kept: KeepBits,
    recorded: bool,
    factor: f32,
}

impl DellaMagprune {
    /// For a tensor of `numel` elements in rows of `row_len`. The caller checks
    /// 0 < density ± ε < 1 and handles density ≥ 1.
    pub fn new(
        stream: Stream,
        numel: usize,
        row_len: usize,
        density: f64,
        epsilon: f64,
        rescale: Rescale,
    ) -> Self {
        let passes = usize::from(rescale == Rescale::L1);
        let mut della = DellaMagprune {
            stream,
            row_len: row_len.max(1),
            lowest: (density - epsilon) as f32,
            spread: (2.0 * epsilon) as f32,
            by_rank: Vec::new(),
            rescale,
            passes,
            sums: L1Sums::default(),
            kept: if passes > 0 {
                KeepBits::with_len(numel)
            } else {
                KeepBits::default()
            },
            recorded: false,
            factor: 1.0,
        };
        della.by_rank = (0..della.row_len)
            .map(|rank| della.probability(rank, della.row_len))
            .collect();
        della
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
        self.by_rank.clone()
    }

    /// The keep probability of every element of the row-aligned chunk `deltas`.
    fn element_probabilities(&self, start: usize, deltas: &[f32]) -> Vec<f32> {
        debug_assert!(
            start % self.row_len == 0,
            "DELLA chunks must hold whole rows"
        );
        let mut probabilities = vec![0f32; deltas.len()];
        // (|δ| key, position in row), sorted stably by key: rank order, ties by position.
        let mut order: Vec<(u32, u32)> = Vec::with_capacity(self.row_len);
        for (row, p_row) in deltas
            .chunks(self.row_len)
            .zip(probabilities.chunks_mut(self.row_len))
        {
            order.clear();
            order.extend(
                row.iter()
                    .enumerate()
                    .map(|(j, &d)| (magnitude_key(d), j as u32)),
            );
            radsort::sort_by_key(&mut order, |&(key, _)| key);
            for (rank, &(_, j)) in order.iter().enumerate() {
                p_row[j as usize] = if row.len() == self.row_len {
                    self.by_rank[rank]
                } else {
                    self.probability(rank, row.len())
                };
            }
        }
        probabilities
    }
}

impl Sparsifier for DellaMagprune {
    fn stat_passes(&self) -> usize {
        self.passes
    }

    fn observe(&mut self, _pass: usize, start: usize, deltas: &[f32]) {
        let probabilities = self.element_probabilities(start, deltas);
        record_and_add_l1(self, start, deltas, &probabilities);
    }

    fn finish_pass(&mut self, _pass: usize) {
        let (total, kept) = self.sums.totals();
        self.factor = l1_factor(total, kept);
        self.recorded = true;
    }

    fn row_alignment(&self) -> usize {
        self.row_len
    }

    fn apply(&self, start: usize, deltas: &mut [f32]) {
        if self.recorded {
            return self.kept.scale(start, deltas, self.factor);
        }
        let probabilities = self.element_probabilities(start, deltas);
        let inverse = self.rescale == Rescale::Inverse;
        keep_drawn(
            deltas,
            start,
            self.stream,
            &probabilities,
            self.factor,
            inverse,
        );
    }
}

wide_fn! {
    /// Draws and records the decisions of elements from `start`, then adds Σ|δ| and Σ|kept δ|.
    fn record_and_add_l1(della: &mut DellaMagprune, start: usize, deltas: &[f32], probabilities: &[f32]) {
        let stream = della.stream;
        // Indices are below 2^32 (checked when the sparsifier is built).
        let keeps = |index: usize| stream.uniform(index as u32) < probabilities[index - start];
        della.kept.record(start, deltas.len(), keeps);
        della.sums.add_kept_bits(start, deltas, &della.kept);
    }
}

wide_fn! {
    /// Kept elements × factor (× 1/p with `inverse`), dropped ones 0.
    fn keep_drawn(deltas: &mut [f32], start: usize, stream: Stream, probabilities: &[f32], factor: f32, inverse: bool) {
        let first = start as u32;
        for (i, (d, &p)) in deltas.iter_mut().zip(probabilities).enumerate() {
            let keep = stream.uniform(first.wrapping_add(i as u32)) < p;
            let scale = if inverse { 1.0 / p } else { factor };
            *d = if keep { *d * scale } else { 0.0 };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merge::rng::tensor_key;
    use crate::merge::sparsify::chunked_testing::{assert_independent_of_chunking, run_chunked};

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
        let della = || DellaMagprune::new(stream, n, row_len, 0.5, 0.2, Rescale::L1);
        let mut whole = della();
        let reference = run_chunked(&mut whole, &deltas, n, &[], 1);
        assert!(whole.recorded && whole.factor > 1.0);
        // What `apply` computed before masks were recorded: rank and draw again.
        whole.recorded = false;
        let mut ranked = deltas.clone();
        whole.apply(0, &mut ranked);
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&reference), bits(&ranked));
        let factor = |d: &DellaMagprune| d.factor;
        let chunks = [row_len, 3 * row_len, n];
        assert_independent_of_chunking(della, factor, &deltas, &chunks, (&reference, whole.factor));
    }

    #[test]
    fn ranks_follow_a_sort_by_magnitude_then_position() {
        let row_len = 50;
        let della = DellaMagprune::new(Stream::new(1, 2, 3), 170, row_len, 0.5, 0.3, Rescale::Off);
        // Three rows and a short last one; few distinct magnitudes, both signs: many ties.
        let deltas: Vec<f32> = (0..170)
            .map(|i| ((i * 37 % 11) as f32 - 5.0) * 0.25)
            .collect();
        let probabilities = della.element_probabilities(0, &deltas);
        for (row, p_row) in deltas.chunks(row_len).zip(probabilities.chunks(row_len)) {
            let mut order: Vec<u64> = (0..row.len())
                .map(|j| (magnitude_key(row[j]) as u64) << 32 | j as u64)
                .collect();
            order.sort_unstable();
            for (rank, entry) in order.iter().enumerate() {
                let j = (entry & 0xffff_ffff) as usize;
                let expected = della.probability(rank, row.len());
                assert_eq!(p_row[j].to_bits(), expected.to_bits(), "rank {rank}");
            }
        }
    }
}
