//! One-pass magnitude windows: the cuts guessed from a sample spread over the tensor, then
//! settled exactly from what the merge itself tallied.
//!
//! Around each cut a window of keys is placed from the sample. While merging, an element above
//! a window is decided (inside that cut), one below is decided (outside), and one in the window
//! is *undecided*: the merge counts the elements above and captures those inside, exactly as
//! [`super::sampled_select`] does in its statistics pass. Once every chunk is merged, the counts
//! place the exact cut inside the window (or show that it lies outside: the guess missed and
//! the tensor is merged again the two-pass way); only undecided elements are merged again.

use super::sampled_select::{place_cut, scan_window, Window};
use super::topk::{magnitude_key, RankCut};
use super::wide::wide_fn;

/// Half-width of a window in rank fraction. Samples are [`SAMPLE_ELEMENTS`] long, so this is
/// about five standard errors of a sample quantile.
const WINDOW: f64 = 0.005;
/// Elements of the sample (taken in runs spread evenly over the tensor by the executor).
pub const SAMPLE_ELEMENTS: usize = 1 << 18;

/// Key bounds of one cut's window: keys above `hi` are inside the cut, keys below `lo` outside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyWindow {
    pub rank: usize,
    pub lo: i32,
    pub hi: i32,
}

impl KeyWindow {
    /// Rank 0 holds nothing and rank `numel` everything: decided without a window.
    fn exact(rank: usize, numel: usize) -> Option<Self> {
        let (lo, hi) = match rank {
            0 => (i32::MAX, i32::MAX),
            r if r >= numel => (-1, -1),
            _ => return None,
        };
        Some(KeyWindow { rank, lo, hi })
    }

    fn is_trivial(&self, numel: usize) -> bool {
        self.rank == 0 || self.rank >= numel
    }
}

/// Windows around the cuts of `ranks` (descending |x| order) from `sample` (values whose
/// magnitudes stand for the tensor's).
pub fn guess_windows(numel: usize, ranks: [usize; 2], sample: &[f32]) -> [KeyWindow; 2] {
    let mut keys: Vec<u32> = sample.iter().map(|&x| magnitude_key(x)).collect();
    let m = keys.len();
    let mut key_at = |fraction: f64, beyond: u32| -> u32 {
        let position = (fraction * m as f64).floor();
        if m == 0 || position < 0.0 || position >= m as f64 {
            return beyond;
        }
        let (_, key, _) = keys.select_nth_unstable_by(position as usize, |a, b| b.cmp(a));
        *key
    };
    ranks.map(|rank| {
        KeyWindow::exact(rank, numel).unwrap_or_else(|| {
            let q = rank as f64 / numel as f64;
            let hi = key_at(q - WINDOW, i32::MAX as u32).min(i32::MAX as u32);
            let lo = key_at(q + WINDOW, 0).min(hi);
            KeyWindow {
                rank,
                lo: lo as i32,
                hi: hi as i32,
            }
        })
    })
}

/// What one chunk's merge saw of one cut: elements above its window, and those inside.
#[derive(Debug, Clone, Default)]
pub struct CutTally {
    pub above: usize,
    pub captured: Vec<u64>,
}

/// Counts and captures of `deltas` (elements from `start`) for each non-trivial window.
pub fn tally(windows: &[KeyWindow; 2], numel: usize, start: usize, deltas: &[f32], tallies: &mut [CutTally]) {
    for (w, t) in windows.iter().zip(tallies.iter_mut()) {
        if !w.is_trivial(numel) {
            t.above += scan_window(deltas, start, w.lo, w.hi, &mut t.captured);
        }
    }
}

/// The exact cut of `window` from every chunk's tally, or `None` when it lies outside.
pub fn settle_cut(window: &KeyWindow, numel: usize, tallies: &[&CutTally]) -> Option<RankCut> {
    let mut w = Window {
        rank: window.rank,
        lo: window.lo.max(0) as u32,
        hi: window.hi.max(0) as u32,
        above: tallies.iter().map(|t| t.above).sum(),
        captured: Vec::with_capacity(tallies.iter().map(|t| t.captured.len()).sum()),
        ..Window::default()
    };
    for t in tallies {
        w.captured.extend_from_slice(&t.captured);
    }
    place_cut(&mut w, numel, false)
}

wide_fn! {
    /// Keeps (× factor) the elements decided inside `to` and outside `from`, zeroes the rest,
    /// and flags (`undecided[i] = 1`) those a window leaves open.
    pub fn mask_guessed(deltas: &mut [f32], from: KeyWindow, to: KeyWindow, factor: f32, undecided: &mut [u8]) {
        for (d, u) in deltas.iter_mut().zip(undecided.iter_mut()) {
            let key = magnitude_key(*d) as i32;
            let (in_to, out_to) = (key > to.hi, key < to.lo);
            let (in_from, out_from) = (key > from.hi, key < from.lo);
            let keep = in_to & out_from;
            let decided = keep | out_to | in_from;
            *d = if keep { *d * factor } else { 0.0 };
            *u |= u8::from(!decided);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::topk::tests::{reference, tied_values};
    use super::*;

    /// Merges `values` chunk by chunk with guessed windows and settles; the settled cuts equal
    /// a sort's, and every element the windows decided was decided right.
    fn check(values: &[f32], sample: &[f32], ranks: [usize; 2], chunk: usize) -> bool {
        let n = values.len();
        let windows = guess_windows(n, ranks, sample);
        let mut tallies = Vec::new();
        let mut masked = values.to_vec();
        let mut undecided = vec![0u8; n];
        for (c, part) in masked.chunks_mut(chunk).enumerate() {
            let mut t = vec![CutTally::default(), CutTally::default()];
            tally(&windows, n, c * chunk, part, &mut t);
            let flags = &mut undecided[c * chunk..c * chunk + part.len()];
            mask_guessed(part, windows[0], windows[1], 1.0, flags);
            tallies.push(t);
        }
        let cuts: Vec<Option<RankCut>> = (0..2)
            .map(|i| {
                let per_chunk: Vec<&CutTally> = tallies.iter().map(|t| &t[i]).collect();
                settle_cut(&windows[i], n, &per_chunk)
            })
            .collect();
        let (Some(from), Some(to)) = (cuts[0], cuts[1]) else {
            return false;
        };
        let (inside_from, inside_to) = (reference(values, ranks[0]), reference(values, ranks[1]));
        for (j, &x) in values.iter().enumerate() {
            let key = magnitude_key(x);
            assert_eq!(from.contains(key, j as u64), inside_from[j], "from, element {j}");
            assert_eq!(to.contains(key, j as u64), inside_to[j], "to, element {j}");
            let kept = inside_to[j] && !inside_from[j];
            if undecided[j] == 0 {
                assert_eq!(masked[j], if kept { x } else { 0.0 }, "element {j}");
            }
        }
        true
    }

    #[test]
    fn guessed_windows_settle_to_the_exact_cuts() {
        for (n, levels, seed) in [(400_000, 1000, 1), (300_000, 4, 2), (70_000, 50, 3)] {
            let values = tied_values(n, levels, seed);
            // A sample spread over the tensor: every 3rd element.
            let sample: Vec<f32> = values.iter().step_by(3).copied().collect();
            for ranks in [[0, n / 2], [n / 10, n / 2], [0, 1], [0, n], [n / 3, n - 1]] {
                for chunk in [n, 65_536, 1000] {
                    assert!(check(&values, &sample, ranks, chunk), "n {n} {ranks:?} {chunk}");
                }
            }
        }
    }

    #[test]
    fn a_misleading_sample_is_detected() {
        let n = 200_000;
        let values = tied_values(n, 1000, 7);
        let small: Vec<f32> = values.iter().map(|x| x * 1e-3).collect();
        assert!(!check(&values, &small, [0, n / 2], 4096));
    }
}
