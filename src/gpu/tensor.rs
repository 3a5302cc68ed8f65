//! Merging one tensor on the GPU, chunk by chunk: statistics passes over every chunk first
//! (rank cuts, L1 sums), then the apply pass, whose encoded bytes go to a sink in element order.
//! Reads and read-backs are awaited, so the same code runs natively (under `pollster`) and in a
//! browser worker (file slices and buffer maps resolve as promises).

use std::future::Future;
use std::ops::Range;
use std::pin::Pin;

use super::buffers::{slot_region, Scratch};
use super::geometric::{self, GeometricPlan};
use super::kernels::{Gather, MethodPlan};
use super::params::{Params, Slot};
use super::shaders::Kernel;
use super::topk;
use super::GpuContext;
use crate::dtype::DType;
use crate::error::{MergeError, Result};
use crate::merge::sparsify::{l1_factor, Rescale};
use crate::merge::TensorRecipe;

/// One tensor to merge: its recipe and the dtypes of what is read and written.
#[derive(Debug, Clone)]
pub struct GpuTensor<'a> {
    pub recipe: &'a TensorRecipe,
    pub base: Option<DType>,
    /// The non-base inputs, in recipe order.
    pub inputs: Vec<DType>,
    pub output: DType,
    /// Dtypes by slot: the base first when present, then the inputs.
    pub(crate) slots: Vec<DType>,
}

impl<'a> GpuTensor<'a> {
    pub fn new(
        recipe: &'a TensorRecipe,
        base: Option<DType>,
        inputs: Vec<DType>,
        output: DType,
    ) -> Self {
        let slots = base.iter().chain(&inputs).copied().collect();
        GpuTensor {
            recipe,
            base,
            inputs,
            output,
            slots,
        }
    }

    pub fn has_base(&self) -> bool {
        self.base.is_some()
    }

    pub fn numel(&self) -> usize {
        self.recipe.numel()
    }
}

/// A pending slot read; boxed so that `dyn SlotReader` stays usable.
pub type SlotRead<'a> = Pin<Box<dyn Future<Output = Result<()>> + 'a>>;

/// Where a tensor's input bytes come from.
pub trait SlotReader {
    /// Raw little-endian bytes of elements `range` of `slot` (the base first when present,
    /// then the inputs), exactly `range.len()` × dtype size of them, into `out`.
    fn read<'a>(
        &'a mut self,
        slot: usize,
        range: Range<usize>,
        out: &'a mut Vec<u8>,
    ) -> SlotRead<'a>;

    /// Every element of `slot`, when the reader already holds them (read ahead natively),
    /// handed over once; `None` otherwise.
    fn take_whole(&mut self, _slot: usize) -> Option<Vec<u8>> {
        None
    }

    /// Returns bytes from [`SlotReader::take_whole`] once uploaded, for reading ahead again.
    fn recycle(&mut self, _bytes: Vec<u8>) {}

    /// Every element of `slot` in memory the reader maps (a mapped shard, natively), to upload
    /// from there without a copy; `None` when it has no such view.
    fn mapped_whole(&mut self, _slot: usize) -> Result<Option<MappedSlot<'_>>> {
        Ok(None)
    }
}

/// A slot's bytes viewed in place; the view is released when this drops.
pub type MappedSlot<'a> = Box<dyn std::ops::Deref<Target = [u8]> + 'a>;

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
    let mut chunker = Chunker::for_plan(ctx, tensor, plan)?;
    let mut params = Params {
        header: plan.header,
        slots: plan.slots.clone(),
    };
    let out_size = tensor.output.size();
    for range in chunker.ranges(tensor.numel()) {
        let input_bytes = chunker
            .upload(ctx, scratch, reader, &plan.uploads, &range, &mut params)
            .await?;
        if let Some(selection) = &plan.selection {
            selection
                .prepare(ctx, scratch, &range, &mut params, input_bytes)
                .await?;
        }
        scratch
            .run_into(
                ctx,
                plan.kernel,
                tensor.output,
                &params,
                input_bytes,
                plan.kernel.workgroups(range.len()),
                range.len() * out_size,
                sink,
            )
            .await?;
    }
    Ok(())
}

/// Cuts a tensor into chunks whose uploaded slots fit one binding, and uploads them.
pub(crate) struct Chunker {
    dtypes: Vec<DType>,
    elements: usize,
    /// One read buffer per uploaded slot, reused chunk after chunk.
    raw: Vec<Vec<u8>>,
}

impl Chunker {
    pub fn new(ctx: &GpuContext, dtypes: &[DType], output: Option<DType>) -> Self {
        let limit = ctx.binding_limit() as usize;
        let per_element: usize = dtypes.iter().map(|d| d.size()).sum();
        let per_element = per_element.max(output.map_or(4, DType::size)).max(1);
        // Each slot may pad its region by up to 16 bytes; chunks start at 16-byte marks of
        // every slot (8 elements of halves, 4 of f32).
        let elements =
            (limit.saturating_sub(16 * dtypes.len()) / per_element).clamp(8, 1 << 30) & !7;
        Chunker {
            dtypes: dtypes.to_vec(),
            elements,
            raw: Vec::new(),
        }
    }

    /// The chunks of `plan`'s uploads, with its selection's rows and scratch regions.
    pub fn for_plan(ctx: &GpuContext, tensor: &GpuTensor<'_>, plan: &MethodPlan) -> Result<Self> {
        let (regions, row_len) = plan
            .selection
            .as_ref()
            .map_or((0, 1), |s| (s.scratch_regions(), s.row_len()));
        Chunker::with_scratch(ctx, tensor, &plan.uploads, regions, row_len)
    }

    /// Chunks of whole rows of `row_len` of slots `uploads`, with room for `regions`
    /// chunk-length f32 scratch regions after them.
    pub fn with_scratch(
        ctx: &GpuContext,
        tensor: &GpuTensor<'_>,
        uploads: &[usize],
        regions: usize,
        row_len: usize,
    ) -> Result<Self> {
        let dtypes: Vec<DType> = uploads
            .iter()
            .map(|&s| tensor.slots[s])
            .chain(std::iter::repeat_n(DType::F32, regions))
            .collect();
        let mut chunker = Chunker::new(ctx, &dtypes, Some(tensor.output));
        chunker.elements -= chunker.elements % row_len.max(1);
        if chunker.elements == 0 {
            return Err(MergeError::Unsupported(format!(
                "gpu: a row of tensor `{}` ({row_len} elements) does not fit one binding",
                tensor.recipe.name
            )));
        }
        Ok(chunker)
    }

    pub fn ranges(&self, numel: usize) -> Vec<Range<usize>> {
        (0..numel)
            .step_by(self.elements)
            .map(|s| s..(s + self.elements).min(numel))
            .collect()
    }

    /// Uploads `range` of tensor slots `sources` into kernel slots 0.., sets `params`' chunk
    /// fields and slot offsets; returns the bytes of input words used.
    pub async fn upload(
        &mut self,
        ctx: &GpuContext,
        scratch: &mut Scratch,
        reader: &mut dyn SlotReader,
        sources: &[usize],
        range: &Range<usize>,
        params: &mut Params,
    ) -> Result<u64> {
        let regions: Vec<u64> = (self.dtypes.iter())
            .map(|&d| slot_region(range.len(), d))
            .collect();
        params.header.len = range.len() as u32;
        params.header.start = range.start as u32;
        if let Some(total) = self.use_resident(ctx, scratch, sources, range, &regions, params) {
            return Ok(total);
        }
        scratch.forget_inputs();
        let total: u64 = regions.iter().sum();
        self.raw.resize_with(sources.len(), Vec::new);
        // Read every slot while the GPU still runs the previous chunk, then wait for it.
        for ((&source, &region), raw) in sources.iter().zip(&regions).zip(&mut self.raw) {
            reader.read(source, range.clone(), raw).await?;
            raw.resize(region as usize, 0);
        }
        scratch.settle(ctx).await?;
        let mut writes = Vec::with_capacity(self.raw.len());
        let mut offset = 0u64;
        for (k, (&region, raw)) in regions.iter().zip(&self.raw).enumerate() {
            writes.push((offset, raw.as_slice()));
            params.slots[k].offset = (offset / 4) as u32;
            offset += region;
        }
        scratch.write_slots(ctx, total, &writes)?;
        Ok(total)
    }

    /// Points `params` at the resident tensor's elements `range` of `sources`, with this
    /// chunker's scratch regions after them; `None` when they are not all there.
    fn use_resident(
        &self,
        ctx: &GpuContext,
        scratch: &mut Scratch,
        sources: &[usize],
        range: &Range<usize>,
        regions: &[u64],
        params: &mut Params,
    ) -> Option<u64> {
        let resident = scratch.resident()?;
        let words: Option<Vec<u32>> = (sources.iter())
            .map(|&s| resident.word_of(s, range))
            .collect();
        let total = resident.bytes + regions[sources.len()..].iter().sum::<u64>();
        if total > ctx.binding_limit() {
            return None;
        }
        for (slot, word) in params.slots.iter_mut().zip(words?) {
            slot.offset = word;
        }
        scratch.reserve_inputs(ctx, total);
        Some(total)
    }
}

/// Runs the statistics passes, leaving cuts, factors and weights in `plan`.
pub(crate) async fn gather_statistics(
    ctx: &GpuContext,
    scratch: &mut Scratch,
    tensor: &GpuTensor<'_>,
    reader: &mut dyn SlotReader,
    plan: &mut MethodPlan,
) -> Result<()> {
    if let Some(mut selection) = plan.selection.take() {
        let gathered = selection.gather(ctx, scratch, tensor, reader, plan).await;
        plan.selection = Some(selection);
        gathered?;
    }
    let numel = tensor.numel();
    for (input, gather) in plan.gathers.clone().into_iter().enumerate() {
        let kernel_slot = 1 + input;
        let source = plan.uploads[kernel_slot];
        let pair = [plan.slots[0], plan.slots[kernel_slot]];
        let stats = StatSource {
            tensor,
            sources: [0, source],
            slots: pair,
        };
        match gather {
            Gather::Nothing => {}
            Gather::L1 => {
                let (total, kept) = stats.l1_sums(ctx, scratch, reader, &pair[1]).await?;
                plan.slots[kernel_slot].factor = l1_factor(total, kept);
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
                let slot = &mut plan.slots[kernel_slot];
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

/// The base and one input, uploaded together for a statistics pass.
pub(crate) struct StatSource<'t, 'a> {
    pub tensor: &'t GpuTensor<'a>,
    pub sources: [usize; 2],
    pub slots: [Slot; 2],
}

impl StatSource<'_, '_> {
    pub fn params(&self, input: &Slot, header: [u32; 4]) -> Params {
        let mut params = Params {
            header: Default::default(),
            slots: vec![self.slots[0], *input],
        };
        params.header.mode = 1;
        params.header.u = header;
        params
    }

    pub fn chunker(&self, ctx: &GpuContext) -> Chunker {
        let dtypes = [
            self.tensor.slots[self.sources[0]],
            self.tensor.slots[self.sources[1]],
        ];
        Chunker::new(ctx, &dtypes, None)
    }

    /// Σ|δ| and Σ|δ| over the elements `input`'s sparsifier keeps, in f64 over f32 partials.
    async fn l1_sums(
        &self,
        ctx: &GpuContext,
        scratch: &mut Scratch,
        reader: &mut dyn SlotReader,
        input: &Slot,
    ) -> Result<(f64, f64)> {
        let mut chunker = self.chunker(ctx);
        let mut params = self.params(input, [0; 4]);
        let (mut total, mut kept) = (0f64, 0f64);
        for range in chunker.ranges(self.tensor.numel()) {
            let bytes = chunker
                .upload(ctx, scratch, reader, &self.sources, &range, &mut params)
                .await?;
            let (chunk_total, chunk_kept) =
                l1_partials(ctx, scratch, &params, bytes, range.len()).await?;
            total += chunk_total;
            kept += chunk_kept;
        }
        Ok((total, kept))
    }
}

/// Σ|δ| and Σ|kept δ| of slot `params.header.mode` over one staged chunk of `len` elements.
pub(crate) async fn l1_partials(
    ctx: &GpuContext,
    scratch: &mut Scratch,
    params: &Params,
    input_bytes: u64,
    len: usize,
) -> Result<(f64, f64)> {
    let groups = Kernel::SparsifyL1.workgroups(len) as u64;
    // common/reduce.wgsl pins its error-free steps by multiplying with `c`: it must be 1.
    let mut params = params.clone();
    params.header.c = 1.0;
    let partials = scratch
        .run(
            ctx,
            Kernel::SparsifyL1,
            DType::F32,
            &params,
            input_bytes,
            groups as u32,
            groups * 16,
            false,
            groups * 16,
        )
        .await?;
    let (mut total, mut kept) = (0f64, 0f64);
    for pair in bytemuck::pod_collect_to_vec::<u8, f32>(&partials).chunks_exact(4) {
        total += pair[0] as f64 + pair[1] as f64;
        kept += pair[2] as f64 + pair[3] as f64;
    }
    Ok((total, kept))
}
