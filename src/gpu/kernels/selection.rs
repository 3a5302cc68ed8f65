//! Methods whose elements depend on more than their own inputs: DELLA (ranks within a row),
//! SCE (top-k by variance, weights from the whole tensor) and arcee_fusion (per-row divergences
//! and quantiles). On top of their element-wise `MethodPlan`, each gathers its statistics first
//! and may stage per-chunk data (ranks, divergences) in scratch regions before the apply kernel.

use std::ops::Range;

use super::apply::ApplyPlan;
use super::arcee_fusion::ArceePlan;
use super::della::DellaPlan;
use super::sce::ScePlan;
use super::scratch_regions::ScratchRegions;
use crate::error::Result;
use crate::gpu::runtime::buffers::Scratch;
use crate::gpu::runtime::context::GpuContext;
use crate::gpu::runtime::job::GpuTensor;
use crate::gpu::runtime::params::{Header, Params, Slot};
use crate::gpu::runtime::source::SlotReader;
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
        plan: &mut ApplyPlan,
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
