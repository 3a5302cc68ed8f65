//! One-pass merging in the native pipeline: for a tensor whose merger can guess its statistics
//! (TIES, breadcrumbs), the statistics pass is replaced by a sample read; chunks are merged
//! with the guess and held, and once the tensor's last chunk is in, the guess is settled, the
//! few undecided elements are merged again and patched into the held bytes, and the tensor is
//! written. Reading each input once instead of twice is most of a TIES merge's cost.
//!
//! A tensor's output is held in memory, so tensors larger than [`HOLD_LIMIT`] bytes of output
//! keep the two-pass way; so do small ones (a statistics pass over them costs little).

use std::ops::Range;

use super::inputs::{gather_statistics, merge_chunk, set_len, ChunkInputs};
use super::tensor_slot::Prepared;
use crate::error::Result;
use crate::io::{Checkpoint, TensorSource};
use crate::merge::one_pass::ChunkTally;
use crate::merge::sparsify::guess::SAMPLE_ELEMENTS;
use crate::merge::{build_merger, TensorMerge};
use crate::plan::PlannedTensor;

/// Output bytes of one tensor held until it settles (the 1B benchmark's embedding: 525 MB).
pub const HOLD_LIMIT: u64 = 640 << 20;
/// Tensors with fewer elements take the two-pass way.
const MIN_ELEMENTS: usize = 1 << 20;
/// Runs the sample is read in, spread evenly over the tensor.
const SAMPLE_RUNS: usize = 256;

/// Whether `tensor` (with its merger as built for planning) is merged in one pass.
pub fn merges_in_one_pass(tensor: &PlannedTensor, merger: &dyn TensorMerge) -> bool {
    let numel = tensor.numel();
    merger.stat_passes() > 0
        && merger.guesses()
        && tensor.base.is_some()
        && numel >= MIN_ELEMENTS
        && u32::try_from(numel).is_ok()
        && tensor
            .output
            .checked_byte_len()
            .is_some_and(|bytes| bytes <= std::env::var("MM_HOLD").ok().and_then(|v| v.parse().ok()).unwrap_or(HOLD_LIMIT))
}

/// Reads the sample (runs spread over the tensor) and lets the merger guess from it.
pub async fn guess_from_sample<S: TensorSource>(
    models: &[Checkpoint<S>],
    tensor: &PlannedTensor,
    merger: &mut dyn TensorMerge,
) -> Result<()> {
    let numel = tensor.numel();
    let run = (SAMPLE_ELEMENTS / SAMPLE_RUNS).min(numel);
    let mut sample = ChunkInputs::default();
    let mut part = ChunkInputs::default();
    let mut inputs: Vec<Vec<f32>> = vec![Vec::new(); tensor.inputs.len()];
    let mut base = Vec::new();
    for r in 0..SAMPLE_RUNS {
        let start = (r * numel / SAMPLE_RUNS).min(numel - run);
        part.read(models, tensor, start..start + run).await?;
        base.extend_from_slice(part.base.as_deref().unwrap_or_default());
        for (all, values) in inputs.iter_mut().zip(&part.inputs) {
            all.extend_from_slice(values);
        }
    }
    sample.base = Some(base);
    sample.inputs = inputs;
    sample.with_chunk(|c| merger.guess(c));
    Ok(())
}

/// One merged chunk of a one-pass tensor, waiting for the tensor to settle.
pub struct HeldChunk {
    pub bytes: Vec<u8>,
    pub range: Range<usize>,
    pub tally: ChunkTally,
    /// Keeps the merger (and its guess) alive until the tensor is settled.
    pub merger: Prepared,
}

/// Settles the tensor from its held chunks and patches their bytes in place; when the guess
/// missed, merges the tensor again the two-pass way (a fresh merger, chunk by chunk).
pub fn settle_held<S: TensorSource>(
    models: &[Checkpoint<S>],
    tensor: &PlannedTensor,
    chunk_elements: usize,
    held: &mut [HeldChunk],
) -> Result<()> {
    let Some(first) = held.first() else {
        return Ok(());
    };
    let cell = first.merger.clone();
    let merger = cell
        .get()
        .and_then(Option::as_ref)
        .expect("a held chunk's merger was prepared");
    let tallies: Vec<&ChunkTally> = held.iter().map(|h| &h.tally).collect();
    if std::env::var_os("MM_DEBUG").is_some() {
        let und: usize = tallies.iter().map(|t| t.undecided.len()).sum();
        let cap: usize = tallies.iter().flat_map(|t| t.per_input.iter()).flat_map(|c| c.iter()).map(|c| c.captured.len()).sum();
        eprintln!("{} numel {} undecided {:.4} captured {:.4}", tensor.output.name, tensor.numel(), und as f64 / tensor.numel() as f64, cap as f64 / tensor.numel() as f64);
    }
    if merger.settle(&tallies) {
        patch_undecided(tensor, merger.as_ref(), held);
        return Ok(());
    }
    merge_again(models, tensor, chunk_elements, held)
}

fn patch_undecided(tensor: &PlannedTensor, merger: &dyn TensorMerge, held: &mut [HeldChunk]) {
    let dtype = tensor.output.dtype;
    let size = dtype.size();
    let mut values = Vec::new();
    for chunk in held.iter_mut() {
        let undecided = &chunk.tally.undecided;
        if undecided.is_empty() {
            continue;
        }
        set_len(&mut values, undecided.len());
        merger.apply_undecided(undecided, &mut values);
        for (value, &index) in values.iter().zip(&undecided.indices) {
            let at = (index as usize - chunk.range.start) * size;
            dtype.encode(std::slice::from_ref(value), &mut chunk.bytes[at..at + size]);
        }
    }
}

fn merge_again<S: TensorSource>(
    models: &[Checkpoint<S>],
    tensor: &PlannedTensor,
    chunk_elements: usize,
    held: &mut [HeldChunk],
) -> Result<()> {
    let mut merger = build_merger(&tensor.recipe)?;
    pollster::block_on(gather_statistics(
        models,
        tensor,
        merger.as_mut(),
        chunk_elements,
    ))?;
    let (mut inputs, mut merged) = (ChunkInputs::default(), Vec::new());
    for chunk in held.iter_mut() {
        pollster::block_on(inputs.read(models, tensor, chunk.range.clone()))?;
        merge_chunk(tensor, merger.as_ref(), &inputs, &mut merged, &mut chunk.bytes);
    }
    Ok(())
}
