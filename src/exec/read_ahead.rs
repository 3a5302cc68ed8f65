//! Statistics passes with reading overlapped: a helper thread reads and decodes the next chunk
//! while this thread observes the current one, in element order as `observe` requires. A big
//! tensor's statistics (the embedding is a fifth of a Llama) then use both cores.

use std::sync::mpsc;

use super::inputs::{gather_statistics, ChunkInputs};
use crate::error::Result;
use crate::io::{Checkpoint, TensorSource};
use crate::merge::TensorMerge;
use crate::plan::PlannedTensor;

/// Tensors of fewer chunks than this gather their statistics on one thread.
const MIN_CHUNKS: usize = 8;
/// Elements per hand-off from the reader: each costs a wake-up on both threads, and the
/// chunk goes from one core to the other through the shared cache anyway.
const READ_AHEAD_ELEMENTS: usize = 1 << 18;

/// Like [`gather_statistics`], with each pass's reads on a second thread for big tensors.
pub fn gather_statistics_read_ahead<S: TensorSource + Sync>(
    models: &[Checkpoint<S>],
    tensor: &PlannedTensor,
    merger: &mut dyn TensorMerge,
    chunk_elements: usize,
) -> Result<()> {
    let numel = tensor.numel();
    let align = merger.row_alignment().max(1);
    let step = (chunk_elements / align).max(1) * align;
    if numel < MIN_CHUNKS * step {
        return pollster::block_on(gather_statistics(models, tensor, merger, chunk_elements));
    }
    let step = (chunk_elements.max(READ_AHEAD_ELEMENTS) / align).max(1) * align;
    let mut pass = 0;
    while pass < merger.stat_passes() {
        std::thread::scope(|scope| -> Result<()> {
            let (full, filled) = mpsc::sync_channel::<Result<ChunkInputs>>(1);
            let (empty, spare) = mpsc::channel::<ChunkInputs>();
            for _ in 0..2 {
                let _ = empty.send(ChunkInputs::default());
            }
            scope.spawn(move || {
                let mut start = 0;
                while start < numel {
                    let Ok(mut chunk) = spare.recv() else { return };
                    let end = (start + step).min(numel);
                    let read = pollster::block_on(chunk.read(models, tensor, start..end));
                    let failed = read.is_err();
                    if full.send(read.map(|()| chunk)).is_err() || failed {
                        return;
                    }
                    start = end;
                }
            });
            // Returning early (an error) drops the channels, which ends the reader.
            for read in filled {
                let chunk = read?;
                chunk.with_chunk(|c| merger.observe(pass, c));
                let _ = empty.send(chunk);
            }
            Ok(())
        })?;
        merger.finish_pass(pass);
        pass += 1;
    }
    Ok(())
}
