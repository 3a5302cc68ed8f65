//! What the selection methods share: where a chunk's scratch regions lie after its uploaded
//! slots, and a loop over a plan's chunks that stages them before visiting each.

use std::ops::Range;

use super::apply::ApplyPlan;
use crate::error::Result;
use crate::gpu::runtime::buffers::Scratch;
use crate::gpu::runtime::chunker::Chunker;
use crate::gpu::runtime::context::GpuContext;
use crate::gpu::runtime::job::GpuTensor;
use crate::gpu::runtime::params::Params;
use crate::gpu::runtime::source::SlotReader;

/// Where a chunk's scratch regions lie in the input buffer, in words.
pub struct ScratchRegions {
    pub first: u32,
    pub len: u32,
    pub input_bytes: u64,
}

impl ScratchRegions {
    pub fn after(input_bytes: u64, regions: usize, len: usize) -> Self {
        ScratchRegions {
            first: (input_bytes / 4 - (regions * len) as u64) as u32,
            len: len as u32,
            input_bytes,
        }
    }

    /// The first word of region `k`.
    pub fn word(&self, k: usize) -> u32 {
        self.first + k as u32 * self.len
    }
}

/// Uploads every chunk of `plan`'s slots (whole rows, room for `regions`), lets `prepare`
/// stage its scratch, then `visit`s it.
#[allow(clippy::too_many_arguments)]
pub async fn each_chunk(
    ctx: &GpuContext,
    scratch: &mut Scratch,
    tensor: &GpuTensor<'_>,
    reader: &mut dyn SlotReader,
    plan: &ApplyPlan,
    (regions, row_len): (usize, usize),
    mut prepare: impl AsyncFnMut(&mut Scratch, &Range<usize>, &mut Params, u64) -> Result<()>,
    mut visit: impl AsyncFnMut(&mut Scratch, &Range<usize>, &Params, u64) -> Result<()>,
) -> Result<()> {
    let mut chunker = Chunker::with_scratch(ctx, tensor, &plan.uploads, regions, row_len)?;
    let mut params = plan.params();
    for range in chunker.ranges(tensor.numel()) {
        let bytes = chunker
            .upload(ctx, scratch, reader, &plan.uploads, &range, &mut params)
            .await?;
        prepare(scratch, &range, &mut params, bytes).await?;
        visit(scratch, &range, &params, bytes).await?;
    }
    Ok(())
}
