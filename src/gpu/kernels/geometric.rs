//! The geometric methods on the GPU — `slerp`, `nuslerp`, `multislerp`, `karcher`,
//! `model_stock`: a Gram statistics pass ([`super::reduce`]), the CPU twin's own scalar math
//! turning it into coefficients, then an apply pass. Coefficients shared by the whole tensor
//! ride in the slot weights; per-vector ones (an arc or a ratio per row or column) in a table
//! uploaded behind each chunk's inputs, holding just the vectors that chunk touches.

use std::ops::Range;

use super::reduce::{chunk_ranges, gram_sums, max_elements, VectorSet};
use crate::dtype::DType;
use crate::error::Result;
use crate::gpu::runtime::buffers::{Dispatch, Scratch};
use crate::gpu::runtime::chunker::Chunker;
use crate::gpu::runtime::context::GpuContext;
use crate::gpu::runtime::job::GpuTensor;
use crate::gpu::runtime::params::Params;
use crate::gpu::runtime::shaders::Kernel;
use crate::gpu::runtime::source::SlotReader;
use crate::merge::catalog::GpuRoute;
use crate::merge::hypersphere::{Karcher, Multislerp};
use crate::merge::model_stock::{stock_ratio, ModelStock};
use crate::merge::slerp::{Arc, Nuslerp, Slerp};
use crate::merge::stats::{Gram, VectorLayout};

/// Whether a method routed to `route` is merged here.
pub(crate) fn is_geometric(route: Option<GpuRoute>) -> bool {
    use GpuRoute::*;
    matches!(
        route,
        Some(Slerp | Nuslerp | Multislerp | Karcher | ModelStock)
    )
}

/// What the apply pass runs: its kernel over `set`'s vectors, with `table_stride` words per
/// vector in the table (0: coefficients in the slot weights).
pub(crate) struct GeometricPlan {
    pub kernel: Kernel,
    pub set: VectorSet,
    /// Whether the coefficients come from a statistics pass (else they are fixed).
    pub gathers: bool,
    pub table_stride: usize,
    /// Mode bits of the apply kernel beyond base subtraction (combine: bit 1 adds the base).
    pub mode: u32,
}

impl GeometricPlan {
    /// The plan, or `None` when the CPU must merge it (not geometric, f64, or inputs the CPU
    /// twin rejects: its error then reaches the user from the CPU path).
    pub fn new(tensor: &GpuTensor<'_>) -> Option<Self> {
        let recipe = tensor.recipe;
        let dtypes = tensor.slots.iter().chain([&tensor.output]);
        let route = recipe.method.gpu_route();
        if !is_geometric(route) || dtypes.into_iter().any(|&d| d == DType::F64) {
            return None;
        }
        crate::merge::build_merger(recipe).ok()?;
        let base = tensor.has_base().then_some(0);
        let inputs: Vec<usize> = (usize::from(tensor.has_base())..tensor.slots.len()).collect();
        let plan = |kernel, base, vectors, layout, table_stride, mode| GeometricPlan {
            kernel,
            set: VectorSet {
                base,
                vectors,
                layout,
            },
            gathers: true,
            table_stride,
            mode,
        };
        let flat = VectorLayout::Flat;
        Some(match route? {
            // A single model is returned as it is (coefficient 1, no pass).
            GpuRoute::Multislerp | GpuRoute::Karcher if inputs.len() == 1 => GeometricPlan {
                gathers: false,
                ..plan(Kernel::Combine, None, inputs, flat, 0, 0)
            },
            GpuRoute::Slerp => plan(Kernel::Combine, None, vec![0, 1], flat, 0, 0),
            GpuRoute::Multislerp => {
                let offset = if base.is_some() { 2 } else { 0 };
                plan(Kernel::Combine, base, inputs, flat, 0, offset)
            }
            GpuRoute::Karcher => plan(Kernel::Combine, None, inputs, flat, 0, 0),
            GpuRoute::Nuslerp => {
                let layout = Nuslerp::new(recipe).ok()?.layout();
                plan(Kernel::Nuslerp, base, inputs, layout, 3, 0)
            }
            GpuRoute::ModelStock => {
                let layout = ModelStock::new(recipe).ok()?.layout();
                plan(Kernel::ModelStock, base, inputs, layout, 1, 0)
            }
            _ => return None,
        })
    }

    /// The apply pass's params (chunk fields and offsets filled per chunk) and the per-vector
    /// table, from the CPU twin's coefficient math over the gathered sums.
    fn coefficients(&self, tensor: &GpuTensor<'_>, sums: &[f64]) -> Option<(Params, Vec<f32>)> {
        let recipe = tensor.recipe;
        let n = self.set.vectors.len();
        let gram = |v: usize| Gram::from_upper(n, &sums[v * self.set.pairs()..]);
        let mut params = self.set.params(tensor);
        params.header.mode |= self.mode;
        let weights: Vec<f32> = if !self.gathers {
            vec![1.0]
        } else {
            match recipe.method.gpu_route()? {
                GpuRoute::Slerp => Slerp::new(recipe).ok()?.coefs_for(gram(0)).to_vec(),
                GpuRoute::Multislerp => Multislerp::new(recipe).ok()?.coefs_for(gram(0)).into(),
                GpuRoute::Karcher => Karcher::new(recipe).ok()?.coefs_for(gram(0)).into(),
                _ => Vec::new(),
            }
        };
        let first = params.header.first_input as usize;
        for (slot, weight) in params.slots[first..].iter_mut().zip(weights) {
            slot.weight = weight;
        }
        let vectors = 0..self.set.vector_count(tensor.numel());
        let table = match recipe.method.gpu_route()? {
            GpuRoute::Nuslerp => {
                let t = Nuslerp::new(recipe).ok()?.t();
                params.header.a = t as f32;
                vectors
                    .flat_map(|v| {
                        let s = &sums[v * 3..v * 3 + 3];
                        match Arc::new(t, s[0], s[1], s[2]) {
                            Arc::Lerp => [0.0; 3],
                            Arc::Sin { a, b, s } => [a, b, s],
                        }
                    })
                    .collect()
            }
            GpuRoute::ModelStock => vectors.map(|v| stock_ratio(&gram(v))).collect(),
            _ => Vec::new(),
        };
        Some((params, table))
    }

    /// The table words chunk `range` reads (see `vector_entry` in common/vectors.wgsl).
    fn table_for(&self, table: &[f32], range: &Range<usize>) -> Vec<f32> {
        let k = self.table_stride;
        match self.set.layout {
            VectorLayout::Flat => table.to_vec(),
            VectorLayout::Rows(len) => {
                table[range.start / len * k..((range.end - 1) / len + 1) * k].to_vec()
            }
            VectorLayout::Columns(stride) => (0..stride.min(range.len()))
                .flat_map(|j| {
                    let column = (range.start + j) % stride;
                    table[column * k..(column + 1) * k].iter().copied()
                })
                .collect(),
        }
    }

    /// Apply-pass chunks: slots of `per_element` bytes plus the table words they read.
    fn apply_ranges(
        &self,
        ctx: &GpuContext,
        numel: usize,
        per_element: usize,
    ) -> Vec<Range<usize>> {
        let slots = self.set.uploads().len();
        let word_bytes = 4 * self.table_stride;
        let max_len = match self.set.layout {
            VectorLayout::Flat => max_elements(ctx, per_element, slots, word_bytes),
            // ≤ len/row + 2 rows: bytes per element grow by a row's share of a table entry.
            VectorLayout::Rows(row) => {
                let per_row = per_element * row + word_bytes;
                match max_elements(ctx, per_row, slots, 2 * word_bytes) {
                    0 => max_elements(ctx, per_element, slots, 2 * word_bytes),
                    rows => rows.saturating_mul(row),
                }
            }
            VectorLayout::Columns(stride) => {
                let whole = max_elements(ctx, per_element, slots, stride * word_bytes);
                if whole >= stride {
                    whole
                } else {
                    max_elements(ctx, per_element + word_bytes, slots, 0)
                }
            }
        };
        // Chunks of whole 16-byte words of every slot can use the held tensor in place.
        let max_len = if max_len >= 8 { max_len & !7 } else { max_len };
        chunk_ranges(numel, max_len, |end| end)
    }
}

/// Merges `tensor` by `plan`, its encoded bytes to `sink` chunk by chunk in element order.
pub(crate) async fn merge_tensor(
    ctx: &GpuContext,
    tensor: &GpuTensor<'_>,
    plan: &GeometricPlan,
    reader: &mut dyn SlotReader,
    sink: &mut dyn FnMut(&[u8]) -> Result<()>,
) -> Result<()> {
    let mut scratch = ctx.take_scratch();
    let merged = merge_held(ctx, tensor, plan, &mut scratch, reader, sink).await;
    scratch.forget_inputs();
    ctx.keep_scratch(scratch);
    merged
}

/// [`merge_tensor`] with the whole tensor uploaded once when it fits (the Gram pass and the
/// apply pass then read it there).
async fn merge_held(
    ctx: &GpuContext,
    tensor: &GpuTensor<'_>,
    plan: &GeometricPlan,
    scratch: &mut Scratch,
    reader: &mut dyn SlotReader,
    sink: &mut dyn FnMut(&[u8]) -> Result<()>,
) -> Result<()> {
    scratch
        .hold_tensor(ctx, reader, &tensor.slots, tensor.numel(), 0)
        .await?;
    let mut apply = ApplyPass::new(ctx, tensor, plan, scratch, reader).await?;
    for range in apply.ranges.clone() {
        apply.merge_into(ctx, scratch, reader, &range, sink).await?;
    }
    Ok(())
}

/// The apply pass of one tensor, its statistics gathered: chunks, params and table.
pub(crate) struct ApplyPass<'p> {
    plan: &'p GeometricPlan,
    pub ranges: Vec<Range<usize>>,
    params: Params,
    table: Vec<f32>,
    chunker: Chunker,
    output: DType,
}

impl<'p> ApplyPass<'p> {
    /// The apply kernel's params (the benchmark dispatches them itself).
    pub fn params(&self) -> &Params {
        &self.params
    }

    pub async fn new(
        ctx: &GpuContext,
        tensor: &GpuTensor<'_>,
        plan: &'p GeometricPlan,
        scratch: &mut Scratch,
        reader: &mut dyn SlotReader,
    ) -> Result<Self> {
        let numel = tensor.numel();
        let sums = if plan.gathers && numel > 0 {
            gram_sums(ctx, scratch, tensor, reader, &plan.set).await?
        } else {
            vec![0.0; plan.set.vector_count(numel) * plan.set.pairs()]
        };
        let (params, table) = plan.coefficients(tensor, &sums).ok_or_else(|| {
            crate::MergeError::Unsupported(format!(
                "gpu: `{}` rejects tensor `{}`",
                tensor.recipe.method.key(),
                tensor.recipe.name
            ))
        })?;
        let dtypes = plan.set.dtypes(tensor);
        let in_bytes: usize = dtypes.iter().map(|d| d.size()).sum();
        let per_element = in_bytes.max(tensor.output.size());
        Ok(ApplyPass {
            plan,
            ranges: plan.apply_ranges(ctx, numel, per_element),
            params,
            table,
            chunker: Chunker::new(ctx, &dtypes, Some(tensor.output)),
            output: tensor.output,
        })
    }

    /// Uploads chunk `range` and its table words; returns the input bytes bound.
    pub async fn upload(
        &mut self,
        ctx: &GpuContext,
        scratch: &mut Scratch,
        reader: &mut dyn SlotReader,
        range: &Range<usize>,
    ) -> Result<u64> {
        let uploads = self.plan.set.uploads();
        let table = self.plan.table_for(&self.table, range);
        // Whole 16-byte words, as element-wise kernels bind their inputs.
        let table_bytes = (4 * table.len() as u64).next_multiple_of(16);
        let mut slot_bytes = (self.chunker)
            .upload(ctx, scratch, reader, &uploads, range, &mut self.params)
            .await?;
        if slot_bytes + table_bytes > ctx.binding_limit() && scratch.resident().is_some() {
            // The held tensor leaves no room for the table: this chunk alone, then.
            scratch.forget_inputs();
            slot_bytes = (self.chunker)
                .upload(ctx, scratch, reader, &uploads, range, &mut self.params)
                .await?;
        }
        if !table.is_empty() {
            let words = bytemuck::cast_slice(&table);
            scratch.write_inputs(ctx, slot_bytes + table_bytes, slot_bytes, words);
        }
        self.params.header.u[2] = (slot_bytes / 4) as u32;
        Ok(slot_bytes + table_bytes)
    }

    /// Uploads and merges chunk `range`, its encoded bytes to `sink`.
    async fn merge_into(
        &mut self,
        ctx: &GpuContext,
        scratch: &mut Scratch,
        reader: &mut dyn SlotReader,
        range: &Range<usize>,
        sink: &mut dyn FnMut(&[u8]) -> Result<()>,
    ) -> Result<()> {
        let input_bytes = self.upload(ctx, scratch, reader, range).await?;
        let groups = self.plan.kernel.workgroups(range.len());
        let out_bytes = range.len() * self.output.size();
        (scratch)
            .run_into(
                ctx,
                &Dispatch {
                    kernel: self.plan.kernel,
                    out: self.output,
                    params: &self.params,
                    input_bytes,
                    workgroups: groups,
                    result_bytes: (out_bytes) as u64,
                    clear: false,
                    read_bytes: 0,
                },
                sink,
            )
            .await
    }
}
