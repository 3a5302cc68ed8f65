//! The base and one input uploaded together for a statistics pass, and the L1 sums of one
//! input's task vector (all of it, and what its sparsifier keeps).

use crate::dtype::DType;
use crate::error::Result;
use crate::gpu::runtime::buffers::{Dispatch, Scratch};
use crate::gpu::runtime::chunker::Chunker;
use crate::gpu::runtime::context::GpuContext;
use crate::gpu::runtime::job::GpuTensor;
use crate::gpu::runtime::params::{Params, Slot};
use crate::gpu::runtime::shaders::Kernel;
use crate::gpu::runtime::source::SlotReader;

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
    pub(crate) async fn l1_sums(
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
            &Dispatch {
                kernel: Kernel::SparsifyL1,
                out: DType::F32,
                params: &params,
                input_bytes,
                workgroups: groups as u32,
                result_bytes: groups * 16,
                clear: false,
                read_bytes: groups * 16,
            },
        )
        .await?;
    let (mut total, mut kept) = (0f64, 0f64);
    for pair in bytemuck::pod_collect_to_vec::<u8, f32>(&partials).chunks_exact(4) {
        total += pair[0] as f64 + pair[1] as f64;
        kept += pair[2] as f64 + pair[3] as f64;
    }
    Ok((total, kept))
}
