//! Native GPU merges read ahead: while the GPU merges one tensor, a thread reads every slot of
//! the next tensor that will be held whole on the device (its slots in parallel), so reading
//! from disk or page cache overlaps uploads, kernels and read-backs.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread::Scope;

use super::executor::held_whole;
use crate::io::{Checkpoint, TensorSource};
use crate::plan::MergePlan;

/// The slots of tensor `index` of the plan, read whole.
struct ReadAhead {
    index: usize,
    slots: Vec<Vec<u8>>,
}

/// The executor's end of the read-ahead thread.
pub(crate) struct Ahead {
    receiver: Receiver<ReadAhead>,
    next: Option<ReadAhead>,
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
        scope.spawn(move || read_ahead(plan, models, limit, cancel, sender));
        Ahead {
            receiver,
            next: None,
        }
    }

    /// The slots of tensor `index` (one with [`held_whole`]), when the thread read them all.
    pub fn take(&mut self, index: usize) -> Option<Vec<Vec<u8>>> {
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
}

fn read_ahead<S: TensorSource + Sync>(
    plan: &MergePlan,
    models: &[Checkpoint<S>],
    limit: u64,
    cancel: &AtomicBool,
    sender: SyncSender<ReadAhead>,
) {
    for (index, tensor) in plan.tensors.iter().enumerate() {
        if cancel.load(Ordering::Relaxed) {
            return;
        }
        if !held_whole(tensor, limit) {
            continue;
        }
        let slots: Vec<_> = tensor.base.iter().chain(&tensor.inputs).collect();
        let read = std::thread::scope(|scope| {
            let readers: Vec<_> = (slots.iter())
                .map(|input| {
                    scope.spawn(move || {
                        let mut bytes = vec![0u8; tensor.numel() * input.dtype.size()];
                        let read = models[input.model].read_elements(
                            &input.tensor,
                            0,
                            tensor.numel(),
                            &mut bytes,
                        );
                        pollster::block_on(read).ok().map(|()| bytes)
                    })
                })
                .collect();
            (readers.into_iter())
                .map(|r| r.join().ok().flatten())
                .collect::<Option<Vec<_>>>()
        });
        // A failed read is left to the executor, which reads again and reports it.
        let Some(slots) = read else { continue };
        if sender.send(ReadAhead { index, slots }).is_err() {
            return;
        }
    }
}
