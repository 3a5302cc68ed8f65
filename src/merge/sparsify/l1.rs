//! Σ|δ| and Σ|kept δ| for the L1 rescale, in f64 lanes chosen by element index (lane = index
//! mod 8): the rounding depends only on the data, never on chunking or threads, and the eight
//! independent chains vectorise instead of waiting on one f64 add per element.

use super::keep_bits::KeepBits;

const LANES: usize = 8;
/// Elements per word of [`KeepBits`].
const WORD: usize = 64;

#[derive(Debug, Clone, Default)]
pub struct L1Sums {
    total: [f64; LANES],
    kept: [f64; LANES],
}

impl L1Sums {
    /// Adds elements `start..start + deltas.len()`; `keeps(index, δ)` says whether one is kept.
    #[inline(always)]
    pub fn add(&mut self, start: usize, deltas: &[f32], keeps: impl Fn(usize, f32) -> bool) {
        let head = ((LANES - start % LANES) % LANES).min(deltas.len());
        let (first, rest) = deltas.split_at(head);
        self.add_each(start, first, &keeps);
        let body_start = start + head;
        let mut blocks = rest.chunks_exact(LANES);
        for (b, block) in blocks.by_ref().enumerate() {
            let index = body_start + b * LANES;
            let mut kept = [false; LANES];
            for (lane, k) in kept.iter_mut().enumerate() {
                *k = keeps(index + lane, block[lane]);
            }
            self.add_block(block, kept);
        }
        let tail = blocks.remainder();
        self.add_each(start + deltas.len() - tail.len(), tail, &keeps);
    }

    /// As [`L1Sums::add`], element i kept where its bit in `bits` is set; the same sums.
    #[inline(always)]
    pub fn add_kept_bits(&mut self, start: usize, deltas: &[f32], bits: &KeepBits) {
        let keeps = |index: usize, _: f32| bits.get(index);
        let head = ((WORD - start % WORD) % WORD).min(deltas.len());
        let (first, rest) = deltas.split_at(head);
        self.add_each(start, first, &keeps);
        let body_start = start + head;
        let mut words = rest.chunks_exact(WORD);
        for (w, elements) in words.by_ref().enumerate() {
            let word = bits.word_from(body_start + w * WORD);
            for (b, block) in elements.chunks_exact(LANES).enumerate() {
                let byte = (word >> (b * LANES)) as u32;
                self.add_block(block, std::array::from_fn(|lane| byte >> lane & 1 != 0));
            }
        }
        let tail = words.remainder();
        self.add_each(start + deltas.len() - tail.len(), tail, &keeps);
    }

    /// One block of LANES elements starting at a multiple of LANES.
    #[inline(always)]
    fn add_block(&mut self, block: &[f32], kept: [bool; LANES]) {
        for lane in 0..LANES {
            let magnitude = block[lane].abs() as f64;
            self.total[lane] += magnitude;
            self.kept[lane] += if kept[lane] { magnitude } else { 0.0 };
        }
    }

    #[inline(always)]
    fn add_each(&mut self, start: usize, deltas: &[f32], keeps: &impl Fn(usize, f32) -> bool) {
        for (i, d) in deltas.iter().enumerate() {
            let lane = (start + i) % LANES;
            let magnitude = d.abs() as f64;
            self.total[lane] += magnitude;
            self.kept[lane] += if keeps(start + i, *d) { magnitude } else { 0.0 };
        }
    }

    /// (Σ|δ|, Σ|kept δ|), the lanes combined in a fixed tree.
    pub fn totals(&self) -> (f64, f64) {
        (combine(&self.total), combine(&self.kept))
    }
}

fn combine(l: &[f64; LANES]) -> f64 {
    ((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_do_not_depend_on_chunking() {
        let values: Vec<f32> = (0..1003)
            .map(|i| ((i * 7919) % 1000) as f32 * 1e-3 - 0.5 + (i as f32) * 1e-9)
            .collect();
        let keeps = |i: usize, _: f32| i % 3 != 0;
        let mut whole = L1Sums::default();
        whole.add(0, &values, keeps);
        let (total, kept) = whole.totals();
        let exact_total: f64 = values.iter().map(|v| v.abs() as f64).sum();
        assert!((total - exact_total).abs() < 1e-9);
        assert!(kept < total && kept > 0.5 * total);
        for chunk in [1, 5, 8, 13, 64] {
            let mut parts = L1Sums::default();
            for (c, part) in values.chunks(chunk).enumerate() {
                parts.add(c * chunk, part, keeps);
            }
            assert_eq!(parts.totals(), (total, kept), "chunk {chunk}");
        }
    }

    #[test]
    fn sums_from_kept_bits_equal_sums_from_decisions() {
        let values: Vec<f32> = (0..2001)
            .map(|i| ((i * 7919) % 997) as f32 * 1e-3 - 0.4)
            .collect();
        let keeps = |i: usize| (i * 31) % 7 < 4;
        let mut bits = KeepBits::default();
        bits.record(0, values.len(), keeps);
        let mut decided = L1Sums::default();
        decided.add(0, &values, |i, _| keeps(i));
        for chunk in [1, 3, 8, 61, 2001] {
            let mut from_bits = L1Sums::default();
            for (c, part) in values.chunks(chunk).enumerate() {
                from_bits.add_kept_bits(c * chunk, part, &bits);
            }
            assert_eq!(from_bits.totals(), decided.totals(), "chunk {chunk}");
        }
    }
}
