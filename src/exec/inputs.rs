//! Reading one chunk of every input of a planned tensor and decoding it to f32.

use std::ops::Range;

use crate::error::Result;
use crate::io::{Checkpoint, TensorSource};
use crate::merge::{Chunk, TensorMerge};
use crate::plan::{InputRef, PlannedTensor};

/// Decoded inputs of one chunk.
pub struct ChunkInputs {
    pub start: usize,
    pub base: Option<Vec<f32>>,
    pub inputs: Vec<Vec<f32>>,
}

impl ChunkInputs {
    pub fn with_chunk<R>(&self, f: impl FnOnce(&Chunk<'_>) -> R) -> R {
        let inputs: Vec<&[f32]> = self.inputs.iter().map(Vec::as_slice).collect();
        f(&Chunk {
            start: self.start,
            base: self.base.as_deref(),
            inputs: &inputs,
        })
    }
}

pub async fn read_chunk<S: TensorSource>(
    models: &[Checkpoint<S>],
    tensor: &PlannedTensor,
    range: Range<usize>,
) -> Result<ChunkInputs> {
    let base = match &tensor.base {
        Some(input) => Some(read_input(models, input, range.clone()).await?),
        None => None,
    };
    let mut inputs = Vec::with_capacity(tensor.inputs.len());
    for input in &tensor.inputs {
        inputs.push(read_input(models, input, range.clone()).await?);
    }
    Ok(ChunkInputs {
        start: range.start,
        base,
        inputs,
    })
}

async fn read_input<S: TensorSource>(
    models: &[Checkpoint<S>],
    input: &InputRef,
    range: Range<usize>,
) -> Result<Vec<f32>> {
    let checkpoint = &models[input.model];
    let size = input.dtype.size();
    let mut bytes = vec![0u8; range.len() * size];
    checkpoint
        .read_elements(&input.tensor, range.start, range.len(), &mut bytes)
        .await?;
    let mut values = vec![0f32; range.len()];
    input.dtype.decode(&bytes, &mut values);
    Ok(values)
}

/// Runs the merger's statistics passes over the whole tensor, chunk by chunk.
pub async fn gather_statistics<S: TensorSource>(
    models: &[Checkpoint<S>],
    tensor: &PlannedTensor,
    merger: &mut dyn TensorMerge,
    chunk_elements: usize,
) -> Result<()> {
    let numel = tensor.numel();
    let align = merger.row_alignment().max(1);
    let step = (chunk_elements / align).max(1) * align;
    for pass in 0..merger.stat_passes() {
        let mut start = 0;
        while start < numel {
            let end = (start + step).min(numel);
            let chunk = read_chunk(models, tensor, start..end).await?;
            chunk.with_chunk(|c| merger.observe(pass, c));
            start = end;
        }
        merger.finish_pass(pass);
    }
    Ok(())
}

/// Merges one chunk and encodes it in the output dtype.
pub fn merge_chunk(
    tensor: &PlannedTensor,
    merger: &dyn TensorMerge,
    chunk: &ChunkInputs,
) -> Vec<u8> {
    let len = chunk
        .base
        .as_ref()
        .or(chunk.inputs.first())
        .map_or(0, Vec::len);
    let mut out = vec![0f32; len];
    chunk.with_chunk(|c| merger.apply(c, &mut out));
    let mut bytes = vec![0u8; len * tensor.output.dtype.size()];
    tensor.output.dtype.encode(&out, &mut bytes);
    bytes
}
