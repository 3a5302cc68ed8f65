//! Exact rank cuts in one pass when the tensor's first elements predict them: the first
//! [`SAMPLE`] elements place a window of magnitude keys around each cut; the pass counts the
//! elements above each window (a compare, vectorised) and captures those inside (key, index).
//! When a cut lands inside its window it is exact, found among the captured elements; when one
//! does not (an unrepresentative start), the radix select of [`super::topk`] runs its passes.
//! The order and tie rule are those of [`RankCut`]: |x| descending, then index ascending.

use super::l1::L1Sums;
use super::topk::{magnitude_key, RadixSelect, RankCut};
use super::wide::wide_fn;
use super::word_pool;

/// Elements that predict the windows (the first ones of the tensor, buffered as they arrive).
const SAMPLE: usize = 1 << 16;
/// Tensors this small capture every element: one pass, no prediction.
const CAPTURE_ALL: usize = 1 << 17;
/// Half-width of a window in rank fraction: about 5 standard errors of a SAMPLE quantile.
const WINDOW: f64 = 0.01;
/// Elements whose window hits are gathered into one bit mask.
const GROUP: usize = 64;

/// One cut's window, its count above, and what it captured (`!key << 32 | index`: ascending
/// order is rank order).
#[derive(Debug, Clone, Default)]
struct Window {
    rank: usize,
    lo: u32,
    hi: u32,
    above: usize,
    above_sums: L1Sums,
    captured: Vec<u64>,
    cut: Option<RankCut>,
    inside_sum: f64,
}

#[derive(Debug, Clone)]
pub struct SampledSelect {
    numel: usize,
    with_sums: bool,
    /// Pass 0 is the window pass (else only the radix select runs).
    windows_first: bool,
    /// Set after pass 0 when every cut landed inside its window.
    windows_hit: bool,
    sample: Vec<f32>,
    /// The sample's magnitude keys, for placing the windows.
    sample_keys: Vec<u32>,
    windows: Vec<Window>,
    sums: L1Sums,
    radix: RadixSelect,
}

impl SampledSelect {
    /// Cuts of `ranks` (each clamped to `numel`); `with_sums` also gathers Σ|x| and the Σ|x|
    /// inside each cut.
    pub fn new(numel: usize, ranks: &[usize], with_sums: bool) -> Self {
        let radix = RadixSelect::new(numel, ranks);
        let windows = ranks
            .iter()
            .map(|&rank| Window {
                rank: rank.min(numel),
                lo: 0,
                hi: u32::MAX,
                ..Window::default()
            })
            .collect();
        SampledSelect {
            numel,
            with_sums,
            // Captured entries hold a 32-bit index.
            windows_first: u32::try_from(numel).is_ok() && radix.passes() > 0,
            windows_hit: false,
            // Allocated here, by the thread that plans the merge: its heap has warm memory to
            // give, while a statistics thread's heap is new and would map and zero fresh pages.
            sample: Vec::with_capacity(if numel > CAPTURE_ALL { SAMPLE } else { 0 }),
            sample_keys: Vec::with_capacity(if numel > CAPTURE_ALL { SAMPLE } else { 0 }),
            windows,
            sums: L1Sums::default(),
            radix,
        }
    }

    /// Passes to run in all: 1 once the windows held every cut.
    pub fn passes(&self) -> usize {
        match (self.windows_first, self.windows_hit) {
            (false, _) => self.radix.passes(),
            (true, true) => 1,
            (true, false) => 1 + self.radix.passes(),
        }
    }

    /// `values` are elements `start..start + values.len()`; chunks arrive in element order.
    pub fn observe(&mut self, pass: usize, start: usize, values: &[f32]) {
        if !self.windows_first {
            return self.radix.observe(pass, start, values);
        }
        if pass > 0 {
            return self.radix.observe(pass - 1, start, values);
        }
        if self.with_sums {
            self.sums.add(start, values, |_, _| true);
        }
        if self.numel > CAPTURE_ALL && start < SAMPLE {
            let take = (SAMPLE - start).min(values.len());
            self.sample.extend_from_slice(&values[..take]);
            if start + take < SAMPLE {
                return;
            }
            self.place_windows();
            let sample = std::mem::take(&mut self.sample);
            self.scan(0, &sample);
            return self.scan(SAMPLE, &values[take..]);
        }
        self.scan(start, values);
    }

    /// Window bounds at the sample's rank fractions q ± WINDOW (keys in descending order).
    fn place_windows(&mut self) {
        let keys = &mut self.sample_keys;
        keys.clear();
        keys.extend(self.sample.iter().map(|&x| magnitude_key(x)));
        let m = keys.len();
        let mut key_at = |fraction: f64| -> Option<u32> {
            let position = (fraction * m as f64).floor();
            if position < 0.0 || position >= m as f64 {
                return None;
            }
            let (_, key, _) = keys.select_nth_unstable_by(position as usize, |a, b| b.cmp(a));
            Some(*key)
        };
        for w in self.windows.iter_mut() {
            if w.rank == 0 || w.rank == self.numel {
                // Nothing to capture: the cut is known (see `scan`).
                continue;
            }
            let q = w.rank as f64 / self.numel as f64;
            w.hi = key_at(q - WINDOW).unwrap_or(u32::MAX);
            w.lo = key_at(q + WINDOW).unwrap_or(0);
            // Keys tie heavily (bf16 deltas take few values), so windows often hold several
            // times their rank share; reserved room costs no memory until it is written.
            let expected = (2.0 * WINDOW * self.numel as f64) as usize;
            w.captured = word_pool::take(4 * expected);
        }
    }

    /// Counts elements above each window and captures those inside it.
    fn scan(&mut self, start: usize, values: &[f32]) {
        let with_sums = self.with_sums;
        for w in self.windows.iter_mut() {
            if w.rank == 0 || w.rank == self.numel {
                continue;
            }
            // Keys are at most i32::MAX: signed compares vectorise on every x86 level.
            let (lo, hi) = (w.lo as i32, w.hi.min(i32::MAX as u32) as i32);
            w.above += scan_window(values, start, lo, hi, &mut w.captured);
            if with_sums {
                add_above(&mut w.above_sums, start, values, hi);
            }
        }
    }

    pub fn finish_pass(&mut self, pass: usize) {
        if !self.windows_first {
            return self.radix.finish_pass(pass);
        }
        if pass > 0 {
            return self.radix.finish_pass(pass - 1);
        }
        let with_sums = self.with_sums;
        let mut hit = true;
        for w in self.windows.iter_mut() {
            w.cut = place_cut(w, self.numel, with_sums);
            hit &= w.cut.is_some();
            word_pool::give(std::mem::take(&mut w.captured));
        }
        self.windows_hit = hit;
    }

    fn by_windows(&self) -> bool {
        self.windows_first && self.windows_hit
    }

    /// The cut of the `i`-th requested rank, once every pass has run.
    pub fn cut(&self, i: usize) -> RankCut {
        if self.by_windows() {
            self.windows[i].cut.expect("every window held its cut")
        } else {
            self.radix.cut(i)
        }
    }

    /// Σ|x| over the whole tensor (with sums).
    pub fn total_sum(&self) -> f64 {
        if self.by_windows() {
            self.sums.totals().0
        } else {
            self.radix.total_sum()
        }
    }

    /// Σ|x| over the elements inside the `i`-th cut (with sums).
    pub fn inside_sum(&self, i: usize) -> f64 {
        if !self.by_windows() {
            self.radix.inside_sum(i)
        } else if self.windows[i].rank == self.numel {
            self.total_sum()
        } else {
            self.windows[i].inside_sum
        }
    }
}

wide_fn! {
    /// Counts the elements above `hi` and captures those in `lo..=hi` (`!key << 32 | index`).
    fn scan_window(values: &[f32], start: usize, lo: i32, hi: i32, captured: &mut Vec<u64>) -> usize {
        let mut capture = |i: usize, key: i32| {
            captured.push(((!(key as u32)) as u64) << 32 | (start + i) as u64);
        };
        // Counting alone is a plain reduction, which vectorises fully.
        let above = values
            .iter()
            .map(|&x| u32::from(magnitude_key(x) as i32 > hi))
            .sum::<u32>() as usize;
        let mut groups = values.chunks_exact(GROUP);
        for (g, group) in groups.by_ref().enumerate() {
            let mut hits = group.iter().enumerate().fold(0u64, |bits, (lane, &x)| {
                let key = magnitude_key(x) as i32;
                bits | u64::from((key >= lo) & (key <= hi)) << lane
            });
            while hits != 0 {
                let lane = hits.trailing_zeros() as usize;
                capture(g * GROUP + lane, magnitude_key(group[lane]) as i32);
                hits &= hits - 1;
            }
        }
        let tail_start = values.len() - groups.remainder().len();
        for (i, &x) in values.iter().enumerate().skip(tail_start) {
            let key = magnitude_key(x) as i32;
            if (key >= lo) & (key <= hi) {
                capture(i, key);
            }
        }
        above
    }
}

wide_fn! {
    /// Σ|x| of the elements above `hi`, in index lanes.
    fn add_above(sums: &mut L1Sums, start: usize, values: &[f32], hi: i32) {
        sums.add(start, values, |_, x| magnitude_key(x) as i32 > hi);
    }
}

/// The cut inside a window, or `None` when the rank lies outside it.
fn place_cut(w: &mut Window, numel: usize, with_sums: bool) -> Option<RankCut> {
    match w.rank {
        0 => return Some(RankCut::NONE),
        r if r == numel => return Some(RankCut::ALL),
        _ => {}
    }
    let need = w.rank.checked_sub(w.above).filter(|&n| n >= 1)?;
    if need > w.captured.len() {
        return None;
    }
    let by_index = with_sums.then(|| w.captured.clone());
    let (_, &mut entry, _) = w.captured.select_nth_unstable(need - 1);
    let cut = RankCut {
        key: !((entry >> 32) as u32),
        cutoff: (entry & 0xffff_ffff) + 1,
    };
    if let Some(entries) = by_index {
        let inside: f64 = entries
            .iter()
            .map(|&e| (!((e >> 32) as u32), e & 0xffff_ffff))
            .filter(|&(key, index)| cut.contains(key, index))
            .map(|(key, _)| f32::from_bits(key) as f64)
            .sum();
        let total = w.above_sums.totals().1;
        w.inside_sum = total + inside;
    }
    Some(cut)
}

#[cfg(test)]
mod tests {
    use super::super::topk::tests::{reference, tied_values};
    use super::*;

    fn select(values: &[f32], ranks: &[usize], chunk: usize) -> SampledSelect {
        let mut select = SampledSelect::new(values.len(), ranks, true);
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

    /// Every cut equals a sort's, with its Σ|x|, for several chunk sizes; returns the pass count.
    fn assert_exact(values: &[f32], ranks: &[usize]) -> usize {
        let mut passes = Vec::new();
        for chunk in [values.len(), 4096, 1000] {
            let select = select(values, ranks, chunk);
            passes.push(select.passes());
            for (i, &rank) in ranks.iter().enumerate() {
                let cut = select.cut(i);
                let expected = reference(values, rank);
                let got: Vec<bool> = values
                    .iter()
                    .enumerate()
                    .map(|(j, &x)| cut.contains(magnitude_key(x), j as u64))
                    .collect();
                assert!(got == expected, "rank {rank} chunk {chunk}");
                let inside: f64 = values
                    .iter()
                    .zip(&expected)
                    .filter(|(_, &e)| e)
                    .map(|(x, _)| x.abs() as f64)
                    .sum();
                let got_sum = select.inside_sum(i);
                assert!(
                    (got_sum - inside).abs() <= 1e-9 * inside.max(1.0),
                    "rank {rank}"
                );
            }
        }
        assert!(passes.windows(2).all(|p| p[0] == p[1]), "{passes:?}");
        passes[0]
    }

    #[test]
    fn one_pass_cuts_match_a_sort() {
        for (n, levels, seed) in [(300_000, 1000, 1), (200_000, 5, 2), (5000, 3, 3)] {
            let values = tied_values(n, levels, seed);
            let ranks = [0, 1, n / 3, n / 2, n - 1, n];
            assert_eq!(assert_exact(&values, &ranks), 1, "n {n}");
        }
    }

    #[test]
    fn a_misleading_start_falls_back_to_the_radix_passes() {
        let n = 300_000;
        let values: Vec<f32> = tied_values(n, 1000, 5)
            .iter()
            .enumerate()
            .map(|(i, &x)| if i < SAMPLE { x * 1e-3 } else { x })
            .collect();
        assert!(assert_exact(&values, &[n / 2, n / 10]) > 1);
    }
}
