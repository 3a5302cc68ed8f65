//! Native GPU merges read ahead: while the GPU merges one tensor, a thread brings in every slot
//! of the next tensor that will be held whole on the device (its slots in parallel), so reading
//! from disk overlaps uploads, kernels and read-backs. Slots of mapped shards are only faulted
//! in (the upload copies them from the map into the staging buffer: one copy, no heap); others
//! are read into memory that the executor hands back once uploaded.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, sync_channel, Receiver, Sender, SyncSender};
use std::thread::Scope;

use super::executor::{held_whole, ReadAhead};
use crate::io::{Checkpoint, TensorSource};
use crate::plan::{InputRef, MergePlan};

/// The slots of tensor `index` of the plan, read whole; none when they were faulted in where
/// they are mapped.
struct ReadTensor {
    index: usize,
    slots: Vec<Vec<u8>>,
}

/// The executor's end of the read-ahead thread.
pub(crate) struct Ahead {
    receiver: Receiver<ReadTensor>,
    next: Option<ReadTensor>,
    /// Uploaded slots' memory, back to the thread: fresh pages cost more to fault in than
    /// reading fills them.
    recycle: Sender<Vec<u8>>,
}

impl Ahead {
    /// Starts reading the plan's held tensors in order, one tensor ahead of [`Ahead::take`].
    pub fn start<'scope, S: TensorSource + Sync>(
        scope: &'scope Scope<'scope, '_>,
        plan: &'scope MergePlan,
        models: &'scope [Checkpoint<S>],
        limit: u64,
        cancel: &'scope AtomicBool,
    ) -> Self {
        // Rendezvous: one tensor read ahead while the executor merges the current one.
        let (sender, receiver) = sync_channel(0);
        let (recycle, recycled) = channel();
        let pool = Pool {
            recycled,
            free: Vec::new(),
        };
        scope.spawn(move || read_ahead(plan, models, limit, cancel, sender, pool));
        Ahead {
            receiver,
            next: None,
            recycle,
        }
    }
}

impl ReadAhead for Ahead {
    /// The slots of tensor `index` (one with [`held_whole`]), when the thread read them all.
    fn take(&mut self, index: usize) -> Option<Vec<Vec<u8>>> {
        loop {
            if self.next.is_none() {
                self.next = Some(self.receiver.recv().ok()?);
            }
            let next = self.next.as_ref().expect("just received");
            if next.index > index {
                return None;
            }
            let read = self.next.take().expect("just received");
            if read.index == index {
                return Some(read.slots);
            }
        }
    }

    fn recycle(&mut self, bytes: Vec<u8>) {
        // The thread has stopped when this fails: the memory is simply freed.
        let _ = self.recycle.send(bytes);
    }
}

/// Memory for slots, reused as the executor hands it back.
struct Pool {
    recycled: Receiver<Vec<u8>>,
    free: Vec<Vec<u8>>,
}

impl Pool {
    /// Bytes read ahead are at most two tensors' worth: more buffers than that are not kept.
    const KEEP: usize = 16;

    /// `len` zeroed bytes, in recycled memory when some is large enough.
    fn take(&mut self, len: usize) -> Vec<u8> {
        self.free.extend(self.recycled.try_iter());
        self.free.sort_by_key(Vec::capacity);
        self.free.truncate(Self::KEEP);
        // Room for the upload's padding to a word, so that it never reallocates.
        let room = len.next_multiple_of(4);
        let mut bytes = match self.free.iter().position(|b| b.capacity() >= room) {
            Some(at) => self.free.swap_remove(at),
            None => Vec::with_capacity(room),
        };
        bytes.clear();
        bytes.resize(len, 0);
        bytes
    }
}

/// Pieces a slot is read or faulted in at once (page-cache reads are copies and faults take
/// the kernel's time: more cores, more speed).
fn pieces(bytes: usize) -> usize {
    const PIECE: usize = 64 << 20;
    bytes.div_ceil(PIECE).clamp(1, 4)
}

fn read_ahead<S: TensorSource + Sync>(
    plan: &MergePlan,
    models: &[Checkpoint<S>],
    limit: u64,
    cancel: &AtomicBool,
    sender: SyncSender<ReadTensor>,
    mut pool: Pool,
) {
    for (index, tensor) in plan.tensors.iter().enumerate() {
        if cancel.load(Ordering::Relaxed) {
            return;
        }
        if !held_whole(tensor, limit) {
            continue;
        }
        let numel = tensor.numel();
        let inputs: Vec<_> = tensor.base.iter().chain(&tensor.inputs).collect();
        if let Some(mapped) = mapped_slots(models, &inputs, numel) {
            // The executor uploads straight from the map: bring the pages in, copy nothing.
            fault_in(&mapped);
            if sender
                .send(ReadTensor {
                    index,
                    slots: Vec::new(),
                })
                .is_err()
            {
                return;
            }
            continue;
        }
        let mut slots: Vec<Vec<u8>> = (inputs.iter())
            .map(|input| pool.take(numel * input.dtype.size()))
            .collect();
        let read = std::thread::scope(|scope| {
            let mut readers = Vec::new();
            for (input, bytes) in inputs.iter().zip(&mut slots) {
                let size = input.dtype.size();
                let per_piece = numel.div_ceil(pieces(bytes.len())).max(1);
                for (piece, out) in bytes.chunks_mut(per_piece * size).enumerate() {
                    let model = &models[input.model];
                    readers.push(scope.spawn(move || {
                        let first = piece * per_piece;
                        let read = model.read_elements(&input.tensor, first, out.len() / size, out);
                        pollster::block_on(read).is_ok()
                    }));
                }
            }
            readers.into_iter().all(|r| r.join().unwrap_or(false))
        });
        // A failed read is left to the executor, which reads again and reports it.
        if !read {
            continue;
        }
        if sender.send(ReadTensor { index, slots }).is_err() {
            return;
        }
    }
}

/// Views of every slot of a tensor, left mapped; `None` unless all of them are mapped.
fn mapped_slots<'a, S: TensorSource>(
    models: &'a [Checkpoint<S>],
    inputs: &[&InputRef],
    numel: usize,
) -> Option<Vec<&'a [u8]>> {
    (inputs.iter())
        .map(|input| {
            let view = models[input.model].mapped_elements(&input.tensor, 0, numel);
            Some(view.ok()??.keep_mapped())
        })
        .collect()
}

/// Touches one byte of every page of `slots` (in pieces, in parallel), so that the disk reads
/// happen here and the upload finds the pages mapped.
fn fault_in(slots: &[&[u8]]) {
    const PAGE: usize = 4096;
    std::thread::scope(|scope| {
        for bytes in slots {
            let per_piece = bytes.len().div_ceil(pieces(bytes.len())).max(1);
            for piece in bytes.chunks(per_piece) {
                scope.spawn(move || {
                    let touched = piece.iter().step_by(PAGE).fold(0u8, |a, &b| a ^ b);
                    std::hint::black_box(touched);
                });
            }
        }
    });
}
