//! Statistics that each input gathers on its own, read straight from the stored bytes. A
//! sparsifier's statistics (top-k windows, L1 sums, recorded keep bits) depend on its own input
//! and the base only, so an executor can run every input's pass on its own thread, and each
//! decodes one block at a time into buffers that stay in L1 instead of handing decoded chunks
//! from thread to thread.

use crate::dtype::DType;

/// Consecutive elements of one input as stored: little-endian bytes of `dtype`.
#[derive(Debug, Clone, Copy)]
pub struct Stored<'a> {
    pub bytes: &'a [u8],
    pub dtype: DType,
}

impl Stored<'_> {
    pub fn len(&self) -> usize {
        self.bytes.len() / self.dtype.size()
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// Decodes elements `range` into `out` (of the range's length).
    pub fn decode(&self, range: std::ops::Range<usize>, out: &mut [f32]) {
        let size = self.dtype.size();
        self.dtype
            .decode(&self.bytes[range.start * size..range.end * size], out);
    }
}

/// One input's statistics pass for one tensor, fed its elements in order.
pub trait InputStatistics: Send {
    /// Which input (config order, base excluded) this pass reads.
    fn input(&self) -> usize;

    /// Elements `start..start + input.len()` of this input and of the base.
    fn observe_stored(&mut self, start: usize, input: Stored<'_>, base: Stored<'_>);
}
