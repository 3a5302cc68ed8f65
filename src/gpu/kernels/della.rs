//! DELLA on the GPU (`della`, `della_linear`): the GTA kernel with a sparsifier whose keep
//! probability comes from each element's |δ| rank within its row (src/merge/sparsify/della.rs).
//! Per chunk of whole rows and per input, `sort_tiles` sorts tiles of ≤ 1024 (key, position)
//! pairs, `rank` counts each element's predecessors in its row's tiles by binary search and draws
//! its keep bit against p[rank] — a table the host computes with the CPU's own formula, so masks
//! are bit-identical. Scratch regions: one of ranks per input, two for the sorted tiles, two of
//! tables (p, and 1/p for `inverse` rescale) per input.

use std::ops::Range;

use super::apply::ApplyPlan;
use super::scratch_regions::{each_chunk, ScratchRegions};
use crate::dtype::DType;
use crate::error::Result;
use crate::gpu::kernels::stat_source::l1_partials;
use crate::gpu::runtime::buffers::{Dispatch, Scratch};
use crate::gpu::runtime::context::GpuContext;
use crate::gpu::runtime::job::GpuTensor;
use crate::gpu::runtime::params::{Params, Slot, SPARSIFY_DELLA};
use crate::gpu::runtime::shaders::Kernel;
use crate::gpu::runtime::source::SlotReader;
use crate::merge::catalog::ParamName;
use crate::merge::rng::{tensor_key, Stream};
use crate::merge::sparsify::{l1_factor, DellaMagprune, Rescale};
use crate::merge::TensorRecipe;

/// Pairs one workgroup sorts (`TILE` in della.wgsl).
const TILE: usize = 1024;

/// One sparsified input's tables.
struct DellaInput {
    probabilities: Vec<f32>,
    /// 1/p per rank, with `inverse` rescale.
    inverse: Option<Vec<f32>>,
}

pub struct DellaPlan {
    row_len: usize,
    /// Per non-base input; `None` keeps it dense (density ≥ 1).
    inputs: Vec<Option<DellaInput>>,
    l1: bool,
}

impl DellaPlan {
    /// Sets the sparsified inputs' slots; `None` for parameters the CPU twin rejects.
    pub fn new(recipe: &TensorRecipe, slots: &mut [Slot]) -> Option<Self> {
        let rescale = Rescale::of(recipe.global(ParamName::Rescale));
        let row_len = recipe.row_len();
        let mut inputs = Vec::new();
        for input in 0..recipe.per_input.len() {
            let density = recipe.per_input(input, ParamName::Density);
            if density >= 1.0 {
                inputs.push(None);
                continue;
            }
            let epsilon = recipe.per_input(input, ParamName::Epsilon);
            if !(density - epsilon > 0.0 && density + epsilon < 1.0) {
                return None;
            }
            let stream = Stream::new(recipe.seed, tensor_key(&recipe.name), input as u32);
            let sparsifier =
                DellaMagprune::new(stream, recipe.numel(), row_len, density, epsilon, rescale);
            let probabilities = sparsifier.probabilities();
            let inverse = (rescale == Rescale::Inverse)
                .then(|| probabilities.iter().map(|p| 1.0 / p).collect());
            let slot = &mut slots[1 + input];
            slot.sparsify = SPARSIFY_DELLA;
            slot.stream = stream.key;
            slot.factor = 1.0;
            inputs.push(Some(DellaInput {
                probabilities,
                inverse,
            }));
        }
        Some(DellaPlan {
            row_len,
            inputs,
            l1: rescale == Rescale::L1,
        })
    }

    pub fn row_len(&self) -> usize {
        self.row_len
    }

    pub fn scratch_regions(&self) -> usize {
        3 * self.inputs.len() + 2
    }

    /// With L1 rescale: Σ|δ| and Σ|kept δ| of every sparsified input, for its factor.
    pub async fn gather(
        &mut self,
        ctx: &GpuContext,
        scratch: &mut Scratch,
        tensor: &GpuTensor<'_>,
        reader: &mut dyn SlotReader,
        plan: &mut ApplyPlan,
    ) -> Result<()> {
        if !self.l1 || self.inputs.iter().all(Option::is_none) {
            return Ok(());
        }
        let mut sums = vec![(0f64, 0f64); self.inputs.len()];
        let layout = (self.scratch_regions(), self.row_len);
        let prepare =
            async |scratch: &mut Scratch, range: &Range<usize>, params: &mut Params, bytes: u64| {
                let regions = ScratchRegions::after(bytes, layout.0, range.len());
                self.prepare(ctx, scratch, range, params, &regions).await
            };
        let visit =
            async |scratch: &mut Scratch, range: &Range<usize>, params: &Params, bytes: u64| {
                for (input, sum) in sums.iter_mut().enumerate() {
                    if self.inputs[input].is_none() {
                        continue;
                    }
                    let mut pass = params.clone();
                    pass.header.mode = 1 + input as u32;
                    let (total, kept) =
                        l1_partials(ctx, scratch, &pass, bytes, range.len()).await?;
                    sum.0 += total;
                    sum.1 += kept;
                }
                Ok(())
            };
        each_chunk(ctx, scratch, tensor, reader, plan, layout, prepare, visit).await?;
        for (input, (total, kept)) in sums.into_iter().enumerate() {
            if self.inputs[input].is_some() {
                plan.slots[1 + input].factor = l1_factor(total, kept);
            }
        }
        Ok(())
    }

    /// Ranks and keep bits of every sparsified input of the chunk, into its slots' regions.
    pub async fn prepare(
        &self,
        ctx: &GpuContext,
        scratch: &mut Scratch,
        range: &Range<usize>,
        params: &mut Params,
        regions: &ScratchRegions,
    ) -> Result<()> {
        let (len, n) = (range.len(), self.inputs.len());
        let row_len = self.row_len;
        let tiles = regions.word(n);
        let width = row_len.min(TILE).next_power_of_two() as u32;
        let sort_groups = (len / row_len * row_len.div_ceil(TILE)) as u32;
        for (input, tables) in self.inputs.iter().enumerate() {
            let Some(tables) = tables else { continue };
            let probabilities = regions.word(n + 2 + 2 * input);
            let inverse = probabilities + row_len as u32;
            let write = |scratch: &mut Scratch, word: u32, values: &[f32]| {
                let bytes = bytemuck::cast_slice(values);
                scratch.write_inputs(ctx, regions.input_bytes, word as u64 * 4, bytes);
            };
            write(scratch, probabilities, &tables.probabilities);
            if let Some(values) = &tables.inverse {
                write(scratch, inverse, values);
            }
            let slot = 1 + input;
            let mut pass = params.clone();
            pass.header.mode = slot as u32;
            pass.header.u = [row_len as u32, tiles, probabilities, width];
            let mut run = async |kernel: Kernel, groups: u32, result_bytes: u64, keep_at: u32| {
                scratch
                    .run(
                        ctx,
                        &Dispatch {
                            kernel,
                            out: DType::F32,
                            params: &pass,
                            input_bytes: regions.input_bytes,
                            workgroups: groups,
                            result_bytes,
                            clear: false,
                            read_bytes: 0,
                        },
                    )
                    .await?;
                scratch.keep_result(ctx, 0, keep_at as u64 * 4, result_bytes);
                Result::Ok(())
            };
            run(Kernel::DellaSortTiles, sort_groups, 8 * len as u64, tiles).await?;
            let ranks = regions.word(input);
            run(
                Kernel::DellaRank,
                Kernel::DellaRank.workgroups(len),
                4 * len as u64,
                ranks,
            )
            .await?;
            let slot = &mut params.slots[slot];
            slot.cut_to_index = ranks;
            slot.cut_from_key = if tables.inverse.is_some() { inverse } else { 0 };
        }
        Ok(())
    }
}
