//! One input's keep/drop decisions for a whole tensor, one bit per element (bit i % 64 of word
//! i / 64): the statistics pass draws each element's decision once and records it, the merge
//! pass reads the bits instead of drawing again — chunks of any start, in any order, in parallel.

use super::wide::wide_fn;
use super::word_pool;

#[derive(Debug, Clone, Default)]
pub struct KeepBits {
    words: Vec<u64>,
}

impl Drop for KeepBits {
    fn drop(&mut self) {
        word_pool::give(std::mem::take(&mut self.words));
    }
}

/// Elements per half word: the recording loop works on u32 lanes, as the hash does.
const HALF: usize = 32;

impl KeepBits {
    /// Bits for `len` elements, all dropped, in a buffer of an earlier tensor when one is free.
    pub fn with_len(len: usize) -> Self {
        let mut words = word_pool::take(len.div_ceil(64));
        words.resize(len.div_ceil(64), 0);
        KeepBits { words }
    }

    /// Makes room for elements below `end`; bits not yet recorded read as dropped.
    pub fn cover(&mut self, end: usize) {
        let words = end.div_ceil(64);
        if self.words.len() < words {
            self.words.resize(words, 0);
        }
    }

    /// Records `keeps(index)` for elements `start..start + len`.
    #[inline(always)]
    pub fn record(&mut self, start: usize, len: usize, keeps: impl Fn(usize) -> bool) {
        let end = start + len;
        self.cover(end);
        let mut index = start;
        while index < end {
            // Half words aligned on the absolute index: whole ones take the loop that vectorises.
            let half_start = index - index % HALF;
            let stop = (half_start + HALF).min(end);
            let bits = if index == half_start && stop == half_start + HALF {
                (0..HALF).fold(0u32, |bits, j| bits | (keeps(half_start + j) as u32) << j)
            } else {
                (index..stop).fold(0u32, |bits, i| bits | (keeps(i) as u32) << (i - half_start))
            };
            self.words[index / 64] |= (bits as u64) << (half_start % 64);
            index = stop;
        }
    }

    #[inline(always)]
    pub fn get(&self, index: usize) -> bool {
        self.word_from(index) & 1 != 0
    }

    /// Bits of elements `index..index + 64` (past the end: 0).
    #[inline(always)]
    pub fn word_from(&self, index: usize) -> u64 {
        let (word, shift) = (index / 64, index % 64);
        let at = |w: usize| self.words.get(w).copied().unwrap_or(0);
        if shift == 0 {
            at(word)
        } else {
            at(word) >> shift | at(word + 1) << (64 - shift)
        }
    }

    /// Kept elements of `deltas` (elements from `start`) × `factor`, dropped ones 0.
    pub fn scale(&self, start: usize, deltas: &mut [f32], factor: f32) {
        scale_kept(self, start, deltas, factor);
    }

    /// [`Self::scale`] of input − base, times `weight`, in one loop (same arithmetic, same
    /// order: a dropped element is 0 × weight, so −0 for a negative weight).
    pub fn scale_weighted(
        &self,
        start: usize,
        input: &[f32],
        base: &[f32],
        factor: f32,
        weight: f32,
        deltas: &mut [f32],
    ) {
        subtract_scale_kept_weight(self, start, input, base, factor, weight, deltas);
    }
}

/// Calls `each(offset, part, bits)` for the parts of `deltas` (elements from `start`) that
/// share one half word of decisions: `bits >> j & 1` is part element j's.
#[inline(always)]
fn for_each_half(
    bits: &KeepBits,
    start: usize,
    deltas: &mut [f32],
    mut each: impl FnMut(usize, &mut [f32], u32),
) {
    for (g, group) in deltas.chunks_mut(64).enumerate() {
        let word = bits.word_from(start + g * 64);
        for (h, part) in group.chunks_mut(HALF).enumerate() {
            each(g * 64 + h * HALF, part, (word >> (h * HALF)) as u32);
        }
    }
}

wide_fn! {
    fn scale_kept(bits: &KeepBits, start: usize, deltas: &mut [f32], factor: f32) {
        for_each_half(bits, start, deltas, |_, part, half| {
            for (j, d) in part.iter_mut().enumerate() {
                *d = if half >> j & 1 != 0 { *d * factor } else { 0.0 };
            }
        });
    }
}

wide_fn! {
    fn subtract_scale_kept_weight(
        bits: &KeepBits,
        start: usize,
        input: &[f32],
        base: &[f32],
        factor: f32,
        weight: f32,
        deltas: &mut [f32],
    ) {
        for_each_half(bits, start, deltas, |at, part, half| {
            let (input, base) = (&input[at..at + part.len()], &base[at..at + part.len()]);
            for (j, ((d, &x), &b)) in part.iter_mut().zip(input).zip(base).enumerate() {
                let delta = x - b;
                *d = if half >> j & 1 != 0 { delta * factor * weight } else { 0.0 * weight };
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keeps(i: usize) -> bool {
        (i * 2_654_435_761) % 7 < 3
    }

    #[test]
    fn records_and_reads_back_any_ranges() {
        let n = 1000;
        for chunk in [1, 7, 31, 32, 33, 64, 100, 1000] {
            let mut bits = KeepBits::default();
            for start in (0..n).step_by(chunk) {
                bits.record(start, chunk.min(n - start), keeps);
            }
            assert!((0..n).all(|i| bits.get(i) == keeps(i)), "chunk {chunk}");
            assert!(!bits.get(n + 64), "past the end reads as dropped");
            for start in [0, 1, 5, 63, 64, 65, 500, 999] {
                let word = bits.word_from(start);
                for j in 0..64 {
                    let expected = start + j < n && keeps(start + j);
                    assert_eq!(word >> j & 1 != 0, expected, "start {start} bit {j}");
                }
            }
        }
    }

    #[test]
    fn scale_zeroes_dropped_and_scales_kept_from_any_start() {
        let n = 300;
        let mut bits = KeepBits::default();
        bits.record(0, n, keeps);
        let values: Vec<f32> = (0..n).map(|i| i as f32 + 1.0).collect();
        for (start, len) in [(0, n), (1, 130), (37, 64), (64, 200), (299, 1)] {
            let mut part = values[start..start + len].to_vec();
            bits.scale(start, &mut part, 2.0);
            for (j, v) in part.iter().enumerate() {
                let i = start + j;
                let expected = if keeps(i) { values[i] * 2.0 } else { 0.0 };
                assert_eq!(*v, expected, "start {start}, element {i}");
            }
            let base: Vec<f32> = (0..len).map(|j| j as f32 * 0.25).collect();
            for weight in [0.7, -1.5] {
                let mut separate: Vec<f32> = values[start..start + len]
                    .iter()
                    .zip(&base)
                    .map(|(x, b)| x - b)
                    .collect();
                bits.scale(start, &mut separate, 2.0);
                separate.iter_mut().for_each(|d| *d *= weight);
                let mut fused = vec![1.0; len];
                let input = &values[start..start + len];
                bits.scale_weighted(start, input, &base, 2.0, weight, &mut fused);
                let to_bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(
                    to_bits(&fused),
                    to_bits(&separate),
                    "start {start}, weight {weight}"
                );
            }
        }
    }
}
