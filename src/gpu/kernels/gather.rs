//! The statistics passes of an element-wise plan, before its apply pass: the selection
//! methods' own, then each sparsified input's rank cuts and L1 rescale factors.

use super::plan::{Gather, MethodPlan};
use super::stat_source::StatSource;
use super::topk;
use crate::error::Result;
use crate::gpu::runtime::buffers::Scratch;
use crate::gpu::runtime::context::GpuContext;
use crate::gpu::runtime::job::GpuTensor;
use crate::gpu::runtime::source::SlotReader;
use crate::merge::sparsify::{l1_factor, Rescale};

/// Runs the statistics passes, leaving cuts, factors and weights in `plan`.
pub(crate) async fn gather_statistics(
    ctx: &GpuContext,
    scratch: &mut Scratch,
    tensor: &GpuTensor<'_>,
    reader: &mut dyn SlotReader,
    plan: &mut MethodPlan,
) -> Result<()> {
    if let Some(mut selection) = plan.selection.take() {
        let gathered = selection
            .gather(ctx, scratch, tensor, reader, &mut plan.apply)
            .await;
        plan.selection = Some(selection);
        gathered?;
    }
    let numel = tensor.numel();
    for (input, gather) in plan.gathers.clone().into_iter().enumerate() {
        let kernel_slot = 1 + input;
        let source = plan.apply.uploads[kernel_slot];
        let pair = [plan.apply.slots[0], plan.apply.slots[kernel_slot]];
        let stats = StatSource {
            tensor,
            sources: [0, source],
            slots: pair,
        };
        match gather {
            Gather::Nothing => {}
            Gather::L1 => {
                let (total, kept) = stats.l1_sums(ctx, scratch, reader, &pair[1]).await?;
                plan.apply.slots[kernel_slot].factor = l1_factor(total, kept);
            }
            Gather::Window {
                from,
                to,
                rescale,
                density,
            } => {
                let mut cuts = [(0, 0); 2];
                for (cut, rank) in cuts.iter_mut().zip([from, to]) {
                    let mut keys = topk::DeltaKeys::new(ctx, &stats);
                    *cut = topk::rank_cut(ctx, scratch, reader, &mut keys, rank, numel).await?;
                }
                let [from_cut, to_cut] = cuts;
                let slot = &mut plan.apply.slots[kernel_slot];
                (slot.cut_from_key, slot.cut_from_index) = from_cut;
                (slot.cut_to_key, slot.cut_to_index) = to_cut;
                let trivial = |rank: usize| rank == 0 || rank >= numel;
                slot.factor = match rescale {
                    Rescale::Off => 1.0,
                    Rescale::Inverse if density > 0.0 => (1.0 / density) as f32,
                    Rescale::Inverse => 1.0,
                    Rescale::L1 if trivial(from) && trivial(to) => 1.0,
                    Rescale::L1 => {
                        let slot = *slot;
                        let (total, kept) = stats.l1_sums(ctx, scratch, reader, &slot).await?;
                        l1_factor(total, kept)
                    }
                };
            }
        }
    }
    Ok(())
}
