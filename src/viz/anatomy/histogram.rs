//! Magnitude histogram of a task vector on a log scale: one bin per octave, bin e holding
//! 2^e ≤ |τ| < 2^(e+1). The bin comes from the float's exponent bits, so it is exact and the same
//! on every platform (no logarithm rounding at the edges).

use std::collections::BTreeMap;

use serde::Serialize;

/// Every subnormal |τ| (below 2^-126) lands in this bin.
const SUBNORMAL_BIN: i32 = -127;

/// Counts of |τ| per octave, plus zeros and non-finite values.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OctaveCounts {
    pub zeros: u64,
    pub non_finite: u64,
    pub bins: BTreeMap<i32, u64>,
}

impl OctaveCounts {
    pub fn add(&mut self, values: &[f32]) {
        for &x in values {
            match octave_of(x) {
                Octave::Zero => self.zeros += 1,
                Octave::NonFinite => self.non_finite += 1,
                Octave::Bin(e) => *self.bins.entry(e).or_insert(0) += 1,
            }
        }
    }

    pub fn total(&self) -> u64 {
        self.zeros + self.non_finite + self.bins.values().sum::<u64>()
    }

    /// The counts over the octaves `first..first + len`, zeros where this histogram has none.
    pub fn histogram(&self, model: &str, first: i32, len: usize) -> Histogram {
        Histogram {
            model: model.to_string(),
            zeros: self.zeros,
            non_finite: self.non_finite,
            first_log2: first,
            counts: (0..len as i32)
                .map(|i| self.bins.get(&(first + i)).copied().unwrap_or(0))
                .collect(),
        }
    }
}

/// One expert's |τ| histogram as the report shows it: `counts[i]` holds the elements with
/// 2^(first_log2 + i) ≤ |τ| < 2^(first_log2 + i + 1).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Histogram {
    pub model: String,
    pub zeros: u64,
    pub non_finite: u64,
    pub first_log2: i32,
    pub counts: Vec<u64>,
}

/// The histograms of every expert over one shared octave range (the union of their non-empty
/// bins), so they can be drawn on one axis.
pub fn shared_histograms(counts: &[(String, OctaveCounts)]) -> Vec<Histogram> {
    let lowest = counts
        .iter()
        .filter_map(|(_, c)| c.bins.keys().next())
        .min();
    let highest = counts
        .iter()
        .filter_map(|(_, c)| c.bins.keys().next_back())
        .max();
    let (first, len) = match (lowest, highest) {
        (Some(&lo), Some(&hi)) => (lo, (hi - lo + 1) as usize),
        _ => (0, 0),
    };
    counts
        .iter()
        .map(|(model, c)| c.histogram(model, first, len))
        .collect()
}

enum Octave {
    Zero,
    NonFinite,
    Bin(i32),
}

/// ⌊log₂|x|⌋ read from the exponent field.
fn octave_of(x: f32) -> Octave {
    let bits = x.to_bits() & 0x7fff_ffff;
    let exponent = (bits >> 23) as i32;
    match (bits, exponent) {
        (0, _) => Octave::Zero,
        (_, 255) => Octave::NonFinite,
        (_, 0) => Octave::Bin(SUBNORMAL_BIN),
        _ => Octave::Bin(exponent - 127),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_by_hand() {
        let mut c = OctaveCounts::default();
        // 1 and 1.99 → octave 0; 2 → 1; 0.5 and -0.75 → -1; 0 and -0 → zeros.
        c.add(&[
            1.0,
            1.99,
            2.0,
            0.5,
            -0.75,
            0.0,
            -0.0,
            f32::NAN,
            f32::INFINITY,
            1e-40,
        ]);
        assert_eq!(c.zeros, 2);
        assert_eq!(c.non_finite, 2);
        assert_eq!(
            c.bins,
            BTreeMap::from([(SUBNORMAL_BIN, 1), (-1, 2), (0, 2), (1, 1)])
        );
        assert_eq!(c.total(), 10);
    }

    #[test]
    fn counts_sum_to_the_element_count_over_a_shared_range() {
        let values: Vec<f32> = (0..1000).map(|i| ((i as f32) - 500.0) * 1e-3).collect();
        let mut a = OctaveCounts::default();
        a.add(&values);
        let mut b = OctaveCounts::default();
        b.add(&[1e3, 0.0]);
        let h = shared_histograms(&[("a".into(), a), ("b".into(), b)]);
        assert_eq!(h[0].first_log2, h[1].first_log2);
        assert_eq!(h[0].counts.len(), h[1].counts.len());
        for (hist, n) in h.iter().zip([1000u64, 2]) {
            assert_eq!(
                hist.zeros + hist.non_finite + hist.counts.iter().sum::<u64>(),
                n
            );
        }
        // 1e3 is in octave 9 (512 ≤ 1000 < 1024): the range ends there.
        assert_eq!(h[1].first_log2 + h[1].counts.len() as i32 - 1, 9);
        assert_eq!(*h[1].counts.last().unwrap(), 1);
    }
}
