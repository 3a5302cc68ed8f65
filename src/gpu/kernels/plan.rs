//! Which kernel merges a recipe, with every parameter resolved exactly as the CPU twin resolves
//! it (`Linear::new`, `Passthrough::new`, `Nearswap::new`, gta.rs `make_sparsifier`).

use super::apply::ApplyPlan;
use super::geometric::GeometricPlan;
use super::selection::SelectionPlan;
use crate::dtype::DType;
use crate::error::Result;
use crate::gpu::runtime::chunker::Chunker;
use crate::gpu::runtime::context::GpuContext;
use crate::gpu::runtime::job::GpuTensor;
use crate::gpu::runtime::params::{
    Header, Slot, SPARSIFY_BERNOULLI, SPARSIFY_DENSE, SPARSIFY_WINDOW,
};
use crate::gpu::runtime::shaders::{dtype_code, Kernel};
use crate::merge::catalog::{GpuRoute, ParamName};
use crate::merge::consensus::Consensus;
use crate::merge::rng::{tensor_key, Stream};
use crate::merge::sparsify::{Rescale, SparsifyKind};
use crate::merge::TensorRecipe;

/// Whether a GPU kernel merges this recipe (others run on the CPU): its method's descriptor
/// names a route, and the kernel's own conditions hold.
pub fn supports(recipe: &TensorRecipe) -> bool {
    use GpuRoute::*;
    match recipe.method.gpu_route() {
        None => false,
        Some(Linear | Passthrough | Nearswap) => true,
        Some(Gta | Della | Sce | Ram) => recipe.has_base,
        Some(ArceeFusion) => recipe.has_base && recipe.per_input.len() == 1,
        Some(Slerp | Nuslerp | Multislerp | Karcher | ModelStock) => true,
    }
}

/// Statistics one input's sparsifier needs before the apply pass.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Gather {
    Nothing,
    /// Bernoulli with L1 rescale: factor = Σ|δ| / Σ|kept|.
    L1,
    /// Magnitude window of descending-|δ| ranks [from, to), then its factor.
    Window {
        from: usize,
        to: usize,
        rescale: Rescale,
        density: f64,
    },
}

/// Whether a kernel merges `tensor` (its method and dtypes).
pub(crate) fn has_kernel(tensor: &GpuTensor<'_>) -> bool {
    MethodPlan::new(tensor).is_some() || GeometricPlan::new(tensor).is_some()
}

pub struct MethodPlan {
    pub apply: ApplyPlan,
    /// Per non-base input (GTA only): the statistics its sparsifier needs.
    pub gathers: Vec<Gather>,
    /// DELLA, SCE, arcee_fusion: whole-row chunks, scratch regions and their own statistics.
    pub selection: Option<SelectionPlan>,
}

impl MethodPlan {
    pub fn new(tensor: &GpuTensor<'_>) -> Option<Self> {
        let recipe = tensor.recipe;
        let dtypes = tensor.slots.iter().chain([&tensor.output]);
        let route = recipe.method.gpu_route()?;
        if !supports(recipe) || dtypes.into_iter().any(|&d| d == DType::F64) {
            return None;
        }
        let first = usize::from(tensor.has_base());
        let inputs: Vec<usize> = (first..tensor.slots.len()).collect();
        let weights = recipe.per_input_all(ParamName::Weight);
        let slot = |source: usize, weight: f32| Slot {
            weight,
            ..Slot::new(dtype_code(tensor.slots[source]))
        };
        let mut header = Header::default();
        let with_base: Vec<usize> = std::iter::once(0).chain(inputs.clone()).collect();
        let (kernel, uploads) = match route {
            GpuRoute::Linear => {
                let total: f64 = weights.iter().map(|&w| w as f64).sum();
                header.a = if recipe.flag(ParamName::Normalize) && total != 0.0 {
                    total as f32
                } else {
                    1.0
                };
                (Kernel::Linear, inputs.clone())
            }
            GpuRoute::Passthrough => {
                header.a = recipe.global(ParamName::Scale) as f32;
                (Kernel::Passthrough, vec![*inputs.first().unwrap_or(&0)])
            }
            GpuRoute::Nearswap => {
                if !tensor.has_base() || inputs.len() != 1 {
                    return None;
                }
                header.a = recipe.global(ParamName::T) as f32;
                (Kernel::Nearswap, vec![0, inputs[0]])
            }
            GpuRoute::Ram => {
                header.a = recipe.global(ParamName::Epsilon) as f32;
                (Kernel::Ram, with_base)
            }
            GpuRoute::Sce => (Kernel::Sce, with_base),
            GpuRoute::ArceeFusion => (Kernel::ArceeFusion, with_base),
            GpuRoute::Gta | GpuRoute::Della => (Kernel::Gta, with_base),
            GpuRoute::Slerp
            | GpuRoute::Nuslerp
            | GpuRoute::Multislerp
            | GpuRoute::Karcher
            | GpuRoute::ModelStock => return None,
        };
        let kernel_first = uploads.len() - inputs.len().min(uploads.len());
        header.count = (uploads.len() - kernel_first) as u32;
        header.first_input = kernel_first as u32;
        let mut slots: Vec<Slot> = uploads
            .iter()
            .map(|&source| {
                let weight = source
                    .checked_sub(first)
                    .and_then(|i| weights.get(i))
                    .copied()
                    .unwrap_or(1.0);
                slot(source, weight)
            })
            .collect();
        let mut gathers = Vec::new();
        if kernel == Kernel::Gta {
            let kind = SparsifyKind::of(recipe.method)?;
            let consensus = Consensus::of(recipe.method, recipe.global(ParamName::Consensus));
            let total: f32 = weights.iter().sum();
            header.b = if total.abs() < 1e-8 { 1.0 } else { total };
            header.a = recipe.global(ParamName::Lambda) as f32;
            header.mode = u32::from(recipe.flag(ParamName::Normalize))
                | match consensus {
                    Consensus::None => 0,
                    Consensus::Sum => 2,
                    Consensus::Count => 4,
                };
            for input in 0..inputs.len() {
                gathers.push(sparsifier(kind, recipe, input, &mut slots[1 + input]));
            }
        }
        let selection = match route {
            GpuRoute::Della | GpuRoute::Sce | GpuRoute::ArceeFusion => {
                Some(SelectionPlan::new(recipe, &mut header, &mut slots)?)
            }
            _ => None,
        };
        Some(MethodPlan {
            apply: ApplyPlan {
                kernel,
                uploads,
                header,
                slots,
            },
            gathers,
            selection,
        })
    }

    /// The chunks of the apply pass's uploads, with the selection's rows and scratch regions.
    pub fn chunker(&self, ctx: &GpuContext, tensor: &GpuTensor<'_>) -> Result<Chunker> {
        let (regions, row_len) = self
            .selection
            .as_ref()
            .map_or((0, 1), |s| (s.scratch_regions(), s.row_len()));
        Chunker::with_scratch(ctx, tensor, &self.apply.uploads, regions, row_len)
    }
}

/// Fills `slot`'s sparsifier like gta.rs `make_sparsifier`; returns the statistics still needed.
fn sparsifier(kind: SparsifyKind, recipe: &TensorRecipe, input: usize, slot: &mut Slot) -> Gather {
    let density = recipe.per_input(input, ParamName::Density);
    let rescale = Rescale::of(recipe.global(ParamName::Rescale));
    let numel = recipe.numel();
    if kind == SparsifyKind::Dense || density >= 1.0 {
        slot.sparsify = SPARSIFY_DENSE;
        return Gather::Nothing;
    }
    match kind {
        SparsifyKind::Bernoulli => {
            let keeps_some = density > 0.0;
            slot.sparsify = SPARSIFY_BERNOULLI;
            slot.density = density as f32;
            slot.stream = Stream::new(recipe.seed, tensor_key(&recipe.name), input as u32).key;
            slot.factor = match rescale {
                Rescale::Inverse if keeps_some => (1.0 / density) as f32,
                _ => 1.0,
            };
            if rescale == Rescale::L1 && keeps_some {
                Gather::L1
            } else {
                Gather::Nothing
            }
        }
        SparsifyKind::Magnitude | SparsifyKind::MagnitudeOutliers => {
            slot.sparsify = SPARSIFY_WINDOW;
            let (from, to) = if kind == SparsifyKind::Magnitude {
                let k = if density <= 0.0 {
                    0
                } else {
                    ((density * numel as f64) as usize).max(1)
                };
                (0, k)
            } else {
                let gamma = recipe.per_input(input, ParamName::Gamma);
                let target = (density.max(0.0) * numel as f64) as usize;
                let n_top = (gamma.max(0.0) * numel as f64) as usize;
                let n_bot = numel.saturating_sub(target + n_top);
                let from = numel - n_bot - target;
                (from, from + target)
            };
            Gather::Window {
                from: from.min(numel),
                to: to.min(numel),
                rescale,
                density,
            }
        }
        SparsifyKind::Dense | SparsifyKind::DellaMagprune => Gather::Nothing,
    }
}
