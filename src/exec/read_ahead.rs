//! Statistics passes on more than one thread, so a big tensor's statistics (the embedding is a
//! fifth of a Llama) use both cores: one thread per input when each input's statistics are its
//! own, else reading overlapped — a helper thread reads and decodes the next chunk while this
//! thread observes the current one, in element order as `observe` requires.

use std::sync::mpsc;

use super::input_statistics::observe_inputs_in_parallel;
use super::inputs::{observe_decoded, statistics_step, ChunkInputs};
use crate::error::Result;
use crate::io::{Checkpoint, TensorSource};
use crate::merge::TensorMerge;
use crate::plan::PlannedTensor;

/// Tensors of fewer chunks than this gather their statistics on one thread.
const MIN_CHUNKS: usize = 8;
/// Elements per hand-off from the reader: each costs a wake-up on both threads, and the
/// chunk goes from one core to the other through the shared cache anyway.
const READ_AHEAD_ELEMENTS: usize = 1 << 18;

/// Like [`gather_statistics`], on up to `threads` threads: per-input statistics spread over
/// them, or else each pass's reads on a second thread for big tensors.
pub fn gather_statistics_threaded<S: TensorSource + Sync>(
    models: &[Checkpoint<S>],
    tensor: &PlannedTensor,
    merger: &mut dyn TensorMerge,
    chunk_elements: usize,
    threads: usize,
) -> Result<()> {
    let step = statistics_step(merger, chunk_elements);
    // Small tensors are not worth a thread.
    let small = tensor.numel() < MIN_CHUNKS * step;
    let mut pass = 0;
    while pass < merger.stat_passes() {
        if merger.statistics_by_input() {
            let observers = merger.input_statistics(pass);
            let threads = if small { 1 } else { threads };
            observe_inputs_in_parallel(models, tensor, observers, step, threads)?;
        } else if small {
            pollster::block_on(observe_decoded(models, tensor, merger, pass, step))?;
        } else {
            let step = statistics_step(merger, chunk_elements.max(READ_AHEAD_ELEMENTS));
            observe_read_ahead(models, tensor, merger, pass, step)?;
        }
        merger.finish_pass(pass);
        pass += 1;
    }
    Ok(())
}

/// One pass of `merger.observe`, chunks of `step` elements read on a helper thread.
fn observe_read_ahead<S: TensorSource + Sync>(
    models: &[Checkpoint<S>],
    tensor: &PlannedTensor,
    merger: &mut dyn TensorMerge,
    pass: usize,
    step: usize,
) -> Result<()> {
    let numel = tensor.numel();
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
    })
}
