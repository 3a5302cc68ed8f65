//! Generalized task arithmetic in one pass when every sparsifier can guess its statistics
//! (TIES and breadcrumbs without L1 rescale): see [`super::sparsify::guess`].

use super::gta::{subtract, GeneralizedTaskArithmetic, BLOCK};
use super::one_pass::{ChunkTally, Undecided};
use super::sparsify::guess::CutTally;
use super::sparsify::wide::wide_fn;
use super::{Chunk, TensorMerge};

pub(super) fn guesses(merge: &GeneralizedTaskArithmetic) -> bool {
    !merge.dense && merge.row_alignment() == 1 && merge.sparsifiers.iter().all(|s| s.guesses())
}

pub(super) fn guess(merge: &mut GeneralizedTaskArithmetic, sample: &Chunk<'_>) {
    let base = sample.base.expect("task arithmetic needs a base model");
    let mut delta = vec![0f32; base.len()];
    for (input, sparsifier) in sample.inputs.iter().zip(merge.sparsifiers.iter_mut()) {
        subtract(input, base, &mut delta);
        sparsifier.guess(&delta);
    }
}

pub(super) fn settle(merge: &GeneralizedTaskArithmetic, tallies: &[&ChunkTally]) -> bool {
    merge.sparsifiers.iter().enumerate().all(|(input, sparsifier)| {
        let per_chunk: Vec<&Vec<CutTally>> = tallies
            .iter()
            .filter_map(|t| t.per_input.get(input))
            .collect();
        sparsifier.settle_guess(&per_chunk)
    })
}

pub(super) fn apply_guessed(
    merge: &GeneralizedTaskArithmetic,
    chunk: &Chunk<'_>,
    out: &mut [f32],
    tally: &mut ChunkTally,
) {
    let inputs = chunk.inputs.len();
    tally.per_input.resize_with(inputs, Vec::new);
    tally.undecided.stride = 1 + inputs;
    // Room for the usual share of undecided elements, so the vectors rarely grow.
    let expected = chunk.len() / 8;
    tally.undecided.indices.reserve(expected);
    tally.undecided.values.reserve(expected * (1 + inputs));
    let mut scratch = vec![0f32; (inputs + 2) * BLOCK];
    let mut flags = vec![0u8; BLOCK];
    guessed_blocks(merge, chunk, &mut scratch, &mut flags, tally, out);
}

wide_fn! {
    /// Blocks of the chunk as in the two-pass merge, each input's deltas masked by its guess;
    /// elements any guess left open are recorded with their inputs.
    fn guessed_blocks(
        merge: &GeneralizedTaskArithmetic,
        chunk: &Chunk<'_>,
        scratch: &mut [f32],
        flags: &mut [u8],
        tally: &mut ChunkTally,
        out: &mut [f32],
    ) {
        let base = chunk.base.expect("task arithmetic needs a base model");
        let inputs = chunk.inputs.len();
        let (deltas, election) = scratch.split_at_mut(inputs * BLOCK);
        for (b, out_block) in out.chunks_mut(BLOCK).enumerate() {
            let range = b * BLOCK..b * BLOCK + out_block.len();
            let first = chunk.start + range.start;
            let flags = &mut flags[..range.len()];
            flags.fill(0);
            for (i, delta) in deltas.chunks_mut(BLOCK).enumerate() {
                let delta = &mut delta[..range.len()];
                subtract(&chunk.inputs[i][range.clone()], &base[range.clone()], delta);
                let tallies = &mut tally.per_input[i];
                merge.sparsifiers[i].apply_guessed(first, delta, tallies, flags);
                let weight = merge.weights[i];
                delta.iter_mut().for_each(|d| *d *= weight);
            }
            let views: Vec<&[f32]> = deltas.chunks(BLOCK).map(|d| &d[..range.len()]).collect();
            merge.combine_block(&base[range.clone()], &views, election, out_block);
            record_undecided(chunk, range.start, flags, &mut tally.undecided);
        }
    }
}

/// Appends the flagged elements of the block at `offset` (index, base, inputs).
#[inline(always)]
fn record_undecided(chunk: &Chunk<'_>, offset: usize, flags: &[u8], undecided: &mut Undecided) {
    let base = chunk.base.expect("task arithmetic needs a base model");
    // Eight flags at a time: most words are all zero.
    for (w, word) in flags.chunks(8).enumerate() {
        let mut bits = word.iter().fold(0u64, |b, &f| b << 8 | u64::from(f));
        if bits == 0 {
            continue;
        }
        let len = word.len();
        while bits != 0 {
            let lane = len - 1 - (bits.trailing_zeros() / 8) as usize;
            bits &= !(0xff << ((len - 1 - lane) * 8));
            let at = offset + w * 8 + lane;
            undecided.indices.push((chunk.start + at) as u32);
            undecided.values.push(base[at]);
            undecided.values.extend(chunk.inputs.iter().map(|x| x[at]));
        }
    }
}

pub(super) fn apply_undecided(
    merge: &GeneralizedTaskArithmetic,
    undecided: &Undecided,
    out: &mut [f32],
) {
    let stride = undecided.stride;
    let inputs = stride - 1;
    let mut base = vec![0f32; BLOCK];
    let mut scratch = vec![0f32; (inputs + 2) * BLOCK];
    let records = undecided.values.chunks(stride * BLOCK);
    let indices = undecided.indices.chunks(BLOCK);
    for ((values, indices), out_block) in records.zip(indices).zip(out.chunks_mut(BLOCK)) {
        let n = indices.len();
        let (deltas, election) = scratch.split_at_mut(inputs * BLOCK);
        for (j, record) in values.chunks(stride).enumerate() {
            base[j] = record[0];
        }
        for (i, delta) in deltas.chunks_mut(BLOCK).enumerate() {
            let delta = &mut delta[..n];
            for (j, record) in values.chunks(stride).enumerate() {
                delta[j] = record[1 + i] - record[0];
            }
            merge.sparsifiers[i].apply_at(indices, delta);
            let weight = merge.weights[i];
            delta.iter_mut().for_each(|d| *d *= weight);
        }
        let views: Vec<&[f32]> = deltas.chunks(BLOCK).map(|d| &d[..n]).collect();
        merge.combine_block(&base[..n], &views, election, out_block);
    }
}
