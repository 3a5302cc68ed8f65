//! Generalized task arithmetic: task arithmetic, TIES, DARE, breadcrumbs and DELLA are one
//! computation with two switches — how each delta is sparsified and how signs are elected.
//!
//! Per element (mergekit 0.1.5 order): dᵢ = sparsify(xᵢ − base)·wᵢ; with an election,
//! mixed = Σ dᵢ·[sign dᵢ = elected], divisor = Σ wᵢ·[sign dᵢ = elected] (0 → 1); without,
//! mixed = Σ dᵢ, divisor = Σ wᵢ (|·| < 1e-8 → 1); `normalize` divides; result base + λ·mixed.

use super::catalog::ParamName;
use super::consensus::Consensus;
use super::rng::{tensor_key, Stream};
use super::sparsify::wide::wide_fn;
use super::sparsify::{
    Bernoulli, DellaMagprune, Dense, MagnitudeWindow, Rescale, Sparsifier, SparsifyKind,
};
use super::{Chunk, InputStatistics, Stored, TensorMerge, TensorRecipe};
use crate::error::{MergeError, Result};

pub struct GeneralizedTaskArithmetic {
    sparsifiers: Vec<Box<dyn Sparsifier>>,
    consensus: Consensus,
    weights: Vec<f32>,
    normalize: bool,
    lambda: f32,
    /// Plain task arithmetic: no sparsification, no election — one fused pass, no scratch.
    dense: bool,
}

impl GeneralizedTaskArithmetic {
    pub fn new(recipe: &TensorRecipe) -> Result<Self> {
        let kind = SparsifyKind::of(recipe.method).ok_or_else(|| {
            MergeError::Unsupported(format!(
                "`{}` is not a task-arithmetic method",
                recipe.method.key()
            ))
        })?;
        let sparsifiers = (0..recipe.per_input.len())
            .map(|input| make_sparsifier(kind, recipe, input))
            .collect::<Result<Vec<_>>>()?;
        let consensus = Consensus::of(recipe.method, recipe.global(ParamName::Consensus));
        Ok(GeneralizedTaskArithmetic {
            dense: kind == SparsifyKind::Dense && consensus == Consensus::None,
            sparsifiers,
            consensus,
            weights: recipe.per_input_all(ParamName::Weight),
            normalize: recipe.flag(ParamName::Normalize),
            lambda: recipe.global(ParamName::Lambda) as f32,
        })
    }

    /// Elements per block of the loops: whole rows for per-row sparsifiers, else [`BLOCK`].
    fn block_len(&self, chunk_len: usize) -> usize {
        if self.row_alignment() > 1 {
            chunk_len.max(1)
        } else {
            BLOCK
        }
    }

    /// mixed = out ÷ divisor (when normalizing) × λ, then base + mixed, into `out`.
    #[inline(always)]
    fn finish_block(&self, base: &[f32], divisor: &[f32], out: &mut [f32]) {
        let (normalize, lambda) = (self.normalize, self.lambda);
        let scale = lambda != 1.0;
        // Selects on loop-invariant flags, no indexing: the loop vectorises.
        for ((o, &b), &q) in out.iter_mut().zip(base).zip(divisor) {
            // A divisor of 0 (no input agrees) counts as 1.
            let q = if q == 0.0 { 1.0 } else { q };
            let mixed = if normalize { *o / q } else { *o };
            let mixed = if scale { mixed * lambda } else { mixed };
            *o = b + mixed;
        }
    }

    /// Combines the weighted sparse deltas of one block (`deltas[i]` for input i) into `out`.
    #[inline(always)]
    fn combine_block(&self, base: &[f32], deltas: &[&[f32]], scratch: &mut [f32], out: &mut [f32]) {
        let election = self.consensus;
        if election == Consensus::None {
            out.fill(-0.0);
            for delta in deltas {
                out.iter_mut().zip(*delta).for_each(|(o, d)| *o += d);
            }
            let total: f32 = self.weights.iter().sum();
            let divisor = &mut scratch[..out.len()];
            divisor.fill(if total.abs() < 1e-8 { 1.0 } else { total });
            return self.finish_block(base, divisor, out);
        }
        let (elected, divisor) = scratch.split_at_mut(out.len());
        let divisor = &mut divisor[..out.len()];
        election.combine(deltas, &self.weights, elected, out, divisor);
        self.finish_block(base, divisor, out);
    }
}

/// Elements per block: every input's deltas of a block, the election and the divisor stay in L1.
const BLOCK: usize = 1024;

/// The sparsifier of one input: its own density (and gamma / epsilon), and its own random
/// stream (slot = input index) so models get independent masks.
pub fn make_sparsifier(
    kind: SparsifyKind,
    recipe: &TensorRecipe,
    input: usize,
) -> Result<Box<dyn Sparsifier>> {
    let density = recipe.per_input(input, ParamName::Density);
    let rescale = Rescale::of(recipe.global(ParamName::Rescale));
    let numel = recipe.numel();
    // mergekit returns the delta untouched (and unscaled) from every sparsifier at density ≥ 1.
    if kind == SparsifyKind::Dense || density >= 1.0 {
        return Ok(Box::new(Dense));
    }
    let random = matches!(kind, SparsifyKind::Bernoulli | SparsifyKind::DellaMagprune);
    if random && u32::try_from(numel).is_err() {
        return Err(MergeError::Unsupported(format!(
            "tensor `{}`: {numel} elements is more than the random stream indexes (2^32)",
            recipe.name
        )));
    }
    let stream = Stream::new(recipe.seed, tensor_key(&recipe.name), input as u32);
    Ok(match kind {
        SparsifyKind::Dense => Box::new(Dense),
        SparsifyKind::Magnitude => Box::new(MagnitudeWindow::top_k(numel, density, rescale)),
        SparsifyKind::MagnitudeOutliers => {
            let gamma = recipe.per_input(input, ParamName::Gamma);
            Box::new(MagnitudeWindow::outliers(numel, density, gamma, rescale))
        }
        SparsifyKind::Bernoulli => Box::new(Bernoulli::new(stream, numel, density, rescale)),
        SparsifyKind::DellaMagprune => {
            let epsilon = recipe.per_input(input, ParamName::Epsilon);
            if !(density - epsilon > 0.0 && density + epsilon < 1.0) {
                return Err(MergeError::Unsupported(format!(
                    "tensor `{}`, input {input}: `{}` needs 0 < density ± epsilon < 1, got density {density} and epsilon {epsilon}",
                    recipe.name,
                    recipe.method.key()
                )));
            }
            Box::new(DellaMagprune::new(
                stream,
                numel,
                recipe.row_len(),
                density,
                epsilon,
                rescale,
            ))
        }
    })
}

impl TensorMerge for GeneralizedTaskArithmetic {
    fn stat_passes(&self) -> usize {
        self.sparsifiers
            .iter()
            .map(|s| s.stat_passes())
            .max()
            .unwrap_or(0)
    }

    fn observe(&mut self, pass: usize, chunk: &Chunk<'_>) {
        let base = chunk.base.expect("task arithmetic needs a base model");
        let block = self.block_len(base.len());
        let mut delta = vec![0f32; block.min(base.len())];
        for (input, sparsifier) in chunk.inputs.iter().zip(self.sparsifiers.iter_mut()) {
            if pass < sparsifier.stat_passes() {
                for (b, base_block) in base.chunks(block).enumerate() {
                    let offset = b * block;
                    let delta = &mut delta[..base_block.len()];
                    let input = &input[offset..offset + base_block.len()];
                    subtract(input, base_block, delta);
                    sparsifier.observe(pass, chunk.start + offset, delta);
                }
            }
        }
    }

    fn statistics_by_input(&self) -> bool {
        true
    }

    fn input_statistics(&mut self, pass: usize) -> Vec<Box<dyn InputStatistics + '_>> {
        let row_aligned = self.row_alignment() > 1;
        self.sparsifiers
            .iter_mut()
            .enumerate()
            .filter(|(_, sparsifier)| pass < sparsifier.stat_passes())
            .map(|(input, sparsifier)| {
                Box::new(DeltaStatistics {
                    input,
                    pass,
                    sparsifier: sparsifier.as_mut(),
                    row_aligned,
                    base: Vec::new(),
                    delta: Vec::new(),
                }) as Box<dyn InputStatistics + '_>
            })
            .collect()
    }

    fn finish_pass(&mut self, pass: usize) {
        for sparsifier in &mut self.sparsifiers {
            if pass < sparsifier.stat_passes() {
                sparsifier.finish_pass(pass);
            }
        }
    }

    fn row_alignment(&self) -> usize {
        self.sparsifiers
            .iter()
            .map(|s| s.row_alignment())
            .max()
            .unwrap_or(1)
    }

    /// Input-major loops over blocks of the chunk (they vectorise); per element the sums run
    /// in input order, exactly as the element-wise formula in the module comment.
    fn apply(&self, chunk: &Chunk<'_>, out: &mut [f32]) {
        let base = chunk.base.expect("task arithmetic needs a base model");
        if self.dense {
            return apply_dense(self, base, chunk.inputs, out);
        }
        let block = self.block_len(out.len());
        let inputs = chunk.inputs.len();
        let mut scratch = vec![0f32; (inputs + 2) * block];
        let (deltas, election) = scratch.split_at_mut(inputs * block);
        apply_blocks(self, chunk, base, block, deltas, election, out);
    }
}

/// One input's sparsifier pass over stored chunks: the same deltas, in the same blocks, as
/// `observe` hands it, decoded a block at a time.
struct DeltaStatistics<'a> {
    input: usize,
    pass: usize,
    sparsifier: &'a mut dyn Sparsifier,
    /// Per-row sparsifiers see whole chunks (which hold whole rows), others [`BLOCK`]s.
    row_aligned: bool,
    base: Vec<f32>,
    delta: Vec<f32>,
}

impl InputStatistics for DeltaStatistics<'_> {
    fn input(&self) -> usize {
        self.input
    }

    fn observe_stored(&mut self, start: usize, input: Stored<'_>, base: Stored<'_>) {
        let len = input.len();
        let block = if self.row_aligned { len.max(1) } else { BLOCK };
        self.base.resize(block.min(len), 0.0);
        self.delta.resize(block.min(len), 0.0);
        let mut offset = 0;
        while offset < len {
            let range = offset..(offset + block).min(len);
            let (base_block, delta) = (
                &mut self.base[..range.len()],
                &mut self.delta[..range.len()],
            );
            base.decode(range.clone(), base_block);
            input.decode(range.clone(), delta);
            subtract_in_place(delta, base_block);
            self.sparsifier.observe(self.pass, start + offset, delta);
            offset = range.end;
        }
    }
}

wide_fn! {
    /// x − base in place of x.
    fn subtract_in_place(input: &mut [f32], base: &[f32]) {
        for (x, &b) in input.iter_mut().zip(base) {
            *x -= b;
        }
    }
}

wide_fn! {
    /// delta = x − base, element-wise.
    fn subtract(input: &[f32], base: &[f32], delta: &mut [f32]) {
        for ((d, &x), &b) in delta.iter_mut().zip(input).zip(base) {
            *d = x - b;
        }
    }
}

wide_fn! {
    /// Same arithmetic and order as the general path: Σ (xᵢ − base)·wᵢ, then ÷ divisor, × λ.
    fn apply_dense(merge: &GeneralizedTaskArithmetic, base: &[f32], inputs: &[&[f32]], out: &mut [f32]) {
        out.fill(-0.0);
        for (input, &weight) in inputs.iter().zip(&merge.weights) {
            for ((o, &x), &b) in out.iter_mut().zip(*input).zip(base) {
                *o += (x - b) * weight;
            }
        }
        let total: f32 = merge.weights.iter().sum();
        let divisor = if total.abs() < 1e-8 { 1.0 } else { total };
        let (normalize, lambda) = (merge.normalize, merge.lambda);
        for (o, &b) in out.iter_mut().zip(base) {
            let mut mixed = *o;
            if normalize {
                mixed /= divisor;
            }
            if lambda != 1.0 {
                mixed *= lambda;
            }
            *o = b + mixed;
        }
    }
}

wide_fn! {
    /// Blocks of the chunk: deltas, sparsified and weighted per input, then combined.
    fn apply_blocks(
        merge: &GeneralizedTaskArithmetic,
        chunk: &Chunk<'_>,
        base: &[f32],
        block: usize,
        deltas: &mut [f32],
        election: &mut [f32],
        out: &mut [f32],
    ) {
        for (b, out_block) in out.chunks_mut(block).enumerate() {
            let range = b * block..b * block + out_block.len();
            let base_block = &base[range.clone()];
            let mut slots = deltas.chunks_mut(block);
            for ((input, sparsifier), &weight) in
                chunk.inputs.iter().zip(&merge.sparsifiers).zip(&merge.weights)
            {
                let delta = &mut slots.next().expect("one slot per input")[..range.len()];
                let first = chunk.start + range.start;
                sparsifier.apply_weighted(first, &input[range.clone()], base_block, weight, delta);
            }
            let views: Vec<&[f32]> = deltas.chunks(block).map(|d| &d[..range.len()]).collect();
            merge.combine_block(base_block, &views, election, out_block);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merge::catalog::MethodKind;
    use std::collections::BTreeMap;

    pub(crate) fn recipe(
        method: MethodKind,
        weights: &[f64],
        global: &[(ParamName, f64)],
    ) -> TensorRecipe {
        let mut all: BTreeMap<ParamName, f64> = method.global_defaults();
        all.extend(global.iter().copied());
        TensorRecipe {
            method,
            name: "t".into(),
            shape: vec![4],
            has_base: true,
            global: all,
            per_input: weights
                .iter()
                .map(|&w| BTreeMap::from([(ParamName::Weight, w)]))
                .collect(),
            seed: 0,
        }
    }

    fn run(recipe: &TensorRecipe, base: &[f32], inputs: &[&[f32]]) -> Vec<f32> {
        let merger = GeneralizedTaskArithmetic::new(recipe).unwrap();
        let mut out = vec![0.0; base.len()];
        merger.apply(
            &Chunk {
                start: 0,
                base: Some(base),
                inputs,
            },
            &mut out,
        );
        out
    }

    #[test]
    fn task_arithmetic_by_hand() {
        let base = [1.0, 1.0, 1.0, 1.0];
        let a = [2.0, 0.0, 1.0, 5.0]; // deltas 1, -1, 0, 4
        let b = [1.0, 3.0, 0.0, 1.0]; // deltas 0, 2, -1, 0
        let r = recipe(MethodKind::TaskArithmetic, &[0.5, 0.25], &[]);
        // base + 0.5·da + 0.25·db
        assert_eq!(run(&r, &base, &[&a, &b]), [1.5, 1.0, 0.75, 3.0]);
        let r = recipe(
            MethodKind::TaskArithmetic,
            &[0.5, 0.25],
            &[(ParamName::Lambda, 2.0), (ParamName::Normalize, 1.0)],
        );
        // base + 2·(0.5·da + 0.25·db)/0.75
        let expected = [
            1.0 + 2.0 * 0.5 / 0.75,
            1.0,
            1.0 - 0.5 / 0.75,
            1.0 + 4.0 / 0.75,
        ];
        for (o, e) in run(&r, &base, &[&a, &b]).iter().zip(expected) {
            assert!((o - e).abs() < 1e-6, "{o} vs {e}");
        }
    }

    #[test]
    fn lambda_zero_returns_the_base() {
        let base = [0.5, -2.0, 3.25, 1e-20];
        let a = [9.0, 9.0, -9.0, 1.0];
        let r = recipe(
            MethodKind::TaskArithmetic,
            &[1.0],
            &[(ParamName::Lambda, 0.0)],
        );
        assert_eq!(run(&r, &base, &[&a]), base);
    }
}
