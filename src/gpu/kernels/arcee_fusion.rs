//! arcee_fusion on the GPU. Its statistics are a softmax KL divergence per row, in f64, and
//! quantiles of the importance: WGSL has no f64, so the host computes them with the CPU twin's
//! own code (src/merge/arcee_fusion.rs) in one pass, keeping each row's divergence; the apply
//! kernel reads the chunk's divergences from a scratch region and keeps δ where
//! |δ|·KL ≥ threshold.

use std::ops::Range;

use super::apply::ApplyPlan;
use super::scratch_regions::ScratchRegions;
use crate::error::Result;
use crate::gpu::runtime::buffers::Scratch;
use crate::gpu::runtime::chunker::Chunker;
use crate::gpu::runtime::context::GpuContext;
use crate::gpu::runtime::job::GpuTensor;
use crate::gpu::runtime::params::Params;
use crate::gpu::runtime::source::SlotReader;
use crate::merge::arcee_fusion::{row_divergences, ArceeFusion};
use crate::merge::{TensorMerge, TensorRecipe};

pub struct ArceePlan {
    row_len: usize,
    /// KL divergence of every row of the tensor.
    divergences: Vec<f32>,
}

impl ArceePlan {
    pub fn new(recipe: &TensorRecipe) -> Self {
        ArceePlan {
            row_len: recipe.row_len(),
            divergences: Vec::new(),
        }
    }

    pub fn row_len(&self) -> usize {
        self.row_len
    }

    /// The threshold into the header's `a`, the rows' divergences kept for `prepare`.
    pub async fn gather(
        &mut self,
        ctx: &GpuContext,
        tensor: &GpuTensor<'_>,
        reader: &mut dyn SlotReader,
        plan: &mut ApplyPlan,
    ) -> Result<()> {
        let mut merger = ArceeFusion::new(tensor.recipe)?;
        let chunker = Chunker::with_scratch(ctx, tensor, &plan.uploads, 1, self.row_len)?;
        let (mut raw, mut base, mut x) = (Vec::new(), Vec::new(), Vec::new());
        self.divergences.clear();
        for range in chunker.ranges(tensor.numel()) {
            for (slot, out) in [(plan.uploads[0], &mut base), (plan.uploads[1], &mut x)] {
                reader.read(slot, range.clone(), &mut raw).await?;
                out.resize(range.len(), 0.0);
                tensor.slots[slot].decode(&raw, out);
            }
            let divergences = row_divergences(self.row_len, &base, &x);
            merger.observe_rows(range.start, &divergences, &base, &x);
            self.divergences.extend(divergences);
        }
        merger.finish_pass(0);
        plan.header.a = merger.threshold();
        Ok(())
    }

    /// The chunk's rows' divergences into its scratch region.
    pub fn prepare(
        &self,
        ctx: &GpuContext,
        scratch: &mut Scratch,
        range: &Range<usize>,
        params: &mut Params,
        regions: &ScratchRegions,
    ) {
        let rows = range.start / self.row_len..range.end / self.row_len;
        let bytes = bytemuck::cast_slice(&self.divergences[rows]);
        scratch.write_inputs(ctx, regions.input_bytes, regions.word(0) as u64 * 4, bytes);
        params.header.u[0] = self.row_len as u32;
        params.header.u[1] = regions.word(0);
    }
}
