//! One tensor's merger through its life: built when its tensor starts, prepared once (statistics passes), shared by
//! the workers applying its chunks, and dropped after its last chunk — so statistics buffers
//! never accumulate across a model.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use crate::merge::{build_merger, TensorMerge, TensorRecipe};

/// `None` inside means preparation failed (the error was reported where it happened).
pub type Prepared = Arc<OnceLock<Option<Box<dyn TensorMerge>>>>;

pub struct TensorSlot<'a> {
    recipe: &'a TensorRecipe,
    prepared: Mutex<Option<Prepared>>,
    chunks_left: AtomicUsize,
}

impl<'a> TensorSlot<'a> {
    pub fn new(recipe: &'a TensorRecipe, chunks: usize) -> Self {
        TensorSlot {
            recipe,
            prepared: Mutex::new(Some(Arc::new(OnceLock::new()))),
            chunks_left: AtomicUsize::new(chunks),
        }
    }

    /// The prepared merger, running `prepare` first if no worker has yet; other workers asking
    /// meanwhile wait for it. `None` once the tensor is finished or preparation failed.
    pub fn get(
        &self,
        prepare: impl FnOnce(Box<dyn TensorMerge>) -> Option<Box<dyn TensorMerge>>,
    ) -> Option<Prepared> {
        let cell = self.prepared.lock().expect("merger slot").clone()?;
        // The recipe was built once while planning the items, so this cannot fail.
        cell.get_or_init(|| build_merger(self.recipe).ok().and_then(prepare));
        Some(cell)
    }

    /// Called after each chunk is merged; the last one releases the merger.
    pub fn chunk_done(&self) {
        if self.chunks_left.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.prepared.lock().expect("merger slot").take();
        }
    }
}
