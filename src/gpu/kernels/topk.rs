//! Exact rank cuts on the GPU, the twin of `RadixSelect` (src/merge/sparsify/topk.rs): the same
//! cut — the first `rank` elements by |δ| descending, ties by index — found by a radix select
//! over the 31 key bits in digits of 11, 11 and 9 bits (2048-bin workgroup-local histograms),
//! then, when the cut splits the elements equal to the threshold, by locating the tie cut-off.

use std::ops::Range;

use crate::dtype::DType;
use crate::error::Result;
use crate::gpu::kernels::stat_source::StatSource;
use crate::gpu::runtime::buffers::{Dispatch, Scratch};
use crate::gpu::runtime::chunker::Chunker;
use crate::gpu::runtime::context::GpuContext;
use crate::gpu::runtime::params::Params;
use crate::gpu::runtime::shaders::Kernel;
use crate::gpu::runtime::source::SlotReader;

/// (shift, bits) of each digit, most significant first.
const DIGITS: [(u32, u32); 3] = [(20, 11), (9, 11), (0, 9)];
const BLOCK: usize = 512;

/// Where the keys of a rank cut come from, chunk by chunk.
pub(crate) trait KeySource {
    fn ranges(&self) -> Vec<Range<usize>>;

    /// Params of a topk kernel with header scalars `u`; `stage` fills in the chunk's fields.
    fn params(&self, u: [u32; 4]) -> Params;

    /// Puts elements `range` where the topk kernels read them; returns the input bytes used.
    async fn stage(
        &mut self,
        ctx: &GpuContext,
        scratch: &mut Scratch,
        reader: &mut dyn SlotReader,
        range: &Range<usize>,
        params: &mut Params,
    ) -> Result<u64>;
}

/// |δ| of one input against the base (TIES, breadcrumbs).
pub(crate) struct DeltaKeys<'s, 't, 'a> {
    stats: &'s StatSource<'t, 'a>,
    chunker: Chunker,
}

impl<'s, 't, 'a> DeltaKeys<'s, 't, 'a> {
    pub fn new(ctx: &GpuContext, stats: &'s StatSource<'t, 'a>) -> Self {
        DeltaKeys {
            chunker: stats.chunker(ctx),
            stats,
        }
    }
}

impl KeySource for DeltaKeys<'_, '_, '_> {
    fn ranges(&self) -> Vec<Range<usize>> {
        self.chunker.ranges(self.stats.tensor.numel())
    }

    fn params(&self, u: [u32; 4]) -> Params {
        self.stats.params(&self.stats.slots[1], u)
    }

    async fn stage(
        &mut self,
        ctx: &GpuContext,
        scratch: &mut Scratch,
        reader: &mut dyn SlotReader,
        range: &Range<usize>,
        params: &mut Params,
    ) -> Result<u64> {
        let sources = self.stats.sources;
        self.chunker
            .upload(ctx, scratch, reader, &sources, range, params)
            .await
    }
}

/// The cut as the kernels test it: (key, index cut-off) as in `RankCut::contains`.
pub async fn rank_cut(
    ctx: &GpuContext,
    scratch: &mut Scratch,
    reader: &mut dyn SlotReader,
    keys: &mut impl KeySource,
    rank: usize,
    numel: usize,
) -> Result<(u32, u32)> {
    if rank == 0 {
        return Ok((u32::MAX, 0));
    }
    if rank >= numel {
        return Ok((0, u32::MAX));
    }
    let ranges = keys.ranges();
    let histogram_kernel = if ctx.workgroup_histograms() {
        Kernel::TopkHistogram
    } else {
        Kernel::TopkHistogramGlobal
    };
    let (mut prefix, mut need, mut at_key) = (0u32, rank, 0usize);
    for (shift, bits) in DIGITS {
        let mut params = keys.params([shift, bits, prefix, 0]);
        let bins = 1usize << bits;
        let mut histogram = Vec::new();
        for (c, range) in ranges.iter().enumerate() {
            let bytes = keys.stage(ctx, scratch, reader, range, &mut params).await?;
            let last = c + 1 == ranges.len();
            histogram = scratch
                .run(
                    ctx,
                    &Dispatch {
                        kernel: histogram_kernel,
                        out: DType::F32,
                        params: &params,
                        input_bytes: bytes,
                        workgroups: histogram_kernel.workgroups(range.len()),
                        result_bytes: 2048 * 4,
                        clear: c == 0,
                        read_bytes: if last { bins as u64 * 4 } else { 0 },
                    },
                )
                .await?;
        }
        let counts: Vec<u32> = bytemuck::pod_collect_to_vec(&histogram);
        let (mut above, mut bin) = (0usize, bins - 1);
        while above + (counts[bin] as usize) < need {
            above += counts[bin] as usize;
            bin -= 1;
        }
        prefix = prefix << bits | bin as u32;
        need -= above;
        at_key = counts[bin] as usize;
    }
    let key = prefix;
    if need == at_key {
        return Ok((key, u32::MAX));
    }
    // The `need`-th element equal to `key` in index order: count per block, then locate.
    let mut params = keys.params([key, 0, 0, 0]);
    let mut seen = 0usize;
    for range in &ranges {
        let bytes = keys.stage(ctx, scratch, reader, range, &mut params).await?;
        let counts = count_key_per_block(ctx, scratch, &params, bytes, range.len()).await?;
        for (block, &n) in counts.iter().enumerate() {
            if seen + n as usize >= need {
                let start = range.start + block * BLOCK;
                let block_range = start..(start + BLOCK).min(range.end);
                params.header.u[1] = (need - seen) as u32;
                let bytes = keys
                    .stage(ctx, scratch, reader, &block_range, &mut params)
                    .await?;
                let found = scratch
                    .run(
                        ctx,
                        &Dispatch {
                            kernel: Kernel::TopkLocate,
                            out: DType::F32,
                            params: &params,
                            input_bytes: bytes,
                            workgroups: 1,
                            result_bytes: 4,
                            clear: true,
                            read_bytes: 4,
                        },
                    )
                    .await?;
                let offset = u32::from_le_bytes([found[0], found[1], found[2], found[3]]);
                return Ok((key, start as u32 + offset + 1));
            }
            seen += n as usize;
        }
    }
    unreachable!("the histogram counted {need} elements at the threshold key")
}

/// How many keys of the staged chunk (`len` elements) equal `params.header.u[0]`, per block of
/// `BLOCK` elements.
pub(crate) async fn count_key_per_block(
    ctx: &GpuContext,
    scratch: &mut Scratch,
    params: &Params,
    input_bytes: u64,
    len: usize,
) -> Result<Vec<u32>> {
    let blocks = len.div_ceil(BLOCK);
    let counts = scratch
        .run(
            ctx,
            &Dispatch {
                kernel: Kernel::TopkCountKey,
                out: DType::F32,
                params,
                input_bytes,
                workgroups: blocks as u32,
                result_bytes: blocks as u64 * 4,
                clear: true,
                read_bytes: blocks as u64 * 4,
            },
        )
        .await?;
    Ok(bytemuck::pod_collect_to_vec(&counts))
}
