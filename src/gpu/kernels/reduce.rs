//! Gram statistics on the GPU, the twin of `Gram::add` over every chunk: shaders/stats.wgsl sums
//! vₐ·v_b over fixed spans of the tensor (segments of rows, blocks of rows for columns) as
//! hi + lo pairs, and the host adds them up per vector in f64, span by span in tensor order.
//! Chunks are cut at span edges wherever a span fits, so the sums do not depend on chunking.

use std::ops::Range;

use crate::dtype::DType;
use crate::error::Result;
use crate::gpu::runtime::buffers::{Dispatch, Scratch};
use crate::gpu::runtime::chunker::Chunker;
use crate::gpu::runtime::context::GpuContext;
use crate::gpu::runtime::job::GpuTensor;
use crate::gpu::runtime::params::{Header, Params, Slot};
use crate::gpu::runtime::shaders::{dtype_code, Kernel};
use crate::gpu::runtime::source::SlotReader;
use crate::merge::stats::VectorLayout;

/// Elements one `gram_rows` workgroup sums (`SEGMENT` in stats.wgsl).
const SEGMENT: usize = 2048;
/// Rows one `gram_columns` invocation sums (`ROW_BLOCK` in stats.wgsl).
const ROW_BLOCK: usize = 64;

/// The vectors of a geometric method: tensor slots `vectors`, each minus slot `base` when given.
#[derive(Debug, Clone)]
pub(crate) struct VectorSet {
    pub base: Option<usize>,
    pub vectors: Vec<usize>,
    pub layout: VectorLayout,
}

impl VectorSet {
    /// Tensor slots uploaded, in kernel slot order (the base first).
    pub fn uploads(&self) -> Vec<usize> {
        self.base.iter().chain(&self.vectors).copied().collect()
    }

    /// Pairs a ≤ b of vectors, the upper triangle row by row.
    pub fn pairs(&self) -> usize {
        self.vectors.len() * (self.vectors.len() + 1) / 2
    }

    /// How many vectors the layout makes of `numel` elements.
    pub fn vector_count(&self, numel: usize) -> usize {
        match self.layout {
            VectorLayout::Flat => 1,
            VectorLayout::Rows(len) => numel.div_ceil(len.max(1)),
            VectorLayout::Columns(stride) => stride.max(1),
        }
    }

    /// Count, first vector slot, base subtraction (mode bit 0), the layout (u0, u1), and the
    /// 1 in `c` that pins common/reduce.wgsl's error-free steps.
    pub fn header(&self, numel: usize) -> Header {
        let has_base = self.base.is_some();
        let (code, length) = match self.layout {
            VectorLayout::Flat => (0, numel),
            VectorLayout::Rows(len) => (0, len),
            VectorLayout::Columns(stride) => (1, stride),
        };
        Header {
            count: self.vectors.len() as u32,
            first_input: u32::from(has_base),
            mode: u32::from(has_base),
            c: 1.0,
            u: [code, length.max(1) as u32, 0, 0],
            ..Header::default()
        }
    }

    pub fn params(&self, tensor: &GpuTensor<'_>) -> Params {
        Params {
            header: self.header(tensor.numel()),
            slots: self
                .uploads()
                .iter()
                .map(|&s| Slot::new(dtype_code(tensor.slots[s])))
                .collect(),
        }
    }

    pub fn dtypes(&self, tensor: &GpuTensor<'_>) -> Vec<DType> {
        self.uploads().iter().map(|&s| tensor.slots[s]).collect()
    }
}

/// Largest chunk whose slots (`per_element` bytes each, a word of padding per slot) and
/// `reserved` further bytes fit one binding (0 when none does).
pub(crate) fn max_elements(
    ctx: &GpuContext,
    per_element: usize,
    slots: usize,
    reserved: usize,
) -> usize {
    // Each slot pads its region to a 16-byte mark (`slot_region`).
    let budget = (ctx.binding_limit() as usize).saturating_sub(16 * slots + reserved);
    budget / per_element.max(1)
}

/// Consecutive ranges of at most `max_len` elements, each end moved back to `snap(end)` when
/// that still leaves the range non-empty.
pub(crate) fn chunk_ranges(
    numel: usize,
    max_len: usize,
    snap: impl Fn(usize) -> usize,
) -> Vec<Range<usize>> {
    let mut ranges = Vec::new();
    let mut start = 0;
    while start < numel {
        let mut end = (start + max_len.max(1)).min(numel);
        if end < numel && snap(end) > start {
            end = snap(end);
        }
        ranges.push(start..end);
        start = end;
    }
    ranges
}

/// Σ vₐ·v_b for every vector of `set` and pair a ≤ b: `pairs()` sums per vector, vector-major.
pub(crate) async fn gram_sums(
    ctx: &GpuContext,
    scratch: &mut Scratch,
    tensor: &GpuTensor<'_>,
    reader: &mut dyn SlotReader,
    set: &VectorSet,
) -> Result<Vec<f64>> {
    let numel = tensor.numel();
    let pairs = set.pairs();
    let uploads = set.uploads();
    let dtypes = set.dtypes(tensor);
    let in_bytes: usize = dtypes.iter().map(|d| d.size()).sum();
    let mut chunker = Chunker::new(ctx, &dtypes, None);
    let mut params = set.params(tensor);
    let mut sums = vec![0f64; set.vector_count(numel) * pairs];
    let mut add = |vector: usize, partial: &[f32]| {
        let sums = &mut sums[vector * pairs..(vector + 1) * pairs];
        for (sum, hi_lo) in sums.iter_mut().zip(partial.chunks_exact(2)) {
            *sum += hi_lo[0] as f64 + hi_lo[1] as f64;
        }
    };
    if let VectorLayout::Columns(stride) = set.layout {
        let stride = stride.max(1);
        let column_groups = stride.div_ceil(256);
        let block = ROW_BLOCK * stride;
        let max_len = max_elements(ctx, in_bytes, uploads.len(), 0);
        params.header.u[2] = column_groups as u32;
        for range in chunk_ranges(numel, max_len, |end| end / block * block) {
            let first = range.start / block;
            let blocks = (range.end - 1) / block - first + 1;
            params.header.u[3] = first as u32;
            let bytes = chunker
                .upload(ctx, scratch, reader, &uploads, &range, &mut params)
                .await?;
            let out = (blocks * stride * pairs * 8) as u64;
            let groups = (blocks * column_groups) as u32;
            let partials = scratch
                .run(
                    ctx,
                    &Dispatch {
                        kernel: Kernel::GramColumns,
                        out: DType::F32,
                        params: &params,
                        input_bytes: bytes,
                        workgroups: groups,
                        result_bytes: out,
                        clear: false,
                        read_bytes: out,
                    },
                )
                .await?;
            let partials: Vec<f32> = bytemuck::pod_collect_to_vec(&partials);
            for block in partials.chunks_exact(stride * pairs * 2) {
                for (column, partial) in block.chunks_exact(pairs * 2).enumerate() {
                    add(column, partial);
                }
            }
        }
        return Ok(sums);
    }
    let row_len = match set.layout {
        VectorLayout::Rows(len) => len.max(1),
        _ => numel.max(1),
    };
    let per_row = row_len.div_ceil(SEGMENT);
    let segment_of = |e: usize| e / row_len * per_row + e % row_len / SEGMENT;
    let snap = |end: usize| end / row_len * row_len + end % row_len / SEGMENT * SEGMENT;
    // Each segment writes `pairs` hi + lo pairs: short rows make that more than the inputs.
    let out_bytes = (pairs * 8).div_ceil(SEGMENT.min(row_len));
    let max_len = max_elements(ctx, in_bytes.max(out_bytes), uploads.len(), 0);
    for range in chunk_ranges(numel, max_len, snap) {
        let first = segment_of(range.start);
        let groups = segment_of(range.end - 1) - first + 1;
        params.header.u[2] = first as u32;
        let bytes = chunker
            .upload(ctx, scratch, reader, &uploads, &range, &mut params)
            .await?;
        let out = (groups * pairs * 8) as u64;
        let partials = scratch
            .run(
                ctx,
                &Dispatch {
                    kernel: Kernel::GramRows,
                    out: DType::F32,
                    params: &params,
                    input_bytes: bytes,
                    workgroups: groups as u32,
                    result_bytes: out,
                    clear: false,
                    read_bytes: out,
                },
            )
            .await?;
        let partials: Vec<f32> = bytemuck::pod_collect_to_vec(&partials);
        for (g, partial) in partials.chunks_exact(pairs * 2).enumerate() {
            add((first + g) / per_row, partial);
        }
    }
    Ok(sums)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_end_at_snapped_points_when_they_fit() {
        let snap = |end: usize| end / 10 * 10;
        assert_eq!(chunk_ranges(25, 12, snap), vec![0..10, 10..20, 20..25]);
        // Shorter than one span: cut anywhere.
        assert_eq!(chunk_ranges(7, 3, snap), vec![0..3, 3..6, 6..7]);
        assert!(chunk_ranges(0, 3, snap).is_empty());
    }
}
