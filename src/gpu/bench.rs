//! Kernel throughput on the present adapter: bytes read + written per second, for the apply
//! kernel alone (inputs resident on the device, many dispatches per submission: the device's
//! time) and for a whole `merge_tensor` (uploads, statistics passes and read-back included).

use std::collections::BTreeMap;
use std::ops::Range;
use std::time::Instant;

use pollster::block_on;

use super::kernels::geometric::{ApplyPass, GeometricPlan};
use super::kernels::plan::MethodPlan;
use crate::dtype::DType;
use crate::error::Result;
use crate::gpu::kernels::gather::gather_statistics;
use crate::gpu::runtime::buffers::{Dispatch, Scratch};
use crate::gpu::runtime::context::GpuContext;
use crate::gpu::runtime::job::GpuTensor;
use crate::gpu::runtime::params::Params;
use crate::gpu::runtime::shaders::Kernel;
use crate::gpu::runtime::source::SlotRead;
use crate::gpu::runtime::source::SlotReader;
use crate::gpu::tensor::merge_tensor;
use crate::merge::catalog::{MethodKind, ParamName};
use crate::merge::rng::{tensor_key, Stream};
use crate::merge::TensorRecipe;

#[derive(Debug, Clone)]
pub struct KernelThroughput {
    pub method: &'static str,
    pub dtype: DType,
    pub numel: usize,
    /// Apply kernel alone, inputs resident.
    pub kernel_gb_s: f64,
    /// `merge_tensor` end to end.
    pub merge_gb_s: f64,
}

/// A two-model recipe (one for nearswap and arcee_fusion) of `method` over `numel` elements
/// with typical parameters, in rows of 4096 when they divide it (DELLA and arcee_fusion work
/// per row).
pub fn bench_recipe(method: MethodKind, numel: usize) -> TensorRecipe {
    let mut global: BTreeMap<ParamName, f64> = method.global_defaults();
    global.insert(ParamName::Normalize, 1.0);
    if method == MethodKind::Sce {
        global.insert(ParamName::SelectTopk, 0.5);
    }
    let single = [
        MethodKind::Nearswap,
        MethodKind::ArceeFusion,
        MethodKind::Slerp,
    ];
    let inputs = if single.contains(&method) { 1 } else { 2 };
    const ROW: usize = 4096;
    let per_input = (0..inputs)
        .map(|i| {
            BTreeMap::from([
                (ParamName::Weight, 0.5 + 0.25 * i as f64),
                (ParamName::Density, 0.3),
                (ParamName::Gamma, 0.05),
            ])
        })
        .collect();
    TensorRecipe {
        method,
        name: "bench.weight".into(),
        shape: if numel % ROW == 0 && numel > ROW {
            vec![numel / ROW, ROW]
        } else {
            vec![numel]
        },
        has_base: method != MethodKind::Linear,
        global,
        per_input,
        seed: 1,
    }
}

/// In-memory slots of random values, encoded in one dtype.
pub struct MemorySlots {
    pub dtype: DType,
    pub slots: Vec<Vec<u8>>,
}

impl MemorySlots {
    pub fn random(dtype: DType, slots: usize, numel: usize, seed: u64) -> Self {
        let slots = (0..slots)
            .map(|s| {
                let stream = Stream::new(seed, tensor_key("bench"), s as u32);
                let values: Vec<f32> = (0..numel as u32)
                    .map(|i| (stream.uniform(i) - 0.5) * 0.02)
                    .collect();
                let mut bytes = vec![0u8; numel * dtype.size()];
                dtype.encode(&values, &mut bytes);
                bytes
            })
            .collect();
        MemorySlots { dtype, slots }
    }
}

impl SlotReader for MemorySlots {
    fn read<'a>(
        &'a mut self,
        slot: usize,
        range: Range<usize>,
        out: &'a mut Vec<u8>,
    ) -> SlotRead<'a> {
        let size = self.dtype.size();
        out.clear();
        out.extend_from_slice(&self.slots[slot][range.start * size..range.end * size]);
        Box::pin(std::future::ready(Ok(())))
    }
}

/// The untimed runs before `merge_tensor` is timed: they compile its pipelines and create its
/// buffers, the two staging slices included.
fn warm_up(
    ctx: &GpuContext,
    tensor: &GpuTensor<'_>,
    data: &mut MemorySlots,
    sink: &mut dyn FnMut(&[u8]) -> Result<()>,
) -> Result<()> {
    for _ in 0..2 {
        block_on(merge_tensor(ctx, tensor, data, sink))?;
    }
    Ok(())
}

/// Least time spent repeating one apply kernel.
const KERNEL_SECONDS: f64 = 0.25;
/// Dispatches of the apply kernel recorded in one compute pass, one submission each.
const DISPATCHES_PER_SUBMIT: usize = 32;

/// One apply kernel on a resident chunk, as the benchmark times it.
struct Apply<'p> {
    kernel: Kernel,
    out: DType,
    params: &'p Params,
    input_bytes: u64,
    len: usize,
    result_bytes: u64,
}

impl Apply<'_> {
    /// Device seconds per dispatch: batches of `DISPATCHES_PER_SUBMIT` dispatches in one pass,
    /// waited for one by one, for at least `runs` batches and `KERNEL_SECONDS`. A fast GPU runs
    /// one dispatch in well under a millisecond: a submission (params write, bind group, submit,
    /// wait) per dispatch would time the host. The first batch (leaving idle clocks) is not
    /// timed; `merge_tensor` has run the same dispatch before, so device errors are ruled out.
    fn seconds(&self, ctx: &GpuContext, scratch: &mut Scratch, runs: usize) -> Result<f64> {
        let batch = |scratch: &mut Scratch| {
            scratch.run_repeated(
                ctx,
                &Dispatch {
                    kernel: self.kernel,
                    out: self.out,
                    params: self.params,
                    input_bytes: self.input_bytes,
                    workgroups: self.kernel.workgroups(self.len),
                    result_bytes: self.result_bytes,
                    clear: false,
                    read_bytes: 0,
                },
                DISPATCHES_PER_SUBMIT,
            );
            ctx.wait()
        };
        batch(scratch)?;
        let started = Instant::now();
        let mut batches = 0usize;
        while batches < runs || started.elapsed().as_secs_f64() < KERNEL_SECONDS {
            batch(scratch)?;
            batches += 1;
        }
        let dispatches = batches * DISPATCHES_PER_SUBMIT;
        Ok(started.elapsed().as_secs_f64() / dispatches as f64)
    }
}

/// Throughput of each GPU method on `numel`-element tensors in `dtype`, `runs` timed runs each.
pub fn kernel_throughput(
    ctx: &GpuContext,
    methods: &[MethodKind],
    dtype: DType,
    numel: usize,
    runs: usize,
) -> Result<Vec<KernelThroughput>> {
    let mut results = Vec::new();
    for &method in methods {
        let recipe = bench_recipe(method, numel);
        let inputs = recipe.per_input.len();
        let slots = inputs + usize::from(recipe.has_base);
        let mut data = MemorySlots::random(dtype, slots, numel, 3);
        let tensor = GpuTensor::new(
            &recipe,
            recipe.has_base.then_some(dtype),
            vec![dtype; inputs],
            dtype,
        );
        if GeometricPlan::new(&tensor).is_some() {
            results.push(geometric_throughput(ctx, &tensor, &mut data, runs)?);
            continue;
        }
        let Some(mut plan) = MethodPlan::new(&tensor) else {
            continue;
        };
        let moved = (numel * dtype.size() * (plan.apply.uploads.len() + 1)) as f64;
        // End to end; not timed: the warm-up runs that compile the pipelines and create the
        // transfer buffers (the staging ring's slices come one per upload).
        let mut sink = |_: &[u8]| Ok(());
        warm_up(ctx, &tensor, &mut data, &mut sink)?;
        let started = Instant::now();
        for _ in 0..runs {
            block_on(merge_tensor(ctx, &tensor, &mut data, &mut sink))?;
        }
        let merge_s = started.elapsed().as_secs_f64() / runs as f64;
        // The apply kernel on one resident chunk (statistics already folded into the params,
        // DELLA's per-chunk ranks computed once before: not timed).
        let mut chunker = plan.chunker(ctx, &tensor)?;
        let range = chunker.ranges(numel).first().cloned().unwrap_or(0..0);
        let mut scratch = Scratch::default();
        block_on(gather_statistics(
            ctx,
            &mut scratch,
            &tensor,
            &mut data,
            &mut plan,
        ))?;
        let mut params = plan.apply.params();
        let bytes = block_on(chunker.upload(
            ctx,
            &mut scratch,
            &mut data,
            &plan.apply.uploads,
            &range,
            &mut params,
        ))?;
        let out_bytes = ((range.len() * dtype.size()).div_ceil(4) * 4) as u64;
        if let Some(selection) = &plan.selection {
            block_on(selection.prepare(ctx, &mut scratch, &range, &mut params, bytes))?;
        }
        let apply = Apply {
            kernel: plan.apply.kernel,
            out: dtype,
            params: &params,
            input_bytes: bytes,
            len: range.len(),
            result_bytes: out_bytes,
        };
        let kernel_s = apply.seconds(ctx, &mut scratch, runs)?;
        let chunk_moved = moved * range.len() as f64 / numel.max(1) as f64;
        results.push(KernelThroughput {
            method: method.key(),
            dtype,
            numel,
            kernel_gb_s: chunk_moved / kernel_s / 1e9,
            merge_gb_s: moved / merge_s / 1e9,
        });
    }
    Ok(results)
}

/// [`kernel_throughput`] of a geometric method: its apply kernel on one resident chunk (the
/// Gram statistics already turned into coefficients), and `merge_tensor` end to end.
fn geometric_throughput(
    ctx: &GpuContext,
    tensor: &GpuTensor<'_>,
    data: &mut MemorySlots,
    runs: usize,
) -> Result<KernelThroughput> {
    let plan = GeometricPlan::new(tensor).expect("a geometric method");
    let (numel, dtype) = (tensor.numel(), tensor.output);
    let moved = (numel * dtype.size() * (plan.set.uploads().len() + 1)) as f64;
    let mut sink = |_: &[u8]| Ok(());
    warm_up(ctx, tensor, data, &mut sink)?;
    let started = Instant::now();
    for _ in 0..runs {
        block_on(merge_tensor(ctx, tensor, data, &mut sink))?;
    }
    let merge_s = started.elapsed().as_secs_f64() / runs.max(1) as f64;
    let mut scratch = Scratch::default();
    let mut apply = block_on(ApplyPass::new(ctx, tensor, &plan, &mut scratch, data))?;
    let range = apply.ranges.first().cloned().unwrap_or(0..0);
    let bytes = block_on(apply.upload(ctx, &mut scratch, data, &range))?;
    let timed = Apply {
        kernel: plan.kernel,
        out: dtype,
        params: apply.params(),
        input_bytes: bytes,
        len: range.len(),
        result_bytes: ((range.len() * dtype.size()).div_ceil(4) * 4) as u64,
    };
    let kernel_s = timed.seconds(ctx, &mut scratch, runs)?;
    let chunk_moved = moved * range.len() as f64 / numel.max(1) as f64;
    Ok(KernelThroughput {
        method: tensor.recipe.method.key(),
        dtype,
        numel,
        kernel_gb_s: chunk_moved / kernel_s / 1e9,
        merge_gb_s: moved / merge_s / 1e9,
    })
}
