//! TIES trim (`magnitude`) and breadcrumbs (`magnitude_outliers`): keep a window of ranks of
//! |δ| over the whole tensor, found in one pass by [`super::sampled_select`] (the radix select
//! of [`super::topk`] when the sample misleads).
//! Ties at either edge go to the lower element index.

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
        let factor = self.factor;
        for (p, part) in deltas.chunks_mut(LOCAL_SPAN).enumerate() {
            let part_start = start + p * LOCAL_SPAN;
            let (from, to) = (LocalCut::of(from, part_start), LocalCut::of(to, part_start));
            mask_window(part, from, to, factor);
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
        let local = |offset: usize| {
            let part_start = start + offset;
            (LocalCut::of(from, part_start), LocalCut::of(to, part_start))
        };
        for (p, part) in deltas.chunks_mut(LOCAL_SPAN).enumerate() {
            let range = p * LOCAL_SPAN..p * LOCAL_SPAN + part.len();
            let (from, to) = local(range.start);
            let (input, base) = (&input[range.clone()], &base[range]);
            subtract_mask_weight(input, base, part, from, to, self.factor, weight);
        }
    }
}

wide_fn! {
    /// [`mask_window`] of input − base, times `weight`, in one loop.
    fn subtract_mask_weight(
        input: &[f32],
        base: &[f32],
        part: &mut [f32],
        from: LocalCut,
        to: LocalCut,
        factor: f32,
        weight: f32,
    ) {
        for (i, ((d, &x), &b)) in part.iter_mut().zip(input).zip(base).enumerate() {
            let delta = x - b;
            let (key, index) = (magnitude_key(delta) as i32, i as i32);
            let keep = to.contains(key, index) & !from.contains(key, index);
            // 0 × weight, not 0: a negative weight gives −0 exactly as the unfused steps did.
            *d = if keep { delta * factor * weight } else { 0.0 * weight };
        }
    }
}

wide_fn! {
    /// Keeps (× factor) the elements inside `to` and not inside `from`; zeroes the rest.
    fn mask_window(part: &mut [f32], from: LocalCut, to: LocalCut, factor: f32) {
        for (i, d) in part.iter_mut().enumerate() {
            let (key, index) = (magnitude_key(*d) as i32, i as i32);
            let keep = to.contains(key, index) & !from.contains(key, index);
            *d = if keep { *d * factor } else { 0.0 };
        }
    }
}

/// Elements masked against one [`LocalCut`]: local indices fit an i32.
const LOCAL_SPAN: usize = 1 << 30;

/// A [`RankCut`] for elements from `start` on, in i32 (keys are at most `i32::MAX`): signed
/// 32-bit compares vectorise on every x86 level, 64-bit unsigned ones do not.
#[derive(Clone, Copy)]
struct LocalCut {
    key: i32,
    cutoff: i32,
}

impl LocalCut {
    fn of(cut: RankCut, start: usize) -> Self {
        if cut.key > i32::MAX as u32 {
            // Above every key: nothing inside.
            return LocalCut {
                key: i32::MAX,
                cutoff: 0,
            };
        }
        let cutoff = cut
            .cutoff
            .saturating_sub(start as u64)
            .min(LOCAL_SPAN as u64);
        LocalCut {
            key: cut.key as i32,
            cutoff: cutoff as i32,
        }
    }

    #[inline(always)]
    fn contains(self, key: i32, index: i32) -> bool {
        (key > self.key) | ((key == self.key) & (index < self.cutoff))
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
}
