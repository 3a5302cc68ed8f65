//! SCE on the GPU (src/merge/sce.rs). With 0 < `select_topk` < 1 the statistics passes find the
//! variance top-k exactly as the CPU does: `variances` writes each element's variance bits
//! (bit-identical, common/variance.wgsl) into a scratch region, `count_key` counts the zeros and
//! the radix select of topk.rs finds the cut (ties by index) over them. Then `squares` sums
//! δₖ² over the selected elements for the weights wₖ ∝ mean δₖ², and the apply kernel (sce.wgsl)
//! recomputes each element's variance to test the cut.

use std::ops::Range;

use super::apply::ApplyPlan;
use super::scratch_regions::each_chunk;
use super::topk::{count_key_per_block, rank_cut, KeySource};
use crate::dtype::DType;
use crate::error::Result;
use crate::gpu::runtime::buffers::{slot_region, Dispatch, Scratch};
use crate::gpu::runtime::chunker::Chunker;
use crate::gpu::runtime::context::GpuContext;
use crate::gpu::runtime::job::GpuTensor;
use crate::gpu::runtime::params::{Header, Params, Slot};
use crate::gpu::runtime::shaders::Kernel;
use crate::gpu::runtime::source::SlotReader;
use crate::merge::catalog::ParamName;
use crate::merge::TensorRecipe;

/// Selection modes of sce.wgsl (`params.mode`).
const SELECT_ALL: u32 = 0;
const SELECT_NONE: u32 = 1;
const SELECT_CUT: u32 = 2;
/// Where `variances` writes in binding 2: after the bins a radix select accumulates there.
const VARIANCES_AT: u32 = 2048;

pub struct ScePlan {
    select_topk: f64,
}

impl ScePlan {
    pub fn new(recipe: &TensorRecipe, header: &mut Header) -> Option<Self> {
        // div_count in common/divide.wgsl divides by fewer than 2^16 models.
        if recipe.per_input.is_empty() || recipe.per_input.len() >= 1 << 16 {
            return None;
        }
        let select_topk = recipe.global(ParamName::SelectTopk);
        header.c = 1.0;
        header.mode = if select_topk >= 1.0 {
            SELECT_ALL
        } else if select_topk <= 0.0 {
            SELECT_NONE
        } else {
            SELECT_CUT
        };
        Some(ScePlan { select_topk })
    }

    fn selects(&self) -> bool {
        self.select_topk > 0.0 && self.select_topk < 1.0
    }

    pub fn scratch_regions(&self) -> usize {
        usize::from(self.selects())
    }

    pub async fn gather(
        &mut self,
        ctx: &GpuContext,
        scratch: &mut Scratch,
        tensor: &GpuTensor<'_>,
        reader: &mut dyn SlotReader,
        plan: &mut ApplyPlan,
    ) -> Result<()> {
        let numel = tensor.numel();
        if self.selects() {
            let mut keys = VarianceKeys {
                chunker: Chunker::with_scratch(ctx, tensor, &plan.uploads, 1, 1)?,
                uploads: plan.uploads.clone(),
                upload_params: plan.params(),
                numel,
            };
            let nonzero = (numel - count_zeros(ctx, scratch, reader, &mut keys).await?) as u64;
            // torch computes int(count * density) in f32.
            let k = ((nonzero as f32 * self.select_topk as f32) as u64).min(nonzero) as usize;
            if k == 0 {
                plan.header.mode = SELECT_NONE;
            } else {
                let (key, index) = rank_cut(ctx, scratch, reader, &mut keys, k, numel).await?;
                plan.header.u[0] = key;
                plan.header.u[1] = index;
            }
        }
        if plan.header.mode == SELECT_NONE {
            return Ok(());
        }
        let n = plan.slots.len() - 1;
        let mut sums = vec![0f64; n];
        let visit =
            async |scratch: &mut Scratch, range: &Range<usize>, params: &Params, bytes: u64| {
                let groups = Kernel::SceSquares.workgroups(range.len()) as u64;
                let result = groups * n as u64 * 8;
                let partials = scratch
                    .run(
                        ctx,
                        &Dispatch {
                            kernel: Kernel::SceSquares,
                            out: DType::F32,
                            params,
                            input_bytes: bytes,
                            workgroups: groups as u32,
                            result_bytes: result,
                            clear: false,
                            read_bytes: result,
                        },
                    )
                    .await?;
                let partials: Vec<f32> = bytemuck::pod_collect_to_vec(&partials);
                for (k, pair) in partials.chunks_exact(2).enumerate() {
                    sums[k % n] += pair[0] as f64 + pair[1] as f64;
                }
                Ok(())
            };
        let no_scratch = async |_: &mut Scratch, _: &Range<usize>, _: &mut Params, _: u64| Ok(());
        each_chunk(
            ctx,
            scratch,
            tensor,
            reader,
            plan,
            (0, 1),
            no_scratch,
            visit,
        )
        .await?;
        let means: Vec<f64> = sums.iter().map(|s| s / numel.max(1) as f64).collect();
        let total: f64 = means.iter().sum();
        for (slot, mean) in plan.slots[1..].iter_mut().zip(&means) {
            slot.weight = if total.abs() >= 1e-6 {
                (mean / total) as f32
            } else {
                1.0 / n as f32
            };
        }
        Ok(())
    }
}

/// Elements whose variance is exactly zero (the CPU's `nonzero` is the rest).
async fn count_zeros(
    ctx: &GpuContext,
    scratch: &mut Scratch,
    reader: &mut dyn SlotReader,
    keys: &mut VarianceKeys,
) -> Result<usize> {
    let mut params = keys.params([0; 4]);
    let mut zeros = 0usize;
    for range in keys.ranges() {
        let bytes = keys
            .stage(ctx, scratch, reader, &range, &mut params)
            .await?;
        let counts = count_key_per_block(ctx, scratch, &params, bytes, range.len()).await?;
        zeros += counts.iter().map(|&c| c as usize).sum::<usize>();
    }
    Ok(zeros)
}

/// Variances as the keys of topk.wgsl: each chunk's are computed into its scratch region.
struct VarianceKeys {
    chunker: Chunker,
    uploads: Vec<usize>,
    upload_params: Params,
    numel: usize,
}

impl KeySource for VarianceKeys {
    fn ranges(&self) -> Vec<Range<usize>> {
        self.chunker.ranges(self.numel)
    }

    fn params(&self, u: [u32; 4]) -> Params {
        let mut header = Header {
            mode: 1,
            u,
            ..Header::default()
        };
        // Slot 1 holds the keys themselves (see `key_at` in topk.wgsl).
        header.u[3] = 1;
        Params {
            header,
            slots: vec![Slot::new(0); 2],
        }
    }

    async fn stage(
        &mut self,
        ctx: &GpuContext,
        scratch: &mut Scratch,
        reader: &mut dyn SlotReader,
        range: &Range<usize>,
        params: &mut Params,
    ) -> Result<u64> {
        let p = &mut self.upload_params;
        let bytes = self
            .chunker
            .upload(ctx, scratch, reader, &self.uploads, range, p)
            .await?;
        p.header.u[2] = VARIANCES_AT;
        let len = range.len() as u64;
        let at = VARIANCES_AT as u64 * 4;
        scratch
            .run(
                ctx,
                &Dispatch {
                    kernel: Kernel::SceVariances,
                    out: DType::F32,
                    params: p,
                    input_bytes: bytes,
                    workgroups: Kernel::SceVariances.workgroups(range.len()),
                    result_bytes: at + len * 4,
                    clear: false,
                    read_bytes: 0,
                },
            )
            .await?;
        // The variances' region is the last one (see `Chunker::with_scratch`).
        let region = bytes - slot_region(range.len(), DType::F32);
        scratch.keep_result(ctx, at, region, len * 4);
        params.header.len = p.header.len;
        params.header.start = p.header.start;
        params.slots[1].offset = (region / 4) as u32;
        Ok(bytes)
    }
}
