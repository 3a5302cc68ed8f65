//! `sce` (select, calculate, erase) on task vectors δᵢ = xᵢ − base:
//! 1. select: with `select_topk` < 1 keep only the k = ⌊#{var ≠ 0}·select_topk⌋ elements of
//!    largest variance across the models (population variance), exactly, ties broken by index;
//! 2. calculate: wᵢ = mean(δᵢ²) (after selection), normalised to sum 1 (uniform if the sum < 1e-6);
//! 3. erase: sum-sign election; out = base + Σ wᵢ·mᵢ·δᵢ / max(Σ wᵢ·mᵢ, 1e-6).
//!
//! Passes: 1 (the weights) without selection; 3 with it — a histogram of the variance's upper
//! 16 bits, one of the lower 16 bits inside the boundary bucket (non-negative f32 bits sort
//! like the values), then the weights pass, which also finds where the boundary ties stop.

use super::catalog::{
    decl, BasePolicy, GpuRoute, MethodDescriptor, MethodKind, Paper, ParamDecl, ParamName, Scope,
    ANY_NUMBER, INT8_MASK, UNIT,
};
use super::consensus::{sign, Consensus};
use super::stats::{task_vectors, LaneSum};
use super::{Chunk, TensorMerge, TensorRecipe};
use crate::error::{MergeError, Result};

pub static SCE: MethodDescriptor = MethodDescriptor {
    kind: MethodKind::Sce,
    key: "sce",
    base: BasePolicy::Required,
    merges_listed_base: false,
    arity: ANY_NUMBER,
    random: false,
    params: &SCE_PARAMS,
    cpu: |r| Ok(Box::new(Sce::new(r)?)),
    gpu: Some(GpuRoute::Sce),
    paper: Some(Paper {
        name: "SCE",
        url: "https://arxiv.org/abs/2408.07990",
    }),
};
const SCE_PARAMS: [ParamDecl; 2] = [
    decl(ParamName::SelectTopk, Scope::Global, UNIT, Some(1.0)),
    INT8_MASK,
];

const BUCKETS: usize = 1 << 16;

/// Which elements survive the variance selection.
#[derive(Debug, Clone, PartialEq)]
enum Selection {
    All,
    Nothing,
    /// Variance bits above `bits`, and ties at `bits` up to element index `last_tie`; the
    /// weights pass (in element order) takes `ties_left` ties and so settles `last_tie`.
    Above {
        bits: u32,
        ties_left: u64,
        last_tie: usize,
    },
}

impl Selection {
    /// Whether element `index` of variance `v` survives, once `last_tie` is settled.
    fn keeps(&self, index: usize, v: f32) -> bool {
        match *self {
            Selection::All => true,
            Selection::Nothing => false,
            Selection::Above { bits, last_tie, .. } => {
                let b = v.to_bits();
                b > bits || b == bits && index <= last_tie
            }
        }
    }

    /// `keeps` during the weights pass, which sees every element once in order.
    fn settle(&mut self, index: usize, v: f32) -> bool {
        match self {
            Selection::Above {
                bits,
                ties_left,
                last_tie,
            } if v.to_bits() == *bits => {
                if *ties_left == 0 {
                    return false;
                }
                *ties_left -= 1;
                *last_tie = index;
                true
            }
            _ => self.keeps(index, v),
        }
    }

    /// Zeroes the unselected elements of a chunk's task vectors.
    fn mask(&mut self, start: usize, deltas: &mut [Vec<f32>], settling: bool) {
        match self {
            Selection::All => {}
            Selection::Nothing => deltas.iter_mut().for_each(|d| d.fill(0.0)),
            Selection::Above { .. } => {
                for (e, v) in variances(deltas).into_iter().enumerate() {
                    let keep = if settling {
                        self.settle(start + e, v)
                    } else {
                        self.keeps(start + e, v)
                    };
                    if !keep {
                        deltas.iter_mut().for_each(|d| d[e] = 0.0);
                    }
                }
            }
        }
    }
}

/// Exact top-k by variance in two histogram passes.
struct VarianceTopk {
    density: f32,
    hist: Vec<u64>,
    nonzero: u64,
    /// Upper 16 bits of the k-th largest variance, and how many above that bucket.
    high: u32,
    above: u64,
    k: u64,
}

impl VarianceTopk {
    fn observe(&mut self, pass: usize, variances: &[f32]) {
        for v in variances {
            let bits = v.to_bits();
            match pass {
                0 => {
                    self.hist[(bits >> 16) as usize] += 1;
                    self.nonzero += (*v != 0.0) as u64;
                }
                _ if bits >> 16 == self.high => self.hist[(bits & 0xffff) as usize] += 1,
                _ => {}
            }
        }
    }

    /// The bucket holding the `rank`-th largest (1-based) and the count strictly above it.
    fn bucket_of(&self, rank: u64) -> (u32, u64) {
        let mut above = 0;
        for b in (0..BUCKETS).rev() {
            if above + self.hist[b] >= rank {
                return (b as u32, above);
            }
            above += self.hist[b];
        }
        (0, above)
    }

    fn finish_pass(&mut self, pass: usize) -> Option<Selection> {
        if pass == 0 {
            // torch computes int(count * density) in f32.
            self.k = ((self.nonzero as f32 * self.density) as u64).min(self.nonzero);
            if self.k == 0 {
                return Some(Selection::Nothing);
            }
            (self.high, self.above) = self.bucket_of(self.k);
            self.hist.fill(0);
            None
        } else if self.k == 0 {
            None
        } else {
            let (low, above_low) = self.bucket_of(self.k - self.above);
            self.hist = Vec::new();
            Some(Selection::Above {
                bits: self.high << 16 | low,
                ties_left: self.k - self.above - above_low,
                last_tie: 0,
            })
        }
    }
}

pub struct Sce {
    topk: Option<VarianceTopk>,
    selection: Selection,
    squares: Vec<LaneSum>,
    numel: usize,
    weights: Vec<f32>,
}

impl Sce {
    pub fn new(recipe: &TensorRecipe) -> Result<Self> {
        let n = recipe.per_input.len();
        if !recipe.has_base || n == 0 {
            return Err(MergeError::Unsupported(format!(
                "`sce` needs a base and at least one other model (tensor `{}`)",
                recipe.name
            )));
        }
        let density = recipe.global(ParamName::SelectTopk);
        let (topk, selection) = if density >= 1.0 {
            (None, Selection::All)
        } else if density <= 0.0 {
            (None, Selection::Nothing)
        } else {
            let topk = VarianceTopk {
                density: density as f32,
                hist: vec![0; BUCKETS],
                nonzero: 0,
                high: 0,
                above: 0,
                k: 0,
            };
            (Some(topk), Selection::Nothing)
        };
        Ok(Sce {
            topk,
            selection,
            squares: vec![LaneSum::default(); n],
            numel: recipe.numel(),
            weights: vec![1.0 / n as f32; n],
        })
    }

    fn selection_passes(&self) -> usize {
        if self.topk.is_some() {
            2
        } else {
            0
        }
    }
}

/// Population variance of each element across the task vectors, in f32.
fn variances(deltas: &[Vec<f32>]) -> Vec<f32> {
    let n = deltas.len() as f32;
    (0..deltas[0].len())
        .map(|e| {
            let mean = deltas.iter().map(|d| d[e]).sum::<f32>() / n;
            deltas
                .iter()
                .map(|d| (d[e] - mean) * (d[e] - mean))
                .sum::<f32>()
                / n
        })
        .collect()
}

impl TensorMerge for Sce {
    fn stat_passes(&self) -> usize {
        self.selection_passes() + 1
    }

    fn observe(&mut self, pass: usize, chunk: &Chunk<'_>) {
        let mut deltas = task_vectors(chunk, true);
        if pass < self.selection_passes() {
            let topk = self.topk.as_mut().expect("selection passes need top-k");
            if pass == 0 || topk.k > 0 {
                topk.observe(pass, &variances(&deltas));
            }
            return;
        }
        self.selection.mask(chunk.start, &mut deltas, true);
        for (sum, d) in self.squares.iter_mut().zip(&deltas) {
            sum.add_products(chunk.start, d, d);
        }
    }

    fn finish_pass(&mut self, pass: usize) {
        if pass < self.selection_passes() {
            let topk = self.topk.as_mut().expect("selection passes need top-k");
            if let Some(selection) = topk.finish_pass(pass) {
                self.selection = selection;
            }
            return;
        }
        let means: Vec<f64> = self
            .squares
            .iter()
            .map(|s| s.total() / self.numel.max(1) as f64)
            .collect();
        let total: f64 = means.iter().sum();
        if total.abs() >= 1e-6 {
            self.weights = means.iter().map(|m| (m / total) as f32).collect();
        }
    }

    fn apply(&self, chunk: &Chunk<'_>, out: &mut [f32]) {
        let base = chunk.base.expect("sce needs a base model");
        let mut deltas = task_vectors(chunk, true);
        self.selection.clone().mask(chunk.start, &mut deltas, false);
        let mut column = vec![0f32; deltas.len()];
        for (e, (o, &b)) in out.iter_mut().zip(base).enumerate() {
            for (c, d) in column.iter_mut().zip(&deltas) {
                *c = d[e];
            }
            let elected = Consensus::Sum.elect(&column);
            let (mut merged, mut divisor) = (0f32, 0f32);
            for (&d, &w) in column.iter().zip(&self.weights) {
                let w = if sign(d) == elected { w } else { 0.0 };
                merged += d * w;
                divisor += w;
            }
            *o = b + merged / divisor.max(1e-6);
        }
    }
}
