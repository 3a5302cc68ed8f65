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
