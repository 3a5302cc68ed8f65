//! How two task vectors relate, element by element: the sums behind their cosine similarity and
//! their sign-conflict rate. Sums add up, so a layer's (or the model's) figures are exact
//! combinations of its tensors'.

use serde::Serialize;

/// Running sums over the elements of two task vectors a and b.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PairSums {
    pub dot: f64,
    pub norm_a: f64,
    pub norm_b: f64,
    /// Elements where both are non-zero.
    pub both_nonzero: u64,
    /// Of those, elements whose signs differ.
    pub conflicts: u64,
}

impl PairSums {
    /// The sums over `a` and `b` (equal lengths).
    pub fn of(a: &[f32], b: &[f32]) -> Self {
        debug_assert_eq!(a.len(), b.len());
        let mut sums = PairSums::default();
        for (&x, &y) in a.iter().zip(b) {
            let (x, y) = (x as f64, y as f64);
            sums.dot += x * y;
            sums.norm_a += x * x;
            sums.norm_b += y * y;
            let both = x != 0.0 && y != 0.0;
            sums.both_nonzero += both as u64;
            sums.conflicts += (both && (x > 0.0) != (y > 0.0)) as u64;
        }
        sums
    }

    pub fn add(&mut self, other: &PairSums) {
        self.dot += other.dot;
        self.norm_a += other.norm_a;
        self.norm_b += other.norm_b;
        self.both_nonzero += other.both_nonzero;
        self.conflicts += other.conflicts;
    }

    /// a·b / (‖a‖‖b‖); `None` when either vector is zero (the angle is undefined).
    pub fn cosine(&self) -> Option<f64> {
        let norms = (self.norm_a * self.norm_b).sqrt();
        (norms > 0.0 && norms.is_finite()).then(|| (self.dot / norms).clamp(-1.0, 1.0))
    }

    /// Fraction of the elements where both are non-zero whose signs disagree; `None` when there
    /// are no such elements.
    pub fn conflict_rate(&self) -> Option<f64> {
        (self.both_nonzero > 0).then(|| self.conflicts as f64 / self.both_nonzero as f64)
    }

    pub fn figures(&self) -> PairFigures {
        PairFigures {
            cosine: self.cosine(),
            conflict: self.conflict_rate(),
            overlap: self.both_nonzero,
        }
    }
}

/// What the report shows for one pair of experts over some set of tensors.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PairFigures {
    /// Cosine similarity of the two task vectors (null: one is zero).
    pub cosine: Option<f64>,
    /// Sign-conflict rate where both are non-zero (null: they never overlap).
    pub conflict: Option<f64>,
    /// Elements where both task vectors are non-zero.
    pub overlap: u64,
}

/// Every unordered pair (i, j), i < j, of `n` experts, in reading order.
pub fn pairs_of(n: usize) -> Vec<(usize, usize)> {
    (0..n)
        .flat_map(|i| (i + 1..n).map(move |j| (i, j)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_vectors_have_cosine_one_and_no_conflicts() {
        let a = [0.5, -2.0, 0.0, 3.0];
        let f = PairSums::of(&a, &a).figures();
        assert!((f.cosine.unwrap() - 1.0).abs() < 1e-12);
        assert_eq!(f.conflict, Some(0.0));
        assert_eq!(f.overlap, 3);
    }

    #[test]
    fn opposite_vectors_have_cosine_minus_one_and_conflict_everywhere() {
        let a = [0.5, -2.0, 0.0, 3.0];
        let b = a.map(|x| -x);
        let f = PairSums::of(&a, &b).figures();
        assert!((f.cosine.unwrap() + 1.0).abs() < 1e-12);
        assert_eq!(f.conflict, Some(1.0));
    }

    #[test]
    fn by_hand() {
        // dot = 1·2 + 2·(−1) + 0·5 + (−1)·(−1) = 1; ‖a‖² = 6, ‖b‖² = 31.
        let a = [1.0, 2.0, 0.0, -1.0];
        let b = [2.0, -1.0, 5.0, -1.0];
        let s = PairSums::of(&a, &b);
        assert_eq!((s.dot, s.norm_a, s.norm_b), (1.0, 6.0, 31.0));
        assert!((s.cosine().unwrap() - 1.0 / (6.0f64 * 31.0).sqrt()).abs() < 1e-15);
        // Both non-zero at 0, 1, 3; signs differ at 1.
        assert_eq!((s.both_nonzero, s.conflicts), (3, 1));
        assert_eq!(s.conflict_rate(), Some(1.0 / 3.0));
    }

    #[test]
    fn sums_of_parts_equal_the_sums_of_the_whole() {
        let a = [1.0, 2.0, 0.0, -1.0, 0.25, 4.0];
        let b = [2.0, -1.0, 5.0, -1.0, -0.5, 0.0];
        let mut parts = PairSums::of(&a[..2], &b[..2]);
        parts.add(&PairSums::of(&a[2..], &b[2..]));
        assert_eq!(parts, PairSums::of(&a, &b));
    }

    #[test]
    fn undefined_figures_are_none() {
        let zero = [0.0f32; 3];
        let f = PairSums::of(&zero, &[1.0, 2.0, 3.0]).figures();
        assert_eq!((f.cosine, f.conflict, f.overlap), (None, None, 0));
        assert_eq!(pairs_of(3), [(0, 1), (0, 2), (1, 2)]);
        assert!(pairs_of(1).is_empty());
    }
}
