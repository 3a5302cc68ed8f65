//! Merging one tensor on the GPU, chunk by chunk: statistics passes over every chunk first
//! (rank cuts, L1 sums), then the apply pass, whose encoded bytes go to a sink in element order.
//! Reads and read-backs are awaited, so the same code runs natively (under `pollster`) and in a
//! browser worker (file slices and buffer maps resolve as promises).

use super::kernels::gather::gather_statistics;
use super::kernels::geometric::{self, GeometricPlan};
use super::kernels::plan::MethodPlan;
use super::runtime::buffers::{Dispatch, Scratch};
use super::runtime::context::GpuContext;
use super::runtime::job::GpuTensor;
use super::runtime::source::SlotReader;
use crate::error::{MergeError, Result};

/// Merges `tensor` on the GPU, handing its encoded bytes to `sink` chunk by chunk in element
/// order. `Unsupported` when no kernel merges the recipe (see [`super::supports`]).
pub async fn merge_tensor(
    ctx: &GpuContext,
    tensor: &GpuTensor<'_>,
    reader: &mut dyn SlotReader,
    sink: &mut dyn FnMut(&[u8]) -> Result<()>,
) -> Result<()> {
    if u32::try_from(tensor.numel()).is_err() {
        return Err(MergeError::Unsupported(format!(
            "gpu: tensor `{}` has more than 2^32 elements",
            tensor.recipe.name
        )));
    }
    if let Some(plan) = GeometricPlan::new(tensor) {
        return geometric::merge_tensor(ctx, tensor, &plan, reader, sink).await;
    }
    let mut plan = MethodPlan::new(tensor).ok_or_else(|| {
        MergeError::Unsupported(format!(
            "gpu: no kernel merges `{}` (tensor `{}`)",
            tensor.recipe.method.key(),
            tensor.recipe.name
        ))
    })?;
    let mut scratch = ctx.take_scratch();
    let merged = merge_planned(ctx, &mut scratch, tensor, &mut plan, reader, sink).await;
    scratch.forget_inputs();
    ctx.keep_scratch(scratch);
    merged
}

/// [`merge_tensor`] by a [`MethodPlan`]: the whole tensor uploaded once when it fits.
async fn merge_planned(
    ctx: &GpuContext,
    scratch: &mut Scratch,
    tensor: &GpuTensor<'_>,
    plan: &mut MethodPlan,
    reader: &mut dyn SlotReader,
    sink: &mut dyn FnMut(&[u8]) -> Result<()>,
) -> Result<()> {
    let regions = plan.selection.as_ref().map_or(0, |s| s.scratch_regions());
    scratch
        .hold_tensor(ctx, reader, &tensor.slots, tensor.numel(), 4 * regions)
        .await?;
    gather_statistics(ctx, scratch, tensor, reader, plan).await?;
    let apply = &plan.apply;
    let mut chunker = plan.chunker(ctx, tensor)?;
    let mut params = apply.params();
    let out_size = tensor.output.size();
    for range in chunker.ranges(tensor.numel()) {
        let input_bytes = chunker
            .upload(ctx, scratch, reader, &apply.uploads, &range, &mut params)
            .await?;
        if let Some(selection) = &plan.selection {
            selection
                .prepare(ctx, scratch, &range, &mut params, input_bytes)
                .await?;
        }
        scratch
            .run_into(
                ctx,
                &Dispatch {
                    kernel: apply.kernel,
                    out: tensor.output,
                    params: &params,
                    input_bytes,
                    workgroups: apply.kernel.workgroups(range.len()),
                    result_bytes: (range.len() * out_size) as u64,
                    clear: false,
                    read_bytes: 0,
                },
                sink,
            )
            .await?;
    }
    Ok(())
}
