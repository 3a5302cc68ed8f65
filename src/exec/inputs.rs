//! Reading one chunk of every input of a planned tensor and decoding it to f32.

use std::ops::Range;

use super::input_statistics::observe_inputs;
use crate::error::Result;
use crate::io::{Checkpoint, TensorSource};
use crate::merge::{Chunk, TensorMerge};
use crate::plan::{InputRef, PlannedTensor};

/// Decoded inputs of one chunk. Buffers are reused across reads, so a worker that reads chunk
/// after chunk allocates (and zeroes) memory only when a chunk is larger than any before.
#[derive(Default)]
pub struct ChunkInputs {
    pub start: usize,
    pub base: Option<Vec<f32>>,
    pub inputs: Vec<Vec<f32>>,
    raw: Vec<u8>,
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

    pub fn len(&self) -> usize {
        self.base
            .as_ref()
            .or(self.inputs.first())
            .map_or(0, Vec::len)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Reads elements `range` of every input of `tensor` into this chunk's buffers.
    pub async fn read<S: TensorSource>(
        &mut self,
        models: &[Checkpoint<S>],
        tensor: &PlannedTensor,
        range: Range<usize>,
    ) -> Result<()> {
        self.start = range.start;
        match &tensor.base {
            Some(input) => {
                let mut base = self.base.take().unwrap_or_default();
                read_input(models, input, range.clone(), &mut self.raw, &mut base).await?;
                self.base = Some(base);
            }
            None => self.base = None,
        }
        self.inputs.resize_with(tensor.inputs.len(), Vec::new);
        for (input, values) in tensor.inputs.iter().zip(self.inputs.iter_mut()) {
            read_input(models, input, range.clone(), &mut self.raw, values).await?;
        }
        Ok(())
    }
}

/// Sets `buffer` to `len` elements without touching existing contents (callers overwrite them).
pub fn set_len<T: Copy + Default>(buffer: &mut Vec<T>, len: usize) {
    if buffer.len() > len {
        buffer.truncate(len);
    } else {
        buffer.resize(len, T::default());
    }
}

async fn read_input<S: TensorSource>(
    models: &[Checkpoint<S>],
    input: &InputRef,
    range: Range<usize>,
    raw: &mut Vec<u8>,
    values: &mut Vec<f32>,
) -> Result<()> {
    set_len(values, range.len());
    let bytes = models[input.model]
        .element_bytes(&input.tensor, range.start, range.len(), raw)
        .await?;
    input.dtype.decode(&bytes, values);
    Ok(())
}

/// Runs the merger's statistics passes over the whole tensor, chunk by chunk.
pub async fn gather_statistics<S: TensorSource>(
    models: &[Checkpoint<S>],
    tensor: &PlannedTensor,
    merger: &mut dyn TensorMerge,
    chunk_elements: usize,
) -> Result<()> {
    let step = statistics_step(merger, chunk_elements);
    // The pass count may shrink as statistics arrive (top-k often settles in two passes).
    let mut pass = 0;
    while pass < merger.stat_passes() {
        if merger.statistics_by_input() {
            let mut observers = merger.input_statistics(pass);
            observe_inputs(models, tensor, &mut observers, step).await?;
        } else {
            observe_decoded(models, tensor, merger, pass, step).await?;
        }
        merger.finish_pass(pass);
        pass += 1;
    }
    Ok(())
}

/// Elements per statistics chunk: `chunk_elements` rounded down to whole rows of the merger.
pub fn statistics_step(merger: &dyn TensorMerge, chunk_elements: usize) -> usize {
    let align = merger.row_alignment().max(1);
    (chunk_elements / align).max(1) * align
}

/// One statistics pass of `merger.observe` over decoded chunks of `step` elements.
pub async fn observe_decoded<S: TensorSource>(
    models: &[Checkpoint<S>],
    tensor: &PlannedTensor,
    merger: &mut dyn TensorMerge,
    pass: usize,
    step: usize,
) -> Result<()> {
    let numel = tensor.numel();
    let mut start = 0;
    let mut chunk = ChunkInputs::default();
    while start < numel {
        let end = (start + step).min(numel);
        chunk.read(models, tensor, start..end).await?;
        chunk.with_chunk(|c| merger.observe(pass, c));
        start = end;
    }
    Ok(())
}

/// Merges one chunk into `out` (scratch) and encodes it in the output dtype into `encoded`.
pub fn merge_chunk(
    tensor: &PlannedTensor,
    merger: &dyn TensorMerge,
    chunk: &ChunkInputs,
    out: &mut Vec<f32>,
    encoded: &mut Vec<u8>,
) {
    set_len(out, chunk.len());
    chunk.with_chunk(|c| merger.apply(c, out));
    set_len(encoded, out.len() * tensor.output.dtype.size());
    tensor.output.dtype.encode(out, encoded);
}
