//! One tensor's merger through its life: built, prepared once (statistics passes), shared by
//! the workers applying its chunks, and dropped after its last chunk — so statistics buffers
//! never accumulate across a model.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use crate::merge::TensorMerge;

/// `None` inside means preparation failed (the error was reported where it happened).
pub type Prepared = Arc<OnceLock<Option<Box<dyn TensorMerge>>>>;

pub struct TensorSlot {
    unprepared: Mutex<Option<Box<dyn TensorMerge>>>,
    prepared: Mutex<Option<Prepared>>,
    chunks_left: AtomicUsize,
}

impl TensorSlot {
    pub fn new(merger: Box<dyn TensorMerge>, chunks: usize) -> Self {
        TensorSlot {
            unprepared: Mutex::new(Some(merger)),
            prepared: Mutex::new(Some(Arc::new(OnceLock::new()))),
            chunks_left: AtomicUsize::new(chunks),
        }
    }

    pub fn needs_statistics(&self) -> bool {
        self.unprepared
            .lock()
            .expect("merger slot")
            .as_ref()
            .is_some_and(|m| m.stat_passes() > 0)
    }

    /// The prepared merger, running `prepare` first if no worker has yet; other workers asking
    /// meanwhile wait for it. `None` once the tensor is finished or preparation failed.
    pub fn get(
        &self,
        prepare: impl FnOnce(Box<dyn TensorMerge>) -> Option<Box<dyn TensorMerge>>,
    ) -> Option<Prepared> {
        let cell = self.prepared.lock().expect("merger slot").clone()?;
        cell.get_or_init(|| {
            let merger = self.unprepared.lock().expect("merger slot").take()?;
            prepare(merger)
        });
        Some(cell)
    }

    /// Called after each chunk is merged; the last one releases the merger.
    pub fn chunk_done(&self) {
        if self.chunks_left.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.prepared.lock().expect("merger slot").take();
        }
    }
}
