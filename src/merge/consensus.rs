//! Sign election, the second switch of generalized task arithmetic: which inputs' deltas count
//! at each element.

use super::catalog::{encoded, MethodKind};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consensus {
    /// Every delta counts.
    None,
    /// Majority sign of Σ wᵢ·dᵢ (mergekit; a zero sum elects +).
    Sum,
    /// Majority of the signs, each counted once (the TIES paper's count variant).
    Count,
}

impl Consensus {
    /// The method's election, with the config's `consensus:` choosing sum or count.
    pub fn of(method: MethodKind, configured: f64) -> Self {
        use MethodKind::*;
        match method {
            Ties | DareTies | BreadcrumbsTies | Della => {
                if configured == encoded::CONSENSUS_COUNT {
                    Consensus::Count
                } else {
                    Consensus::Sum
                }
            }
            _ => Consensus::None,
        }
    }

    /// The elected sign (+1 or −1) of one element given its weighted deltas.
    #[inline]
    pub fn elect(self, weighted: &[f32]) -> f32 {
        let score: f32 = match self {
            Consensus::None => return 0.0,
            Consensus::Sum => weighted.iter().sum(),
            Consensus::Count => weighted.iter().map(|d| sign(*d)).sum(),
        };
        if score >= 0.0 {
            1.0
        } else {
            -1.0
        }
    }

    /// One block of an elected merge: `mixed` = Σ of the weighted deltas whose sign agrees with
    /// the elected one, `divisor` = Σ of their weights (`deltas[i]` is input i's block, already
    /// weighted). Input-major loops over the block, the sums in input order; `elected` is scratch.
    #[inline(always)]
    pub fn combine(
        self,
        deltas: &[&[f32]],
        weights: &[f32],
        elected: &mut [f32],
        mixed: &mut [f32],
        divisor: &mut [f32],
    ) {
        let elected = &mut elected[..mixed.len()];
        // `elected` first holds the score: Σ wᵢdᵢ (sum) or Σ sign(wᵢdᵢ) (count).
        elected.fill(0.0);
        for delta in deltas {
            for (s, &d) in elected.iter_mut().zip(*delta) {
                *s += if self == Consensus::Count { sign(d) } else { d };
            }
        }
        elected
            .iter_mut()
            .for_each(|s| *s = if *s >= 0.0 { 1.0 } else { -1.0 });
        mixed.fill(0.0);
        divisor.fill(0.0);
        for (delta, &weight) in deltas.iter().zip(weights) {
            for (((o, q), &d), &e) in mixed
                .iter_mut()
                .zip(&mut *divisor)
                .zip(*delta)
                .zip(&*elected)
            {
                // Selects, not branches: the agreement pattern is unpredictable.
                let agrees = sign(d) == e;
                *o += if agrees { d } else { 0.0 };
                *q += if agrees { weight } else { 0.0 };
            }
        }
    }
}

/// −1, 0 or +1; zero (a dropped element) never agrees with an elected sign.
#[inline]
pub fn sign(x: f32) -> f32 {
    if x > 0.0 {
        1.0
    } else if x < 0.0 {
        -1.0
    } else {
        0.0
    }
}
