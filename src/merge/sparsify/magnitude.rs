//! TIES trim (`magnitude`) and breadcrumbs (`magnitude_outliers`): keep a window of ranks of
//! |δ| over the whole tensor, found in one pass by [`super::sampled_select`] (the radix select
//! of [`super::topk`] when the sample misleads).
//! Ties at either edge go to the lower element index.

use std::ops::Range;

use super::sampled_select::SampledSelect;
use super::topk::{magnitude_key, RankCut};
use super::wide::wide_fn;
use super::{l1_factor, Rescale, Sparsifier};

/// Keeps the elements of descending-|δ| ranks `[from, to)`.
pub struct MagnitudeWindow {
    select: SampledSelect,
    density: f64,
    rescale: Rescale,
    /// Set once the statistics passes have run: the cuts at `from` and `to`, and the scale.
    cuts: Option<(RankCut, RankCut)>,
    factor: f32,
}

impl MagnitudeWindow {
    /// TIES: the top k = max(1, ⌊density·n⌋) by |δ| (mergekit sparsify.py:68); density ≤ 0 keeps
    /// nothing. The caller handles density ≥ 1 (keep all).
    pub fn top_k(numel: usize, density: f64, rescale: Rescale) -> Self {
        let k = if density <= 0.0 {
            0
        } else {
            ((density * numel as f64) as usize).max(1)
        };
        Self::window(numel, 0, k, density, rescale)
    }

    /// Breadcrumbs: of |δ| ascending keep ranks [n_bot, n_bot + ⌊density·n⌋), dropping the
    /// ⌊gamma·n⌋ largest (fewer when density + gamma > 1) and the smallest rest.
    pub fn outliers(numel: usize, density: f64, gamma: f64, rescale: Rescale) -> Self {
        let target = (density.max(0.0) * numel as f64) as usize;
        let n_top = (gamma.max(0.0) * numel as f64) as usize;
        let n_bot = numel.saturating_sub(target + n_top);
        // mergekit keeps `sorted[n_bot:-n_top]`, which is empty when n_top = 0 (e.g. gamma: 0)
        // and zeroes the whole delta; we do the intended thing and drop nothing at the top.
        let from = numel - n_bot - target;
        Self::window(numel, from, from + target, density, rescale)
    }

    fn window(numel: usize, from: usize, to: usize, density: f64, rescale: Rescale) -> Self {
        let mut window = MagnitudeWindow {
            select: SampledSelect::new(numel, &[from, to], rescale == Rescale::L1),
            density,
            rescale,
            cuts: None,
            factor: 1.0,
        };
        if window.select.passes() == 0 {
            window.settle();
        }
        window
    }

    fn settle(&mut self) {
        self.cuts = Some((self.select.cut(0), self.select.cut(1)));
        self.factor = match self.rescale {
            Rescale::Off => 1.0,
            Rescale::Inverse if self.density > 0.0 => (1.0 / self.density) as f32,
            Rescale::Inverse => 1.0,
            // Without passes the window is all or nothing: the L1 norm is already preserved.
            Rescale::L1 if self.select.passes() == 0 => 1.0,
            Rescale::L1 => l1_factor(
                self.select.total_sum(),
                self.select.inside_sum(1) - self.select.inside_sum(0),
            ),
        };
    }
}

impl Sparsifier for MagnitudeWindow {
    fn stat_passes(&self) -> usize {
        self.select.passes()
    }

    fn observe(&mut self, pass: usize, start: usize, deltas: &[f32]) {
        self.select.observe(pass, start, deltas);
    }

    fn finish_pass(&mut self, pass: usize) {
        self.select.finish_pass(pass);
        if pass + 1 == self.select.passes() {
            self.settle();
        }
    }

    fn apply(&self, start: usize, deltas: &mut [f32]) {
        let (from, to) = self
            .cuts
            .expect("magnitude sparsifier applied before its statistics passes");
        for (run, from, to) in runs(from, to, start, deltas.len()) {
            mask_run(&mut deltas[run], from, to, self.factor);
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
        let (from, to) = self
            .cuts
            .expect("magnitude sparsifier applied before its statistics passes");
        for (run, from, to) in runs(from, to, start, deltas.len()) {
            let (input, base) = (&input[run.clone()], &base[run.clone()]);
            subtract_mask_weight(input, base, &mut deltas[run], from, to, self.factor, weight);
        }
    }
}

/// Splits elements `start..start + len` (local indices) into runs over which each cut is one
/// key threshold — inside iff key > threshold — with (run, from threshold, to threshold).
/// A cut holds its key's elements only below its cut-off index, so before the cut-off its
/// threshold is one lower: the loops then compare keys alone, 8 lanes of i32.
fn runs(
    from: RankCut,
    to: RankCut,
    start: usize,
    len: usize,
) -> impl Iterator<Item = (Range<usize>, i32, i32)> {
    let local =
        move |cut: RankCut| cut.cutoff.saturating_sub(start as u64).min(len as u64) as usize;
    let mut edges = [0, local(from), local(to), len];
    edges.sort_unstable();
    let threshold = move |cut: RankCut, at: usize| match i32::try_from(cut.key) {
        // Above every key (`RankCut::NONE`): nothing inside.
        Err(_) => i32::MAX,
        Ok(key) if at < local(cut) => key - 1,
        Ok(key) => key,
    };
    (0..3)
        .map(move |i| edges[i]..edges[i + 1])
        .filter(|run| !run.is_empty())
        .map(move |run| {
            let at = run.start;
            (run, threshold(from, at), threshold(to, at))
        })
}

wide_fn! {
    /// Keeps (× factor) the elements inside `to` and not inside `from`; zeroes the rest.
    fn mask_run(part: &mut [f32], from: i32, to: i32, factor: f32) {
        for d in part.iter_mut() {
            let key = magnitude_key(*d) as i32;
            let keep = (key > to) & (key <= from);
            *d = if keep { *d * factor } else { 0.0 };
        }
    }
}

wide_fn! {
    /// [`mask_run`] of input − base, times `weight`, in one loop.
    fn subtract_mask_weight(
        input: &[f32],
        base: &[f32],
        part: &mut [f32],
        from: i32,
        to: i32,
        factor: f32,
        weight: f32,
    ) {
        for ((d, &x), &b) in part.iter_mut().zip(input).zip(base) {
            let delta = x - b;
            let key = magnitude_key(delta) as i32;
            let keep = (key > to) & (key <= from);
            // 0 × weight, not 0: a negative weight gives −0 exactly as the unfused steps did.
            *d = if keep { delta * factor * weight } else { 0.0 * weight };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kept(mut window: MagnitudeWindow, deltas: &[f32]) -> Vec<f32> {
        let mut pass = 0;
        while pass < window.stat_passes() {
            window.observe(pass, 0, deltas);
            window.finish_pass(pass);
            pass += 1;
        }
        let mut out = deltas.to_vec();
        window.apply(0, &mut out);
        out
    }

    #[test]
    fn window_edges() {
        let d = [0.1, -0.5, 0.3, 0.9, -0.2, 0.7, 0.0, 0.4, -0.8, 0.6];
        // k = 3: 0.9, -0.8, 0.7.
        let top = kept(MagnitudeWindow::top_k(10, 0.35, Rescale::Off), &d);
        assert_eq!(top, [0.0, 0.0, 0.0, 0.9, 0.0, 0.7, 0.0, 0.0, -0.8, 0.0]);
        // density 0.01 still keeps one element; density 0 keeps none.
        let one = kept(MagnitudeWindow::top_k(10, 0.01, Rescale::Off), &d);
        assert_eq!(one.iter().filter(|x| **x != 0.0).count(), 1);
        let none = kept(MagnitudeWindow::top_k(10, 0.0, Rescale::L1), &d);
        assert!(none.iter().all(|x| *x == 0.0));
        // Breadcrumbs 0.5 / 0.2: drop the 2 largest (0.9, -0.8), keep the next 5, drop 3 smallest.
        let crumbs = kept(MagnitudeWindow::outliers(10, 0.5, 0.2, Rescale::Off), &d);
        assert_eq!(crumbs, [0.0, -0.5, 0.3, 0.0, 0.0, 0.7, 0.0, 0.4, 0.0, 0.6]);
        // density + gamma > 1: fewer dropped at the top, none at the bottom.
        let wide = kept(MagnitudeWindow::outliers(10, 0.9, 0.5, Rescale::Off), &d);
        assert_eq!(wide.iter().filter(|x| **x != 0.0).count(), 8); // 9 kept, one is 0.0
        assert_eq!(wide[3], 0.0);
    }

    #[test]
    fn fused_apply_is_bit_identical_to_the_separate_steps() {
        let n = 5000;
        let input = super::super::topk::tests::tied_values(n, 40, 11);
        let base: Vec<f32> = super::super::topk::tests::tied_values(n, 40, 12)
            .iter()
            .map(|x| x * 0.5)
            .collect();
        let deltas: Vec<f32> = input.iter().zip(&base).map(|(x, b)| x - b).collect();
        for (window, weight) in [
            (MagnitudeWindow::top_k(n, 0.3, Rescale::Inverse), -0.75),
            (MagnitudeWindow::outliers(n, 0.5, 0.1, Rescale::Off), 1.5),
        ] {
            let mut window = window;
            let mut pass = 0;
            while pass < window.stat_passes() {
                window.observe(pass, 0, &deltas);
                window.finish_pass(pass);
                pass += 1;
            }
            for start in [0, 1000, 1777] {
                let range = start..n;
                let mut separate = deltas[range.clone()].to_vec();
                window.apply(start, &mut separate);
                separate.iter_mut().for_each(|d| *d *= weight);
                let mut fused = vec![0.0; range.len()];
                let (x, b) = (&input[range.clone()], &base[range.clone()]);
                window.apply_weighted(start, x, b, weight, &mut fused);
                let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&fused), bits(&separate), "start {start}");
            }
        }
    }

    #[test]
    fn runs_mask_exactly_like_the_cuts() {
        let n = 20_000;
        let values = super::super::topk::tests::tied_values(n, 30, 21);
        let reference = |from: RankCut, to: RankCut| -> Vec<f32> {
            values
                .iter()
                .enumerate()
                .map(|(j, &x)| {
                    let (key, index) = (magnitude_key(x), j as u64);
                    let keep = to.contains(key, index) & !from.contains(key, index);
                    if keep {
                        x
                    } else {
                        0.0
                    }
                })
                .collect()
        };
        let key = magnitude_key(values[777]);
        let cuts = [
            RankCut::NONE,
            RankCut::ALL,
            RankCut { key, cutoff: 0 },
            RankCut { key, cutoff: 9_001 },
            RankCut {
                key: key + 1,
                cutoff: u64::MAX,
            },
            RankCut { key: 0, cutoff: 5 },
        ];
        for &from in &cuts {
            for &to in &cuts {
                let expected = reference(from, to);
                for start in [0, 4096, 9_000, 9_001, 15_000] {
                    let mut part = values[start..].to_vec();
                    for (run, f, t) in runs(from, to, start, part.len()) {
                        mask_run(&mut part[run], f, t, 1.0);
                    }
                    assert_eq!(part, expected[start..], "{from:?} {to:?} from {start}");
                }
            }
        }
    }
}
