//! The native pipeline: worker threads read, decode, merge and encode chunks in parallel while
//! the calling thread writes them in file order. A window of items in flight bounds memory.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Condvar, Mutex};

use super::chunks::{plan_items, schedule, Step};
use super::inputs::{merge_chunk, ChunkInputs};
use super::read_ahead::gather_statistics_threaded;
use super::tensor_slot::TensorSlot;
use super::{ExecOptions, Progress};
use crate::error::{MergeError, Result};
use crate::io::{Checkpoint, ShardSink, ShardWriter, TensorSource};
use crate::merge::TensorMerge;
use crate::plan::{MergePlan, PlannedTensor};

/// Merges every tensor of `plan` into `writer`. Stops early on the first error or when
/// `cancel` is set; the caller then discards the partial output.
pub fn run_native<S, K>(
    plan: &MergePlan,
    models: &[Checkpoint<S>],
    writer: &mut ShardWriter<K>,
    options: &ExecOptions,
    cancel: &AtomicBool,
    progress: &mut dyn FnMut(Progress),
) -> Result<()>
where
    S: TensorSource + Sync,
    K: ShardSink,
{
    let (items, needs_statistics) = plan_items(plan, options.chunk_elements)?;
    let numels: Vec<usize> = plan.tensors.iter().map(|t| t.numel()).collect();
    let mut chunk_counts = vec![0usize; numels.len()];
    for item in &items {
        chunk_counts[item.tensor] += 1;
    }
    let slots: Vec<TensorSlot> = plan
        .tensors
        .iter()
        .zip(chunk_counts)
        .map(|(tensor, chunks)| TensorSlot::new(&tensor.recipe, chunks))
        .collect();
    let steps = schedule(items, &needs_statistics);

    let threads = options.threads.max(1);
    let window = threads * 2;
    let next = AtomicUsize::new(0);
    let written = (Mutex::new(0usize), Condvar::new());
    let abort = AtomicBool::new(false);
    let first_error: Mutex<Option<MergeError>> = Mutex::new(None);
    let fail = |e: MergeError| {
        first_error.lock().expect("error slot").get_or_insert(e);
        abort.store(true, Ordering::SeqCst);
        written.1.notify_all();
    };

    // Written output buffers come back here for reuse, so encoded bytes stay in warm memory.
    let spare_buffers: Mutex<Vec<Vec<u8>>> = Mutex::new(Vec::new());

    std::thread::scope(|scope| {
        let (sender, receiver) = mpsc::channel::<(usize, Vec<u8>)>();
        for _ in 0..threads {
            let sender = sender.clone();
            let (steps, slots) = (&steps, &slots);
            let (next, written, abort, fail) = (&next, &written, &abort, &fail);
            let spare_buffers = &spare_buffers;
            let mut chunk = ChunkInputs::default();
            let mut merged = Vec::new();
            scope.spawn(move || loop {
                let index = next.fetch_add(1, Ordering::SeqCst);
                if index >= steps.len() || abort.load(Ordering::SeqCst) {
                    break;
                }
                {
                    let mut done = written.0.lock().expect("progress lock");
                    while index >= *done + window && !abort.load(Ordering::SeqCst) {
                        done = written.1.wait(done).expect("progress lock");
                    }
                }
                if abort.load(Ordering::SeqCst) {
                    break;
                }
                if cancel.load(Ordering::SeqCst) {
                    fail(MergeError::Cancelled);
                    break;
                }
                let item = match &steps[index] {
                    Step::Prepare(t) => {
                        // Nothing to write: let the writer move past this step at once.
                        if sender.send((index, Vec::new())).is_err() {
                            break;
                        }
                        slots[*t].get(|m| prepare(models, &plan.tensors[*t], options, fail, m));
                        continue;
                    }
                    Step::Chunk(item) => item,
                };
                let tensor = &plan.tensors[item.tensor];
                let Some(prepared) =
                    slots[item.tensor].get(|m| prepare(models, tensor, options, fail, m))
                else {
                    break;
                };
                let Some(merger) = prepared.get().and_then(Option::as_ref) else {
                    break;
                };
                match pollster::block_on(chunk.read(models, tensor, item.range.clone())) {
                    Ok(()) => {
                        let mut bytes = spare_buffers
                            .lock()
                            .expect("buffers")
                            .pop()
                            .unwrap_or_default();
                        merge_chunk(tensor, merger.as_ref(), &chunk, &mut merged, &mut bytes);
                        drop(prepared);
                        slots[item.tensor].chunk_done();
                        if sender.send((index, bytes)).is_err() {
                            break;
                        }
                    }
                    Err(e) => {
                        fail(e);
                        break;
                    }
                }
            });
        }
        drop(sender);

        let mut pending: BTreeMap<usize, Vec<u8>> = BTreeMap::new();
        let mut next_to_write = 0usize;
        let mut report = Progress::start(plan);
        for (index, bytes) in receiver {
            pending.insert(index, bytes);
            while let Some(bytes) = pending.remove(&next_to_write) {
                if let Err(e) = writer.write(&bytes) {
                    fail(e);
                    return;
                }
                report.bytes_written += bytes.len() as u64;
                spare_buffers.lock().expect("buffers").push(bytes);
                if let Step::Chunk(item) = &steps[next_to_write] {
                    if item.range.end == numels[item.tensor] {
                        report.tensors_done += 1;
                    }
                }
                next_to_write += 1;
                *written.0.lock().expect("progress lock") = next_to_write;
                written.1.notify_all();
                progress(report);
            }
        }
    });

    if let Some(e) = first_error.into_inner().expect("error slot") {
        return Err(e);
    }
    Ok(())
}

/// Runs a merger's statistics passes; on failure reports the error and yields no merger.
fn prepare<S: TensorSource + Sync>(
    models: &[Checkpoint<S>],
    tensor: &PlannedTensor,
    options: &ExecOptions,
    fail: &dyn Fn(MergeError),
    mut merger: Box<dyn TensorMerge>,
) -> Option<Box<dyn TensorMerge>> {
    let gathered = gather_statistics_threaded(
        models,
        tensor,
        merger.as_mut(),
        options.chunk_elements,
        options.threads,
    );
    match gathered {
        Ok(()) => Some(merger),
        Err(e) => {
            fail(e);
            None
        }
    }
}
