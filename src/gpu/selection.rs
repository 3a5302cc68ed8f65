//! Methods whose elements depend on more than their own inputs: DELLA (ranks within a row),
//! SCE (top-k by variance, weights from the whole tensor) and arcee_fusion (per-row divergences
//! and quantiles). On top of their element-wise `MethodPlan`, each gathers its statistics first
//! and may stage per-chunk data (ranks, divergences) in scratch regions before the apply kernel.

use std::ops::Range;

use super::arcee_fusion::ArceePlan;
use super::buffers::Scratch;
use super::della::DellaPlan;
use super::kernels::MethodPlan;
use super::params::{Header, Params, Slot};
use super::sce::ScePlan;
use super::tensor::{Chunker, GpuTensor, SlotReader};
use super::GpuContext;
use crate::error::Result;
use crate::merge::catalog::GpuRoute;
use crate::merge::TensorRecipe;

pub enum SelectionPlan {
    Della(DellaPlan),
    Sce(ScePlan),
    ArceeFusion(ArceePlan),
}

impl SelectionPlan {
    /// `None` when the recipe has no GPU plan (the CPU twin then merges it, or reports why not).
    pub fn new(recipe: &TensorRecipe, header: &mut Header, slots: &mut [Slot]) -> Option<Self> {
        match recipe.method.gpu_route()? {
            GpuRoute::Della => DellaPlan::new(recipe, slots).map(SelectionPlan::Della),
            GpuRoute::Sce => ScePlan::new(recipe, header).map(SelectionPlan::Sce),
            GpuRoute::ArceeFusion => Some(SelectionPlan::ArceeFusion(ArceePlan::new(recipe))),
            _ => None,
        }
    }

    /// Chunks hold whole rows of this length.
    pub fn row_len(&self) -> usize {
        match self {
            SelectionPlan::Della(della) => della.row_len(),
            SelectionPlan::Sce(_) => 1,
            SelectionPlan::ArceeFusion(arcee) => arcee.row_len(),
        }
    }

    /// Chunk-length f32 regions the method needs after the uploaded slots.
    pub fn scratch_regions(&self) -> usize {
        match self {
            SelectionPlan::Della(della) => della.scratch_regions(),
            SelectionPlan::Sce(sce) => sce.scratch_regions(),
            SelectionPlan::ArceeFusion(_) => 1,
        }
    }

    /// Runs the statistics passes, leaving their results in `plan`'s header and slots.
    pub async fn gather(
        &mut self,
        ctx: &GpuContext,
        scratch: &mut Scratch,
        tensor: &GpuTensor<'_>,
        reader: &mut dyn SlotReader,
        plan: &mut MethodPlan,
    ) -> Result<()> {
        match self {
            SelectionPlan::Della(della) => della.gather(ctx, scratch, tensor, reader, plan).await,
            SelectionPlan::Sce(sce) => sce.gather(ctx, scratch, tensor, reader, plan).await,
            SelectionPlan::ArceeFusion(arcee) => arcee.gather(ctx, tensor, reader, plan).await,
        }
    }

    /// Stages what the apply kernel reads besides the chunk's slots (uploaded: `input_bytes`).
    pub async fn prepare(
        &self,
        ctx: &GpuContext,
        scratch: &mut Scratch,
        range: &Range<usize>,
        params: &mut Params,
        input_bytes: u64,
    ) -> Result<()> {
        let regions = ScratchRegions::after(input_bytes, self.scratch_regions(), range.len());
        match self {
            SelectionPlan::Della(della) => {
                della.prepare(ctx, scratch, range, params, &regions).await
            }
            SelectionPlan::Sce(_) => Ok(()),
            SelectionPlan::ArceeFusion(arcee) => {
                arcee.prepare(ctx, scratch, range, params, &regions);
                Ok(())
            }
        }
    }
}

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
    plan: &MethodPlan,
    (regions, row_len): (usize, usize),
    mut prepare: impl AsyncFnMut(&mut Scratch, &Range<usize>, &mut Params, u64) -> Result<()>,
    mut visit: impl AsyncFnMut(&mut Scratch, &Range<usize>, &Params, u64) -> Result<()>,
) -> Result<()> {
    let mut chunker = Chunker::with_scratch(ctx, tensor, &plan.uploads, regions, row_len)?;
    let mut params = Params {
        header: plan.header,
        slots: plan.slots.clone(),
    };
    for range in chunker.ranges(tensor.numel()) {
        let bytes = chunker
            .upload(ctx, scratch, reader, &plan.uploads, &range, &mut params)
            .await?;
        prepare(scratch, &range, &mut params, bytes).await?;
        visit(scratch, &range, &params, bytes).await?;
    }
    Ok(())
}
