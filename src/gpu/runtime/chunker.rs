//! Cutting a tensor into chunks whose uploaded slots fit one binding, and uploading them
//! (or pointing at the tensor already resident on the device).

use std::ops::Range;

use super::buffers::{slot_region, Scratch};
use super::context::GpuContext;
use super::job::GpuTensor;
use super::params::Params;
use super::source::SlotReader;
use crate::dtype::DType;
use crate::error::{MergeError, Result};

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
