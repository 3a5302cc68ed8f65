//! Exact rank cuts by magnitude without sorting: a two-level radix select on the bit pattern of
//! |x| (non-negative floats order like their u32 bits), for tensors streamed chunk by chunk.
//!
//! The order is |x| descending, ties by element index ascending; a [`RankCut`] of rank `r` holds
//! the first `r` elements of that order and is decidable per element from (|x|, index) alone, so
//! chunks can then be masked in any order and in parallel.
//!
//! Passes over the tensor (each in element order):
//! 0. histogram of the top 16 bits, with per-bin Σ|x| and the total Σ|x|;
//! 1. histogram of the low 16 bits inside the high bin holding the cut, which fixes the threshold
//!    value exactly (and Σ|x| inside the cut); the bin's elements are also captured
//!    (index, low bits) in index order, up to [`CAPTURE_LIMIT`], which places the tie cut-off;
//! 2. only when the cut-off lies beyond the captured prefix: count threshold elements in index
//!    order up to it.
//!
//! Tensors of at most `CAPTURE_LIMIT` elements always finish in 2 passes; larger ones declare 3
//! and drop to 2 once pass 1 has placed every cut (see [`RadixSelect::passes`]).

/// Elements of a cut's high bin captured in pass 1 (8 bytes each).
pub const CAPTURE_LIMIT: usize = 1 << 22;

const BINS: usize = 1 << 16;

/// The ordering key of one element: the bits of |x|.
#[inline]
pub fn magnitude_key(x: f32) -> u32 {
    x.to_bits() & 0x7fff_ffff
}

/// The first `rank` elements in (|x| descending, index ascending) order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RankCut {
    /// Magnitude key of the last element inside the cut.
    pub key: u32,
    /// Elements with exactly `key` are inside when their index is below this.
    pub cutoff: u64,
}

impl RankCut {
    pub const NONE: RankCut = RankCut {
        key: u32::MAX,
        cutoff: 0,
    };
    pub const ALL: RankCut = RankCut {
        key: 0,
        cutoff: u64::MAX,
    };

    #[inline]
    pub fn contains(self, key: u32, index: u64) -> bool {
        // Non-short-circuit: branch-free in hot loops.
        (key > self.key) | ((key == self.key) & (index < self.cutoff))
    }
}

/// Progress towards one cut.
#[derive(Debug, Clone, Default)]
struct Target {
    rank: usize,
    /// After pass 0: the high bin holding the cut, how many of its elements are inside, and
    /// Σ|x| of the bins above it.
    high: u32,
    need_in_high: usize,
    inside_sum: f64,
    /// Pass 1: low-16-bit histogram of the high bin, and its elements in index order.
    low: Vec<usize>,
    captured: Vec<u64>,
    /// After pass 1: the threshold key and how many elements equal to it are inside.
    key: u32,
    need_at_key: usize,
    /// Pass 2: threshold elements seen so far.
    seen_at_key: usize,
    cut: Option<RankCut>,
}

/// Exact rank cuts of one streamed tensor (one rank for top-k, two for a window).
#[derive(Debug, Clone)]
pub struct RadixSelect {
    targets: Vec<Target>,
    high: Vec<usize>,
    high_sum: Vec<f64>,
    total_sum: f64,
    passes: usize,
    capture_limit: usize,
}

impl RadixSelect {
    /// Cuts of the given ranks (each clamped to `numel`) over a tensor of `numel` elements.
    pub fn new(numel: usize, ranks: &[usize]) -> Self {
        Self::with_capture_limit(numel, ranks, CAPTURE_LIMIT)
    }

    fn with_capture_limit(numel: usize, ranks: &[usize], capture_limit: usize) -> Self {
        let targets: Vec<Target> = ranks
            .iter()
            .map(|&rank| {
                let rank = rank.min(numel);
                let cut = match rank {
                    0 => Some(RankCut::NONE),
                    r if r == numel => Some(RankCut::ALL),
                    _ => None,
                };
                Target {
                    rank,
                    cut,
                    ..Target::default()
                }
            })
            .collect();
        let passes = if targets.iter().all(|t| t.cut.is_some()) {
            0
        } else if numel <= capture_limit {
            2
        } else {
            3
        };
        // Histograms are allocated on the first chunk: executors build every tensor's merger up
        // front, and 1 MiB per model per tensor would add up across a whole model.
        RadixSelect {
            targets,
            high: Vec::new(),
            high_sum: Vec::new(),
            total_sum: 0.0,
            passes,
            capture_limit,
        }
    }

    /// Passes to run in all; drops from 3 to 2 when pass 1 places every cut.
    pub fn passes(&self) -> usize {
        self.passes
    }

    /// `values` are elements `start..start + values.len()`; chunks arrive in element order.
    pub fn observe(&mut self, pass: usize, start: usize, values: &[f32]) {
        match pass {
            0 => {
                if self.high.is_empty() {
                    self.high = vec![0; BINS];
                    self.high_sum = vec![0.0; BINS];
                }
                let mut chunk_sum = 0f64;
                for &x in values {
                    let key = magnitude_key(x);
                    let magnitude = f32::from_bits(key) as f64;
                    let bin = (key >> 16) as usize;
                    self.high[bin] += 1;
                    self.high_sum[bin] += magnitude;
                    chunk_sum += magnitude;
                }
                self.total_sum += chunk_sum;
            }
            1 => {
                let limit = self.capture_limit;
                for t in self.targets.iter_mut().filter(|t| t.cut.is_none()) {
                    for (i, &x) in values.iter().enumerate() {
                        let key = magnitude_key(x);
                        if key >> 16 == t.high {
                            let low = key & 0xffff;
                            t.low[low as usize] += 1;
                            if t.captured.len() < limit {
                                t.captured.push(((start + i) as u64) << 16 | low as u64);
                            }
                        }
                    }
                }
            }
            _ => {
                for t in self.targets.iter_mut().filter(|t| t.cut.is_none()) {
                    for (i, &x) in values.iter().enumerate() {
                        if magnitude_key(x) == t.key {
                            t.seen_at_key += 1;
                            if t.seen_at_key == t.need_at_key {
                                t.cut = Some(RankCut {
                                    key: t.key,
                                    cutoff: (start + i) as u64 + 1,
                                });
                                break;
                            }
                        }
                    }
                }
            }
        }
    }

    pub fn finish_pass(&mut self, pass: usize) {
        match pass {
            0 => {
                for t in self.targets.iter_mut().filter(|t| t.cut.is_none()) {
                    let (mut above, mut above_sum) = (0usize, 0f64);
                    let mut bin = BINS - 1;
                    while above + self.high[bin] < t.rank {
                        above += self.high[bin];
                        above_sum += self.high_sum[bin];
                        bin -= 1;
                    }
                    t.high = bin as u32;
                    t.need_in_high = t.rank - above;
                    t.inside_sum = above_sum;
                    t.low = vec![0; BINS];
                }
                self.high = Vec::new();
                self.high_sum = Vec::new();
            }
            1 => {
                for t in self.targets.iter_mut().filter(|t| t.cut.is_none()) {
                    let mut above = 0usize;
                    let mut low = BINS - 1;
                    while above + t.low[low] < t.need_in_high {
                        above += t.low[low];
                        t.inside_sum +=
                            t.low[low] as f64 * f32::from_bits(t.high << 16 | low as u32) as f64;
                        low -= 1;
                    }
                    t.key = t.high << 16 | low as u32;
                    t.need_at_key = t.need_in_high - above;
                    t.inside_sum += t.need_at_key as f64 * f32::from_bits(t.key) as f64;
                    if t.need_at_key == t.low[low] {
                        t.cut = Some(RankCut {
                            key: t.key,
                            cutoff: u64::MAX,
                        });
                    } else {
                        t.cut = t
                            .captured
                            .iter()
                            .filter(|&&c| c & 0xffff == low as u64)
                            .nth(t.need_at_key - 1)
                            .map(|&c| RankCut {
                                key: t.key,
                                cutoff: (c >> 16) + 1,
                            });
                    }
                    t.low = Vec::new();
                    t.captured = Vec::new();
                }
                if self.targets.iter().all(|t| t.cut.is_some()) {
                    self.passes = 2;
                }
            }
            _ => {}
        }
    }

    /// The cut of the `i`-th requested rank, once every pass has run.
    pub fn cut(&self, i: usize) -> RankCut {
        self.targets[i]
            .cut
            .expect("rank cut used before its statistics passes ran")
    }

    /// Σ|x| over the whole tensor (after pass 0).
    pub fn total_sum(&self) -> f64 {
        self.total_sum
    }

    /// Σ|x| over the elements inside the `i`-th cut (after pass 1).
    pub fn inside_sum(&self, i: usize) -> f64 {
        let t = &self.targets[i];
        if t.cut == Some(RankCut::ALL) {
            self.total_sum
        } else {
            t.inside_sum
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::merge::rng::{tensor_key, Stream};

    /// The first `rank` indices of (|x| descending, index ascending), by sorting.
    pub(in crate::merge::sparsify) fn reference(values: &[f32], rank: usize) -> Vec<bool> {
        let mut order: Vec<usize> = (0..values.len()).collect();
        order.sort_by_key(|&i| (std::cmp::Reverse(magnitude_key(values[i])), i));
        let mut inside = vec![false; values.len()];
        for &i in &order[..rank.min(values.len())] {
            inside[i] = true;
        }
        inside
    }

    fn select(values: &[f32], ranks: &[usize], chunk: usize, limit: usize) -> RadixSelect {
        let mut select = RadixSelect::with_capture_limit(values.len(), ranks, limit);
        let mut pass = 0;
        while pass < select.passes() {
            for (c, part) in values.chunks(chunk).enumerate() {
                select.observe(pass, c * chunk, part);
            }
            select.finish_pass(pass);
            pass += 1;
        }
        select
    }

    /// Values drawn from a few levels (heavy ties) plus a spread, with random signs.
    pub(in crate::merge::sparsify) fn tied_values(n: usize, levels: u32, seed: u64) -> Vec<f32> {
        let s = Stream::new(seed, tensor_key("topk"), 0);
        (0..n as u32)
            .map(|i| {
                let u = s.bits(i);
                let magnitude = if u % 3 == 0 {
                    s.uniform(i + n as u32)
                } else {
                    ((u >> 8) % levels) as f32 * 0.125
                };
                if u & 0x80 != 0 {
                    -magnitude
                } else {
                    magnitude
                }
            })
            .collect()
    }

    #[test]
    fn cuts_match_a_sort_with_many_ties() {
        for (n, levels, seed) in [(1000, 3, 1), (5000, 50, 2), (4097, 1, 3), (777, 700, 4)] {
            let values = tied_values(n, levels, seed);
            let ranks = [0, 1, n / 3, n / 2, n - 1, n, n + 5];
            for (chunk, limit) in [(n, CAPTURE_LIMIT), (97, CAPTURE_LIMIT), (64, 10)] {
                let select = select(&values, &ranks, chunk, limit);
                for (i, &rank) in ranks.iter().enumerate() {
                    let cut = select.cut(i);
                    let expected = reference(&values, rank);
                    let got: Vec<bool> = values
                        .iter()
                        .enumerate()
                        .map(|(j, &x)| cut.contains(magnitude_key(x), j as u64))
                        .collect();
                    assert_eq!(got, expected, "n {n} rank {rank} chunk {chunk}");
                    let inside: f64 = values
                        .iter()
                        .zip(&expected)
                        .filter(|(_, &e)| e)
                        .map(|(x, _)| x.abs() as f64)
                        .sum();
                    let got_sum = select.inside_sum(i);
                    if select.passes() > 0 {
                        assert!((got_sum - inside).abs() <= 1e-9 * inside.max(1.0));
                    }
                }
            }
        }
    }

    #[test]
    fn all_equal_magnitudes_keep_the_lowest_indices() {
        let values: Vec<f32> = (0..10_000)
            .map(|i| if i % 2 == 0 { 0.5 } else { -0.5 })
            .collect();
        for limit in [CAPTURE_LIMIT, 100] {
            let select = select(&values, &[1234], 1000, limit);
            assert_eq!(select.passes(), if limit == 100 { 3 } else { 2 });
            assert_eq!(
                select.cut(0),
                RankCut {
                    key: magnitude_key(0.5),
                    cutoff: 1234
                }
            );
        }
    }

    #[test]
    fn pass_two_is_dropped_when_the_capture_places_the_cut() {
        let values: Vec<f32> = (0..1000).map(|i| i as f32).collect();
        let select = select(&values, &[10], 100, 5);
        assert_eq!(select.passes(), 2);
        assert_eq!(select.cut(0).key, magnitude_key(990.0));
    }
}
