//! Where a tensor's input bytes come from: a reader the caller implements (mapped shards
//! natively, file slices in a browser), awaited so the same kernels run in both.

use std::future::Future;
use std::ops::Range;
use std::pin::Pin;

use crate::error::Result;

/// A pending slot read; boxed so that `dyn SlotReader` stays usable.
pub type SlotRead<'a> = Pin<Box<dyn Future<Output = Result<()>> + 'a>>;

/// Where a tensor's input bytes come from.
pub trait SlotReader {
    /// Raw little-endian bytes of elements `range` of `slot` (the base first when present,
    /// then the inputs), exactly `range.len()` × dtype size of them, into `out`.
    fn read<'a>(
        &'a mut self,
        slot: usize,
        range: Range<usize>,
        out: &'a mut Vec<u8>,
    ) -> SlotRead<'a>;

    /// Every element of `slot`, when the reader already holds them (read ahead natively),
    /// handed over once; `None` otherwise.
    fn take_whole(&mut self, _slot: usize) -> Option<Vec<u8>> {
        None
    }

    /// Returns bytes from [`SlotReader::take_whole`] once uploaded, for reading ahead again.
    fn recycle(&mut self, _bytes: Vec<u8>) {}

    /// Every element of `slot` in memory the reader maps (a mapped shard, natively), to upload
    /// from there without a copy; `None` when it has no such view.
    fn mapped_whole(&mut self, _slot: usize) -> Result<Option<MappedSlot<'_>>> {
        Ok(None)
    }
}

/// A slot's bytes viewed in place; the view is released when this drops.
pub type MappedSlot<'a> = Box<dyn std::ops::Deref<Target = [u8]> + 'a>;
