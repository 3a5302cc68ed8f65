//! Helpers of the GPU-vs-CPU tests: the adapter (lavapipe without a GPU; a failure rather
//! than a skip under MIXMERGE_REQUIRE_GPU=1), recipes, data, both merges and ulp comparisons.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use mixmerge::dtype::DType;
use mixmerge::gpu::bench::MemorySlots;
use mixmerge::gpu::{merge_tensor, request_native, GpuContext, GpuTensor};
use mixmerge::merge::catalog::{encoded, MethodKind, ParamName};
use mixmerge::merge::rng::{tensor_key, Stream};
use mixmerge::merge::{build_merger, Chunk, TensorRecipe};
use mixmerge::testing::require_gpu;

/// Binding limit that cuts the larger test tensors into dozens of chunks.
pub const TINY_BINDING: u64 = 4096;

pub fn adapter(tiny: bool) -> Option<&'static GpuContext> {
    static NORMAL: OnceLock<Option<GpuContext>> = OnceLock::new();
    static TINY: OnceLock<Option<GpuContext>> = OnceLock::new();
    let make = || {
        let ctx = require_gpu(
            request_native(false).expect("requesting an adapter"),
            "no GPU adapter was found (install mesa-vulkan-drivers for lavapipe)",
        );
        if let Some(c) = &ctx {
            eprintln!(
                "gpu tests on {:?} ({:?})",
                c.info().name,
                c.info().device_type
            );
        }
        ctx
    };
    if tiny {
        TINY.get_or_init(|| make().map(|c| c.with_binding_limit(TINY_BINDING)))
            .as_ref()
    } else {
        NORMAL.get_or_init(make).as_ref()
    }
}

pub fn recipe(
    method: MethodKind,
    inputs: usize,
    numel: usize,
    global: &[(ParamName, f64)],
    per_input: &[(ParamName, f64)],
) -> TensorRecipe {
    let mut all: BTreeMap<ParamName, f64> = method.global_defaults();
    all.extend(global.iter().copied());
    TensorRecipe {
        method,
        name: "model.layers.3.mlp.up_proj.weight".into(),
        shape: vec![numel],
        has_base: !matches!(method, MethodKind::Linear | MethodKind::Passthrough),
        global: all,
        per_input: (0..inputs)
            .map(|i| {
                let mut m = BTreeMap::from([(ParamName::Weight, 0.3 + 0.4 * i as f64)]);
                m.extend(per_input.iter().copied());
                m
            })
            .collect(),
        seed: 11,
    }
}

/// Slots (base first) of values `dtype` represents exactly; `tied` draws deltas from a few
/// levels so magnitude ranks have many ties.
pub fn data(dtype: DType, slots: usize, numel: usize, tied: bool) -> MemorySlots {
    let values: Vec<Vec<f32>> = (0..slots)
        .map(|s| {
            let stream = Stream::new(5, tensor_key("data"), s as u32);
            (0..numel as u32)
                .map(|i| {
                    let r = stream.bits(i);
                    let base = ((r % 64) as f32 - 32.0) / 64.0;
                    if s == 0 {
                        base
                    } else if tied {
                        base + (((r >> 8) % 9) as f32 - 4.0) / 16.0
                    } else {
                        base + (stream.uniform(i ^ 0x5555) - 0.5) * 0.125
                    }
                })
                .collect()
        })
        .collect();
    MemorySlots {
        dtype,
        slots: values
            .iter()
            .map(|v| {
                let mut bytes = vec![0u8; v.len() * dtype.size()];
                dtype.encode(v, &mut bytes);
                bytes
            })
            .collect(),
    }
}

pub fn cpu_merge(recipe: &TensorRecipe, data: &MemorySlots, out: DType) -> Vec<u8> {
    let decoded: Vec<Vec<f32>> = data
        .slots
        .iter()
        .map(|b| {
            let mut v = vec![0f32; b.len() / data.dtype.size()];
            data.dtype.decode(b, &mut v);
            v
        })
        .collect();
    cpu_merge_values(recipe, &decoded, out)
}

/// The CPU twin's merge of decoded slots (the base first when present), encoded in `out`.
pub fn cpu_merge_values(recipe: &TensorRecipe, decoded: &[Vec<f32>], out: DType) -> Vec<u8> {
    let (base, inputs) = if recipe.has_base {
        (Some(decoded[0].as_slice()), &decoded[1..])
    } else {
        (None, decoded)
    };
    let inputs: Vec<&[f32]> = inputs.iter().map(Vec::as_slice).collect();
    let chunk = Chunk {
        start: 0,
        base,
        inputs: &inputs,
    };
    let mut merger = build_merger(recipe).expect("cpu merger");
    let mut pass = 0;
    while pass < merger.stat_passes() {
        merger.observe(pass, &chunk);
        merger.finish_pass(pass);
        pass += 1;
    }
    let mut merged = vec![0f32; recipe.numel()];
    merger.apply(&chunk, &mut merged);
    let mut bytes = vec![0u8; merged.len() * out.size()];
    out.encode(&merged, &mut bytes);
    bytes
}

pub fn gpu_merge(
    ctx: &GpuContext,
    recipe: &TensorRecipe,
    data: &mut MemorySlots,
    out: DType,
) -> Vec<u8> {
    let dtype = data.dtype;
    let tensor = GpuTensor::new(
        recipe,
        recipe.has_base.then_some(dtype),
        vec![dtype; recipe.per_input.len()],
        out,
    );
    let mut bytes = Vec::new();
    pollster::block_on(merge_tensor(ctx, &tensor, data, &mut |b| {
        bytes.extend_from_slice(b);
        Ok(())
    }))
    .expect("gpu merge");
    bytes
}

/// Distance in units in the last place between two encoded values of `dtype`.
pub fn ulps(dtype: DType, a: &[u8], b: &[u8]) -> u64 {
    let ordered = |bits: u64, width: u32| -> i64 {
        let sign = 1u64 << (width - 1);
        if bits & sign != 0 {
            -((bits & !sign) as i64)
        } else {
            bits as i64
        }
    };
    let (x, y, width) = match dtype {
        DType::F32 => (
            u32::from_le_bytes(a.try_into().unwrap()) as u64,
            u32::from_le_bytes(b.try_into().unwrap()) as u64,
            32,
        ),
        _ => (
            u16::from_le_bytes(a.try_into().unwrap()) as u64,
            u16::from_le_bytes(b.try_into().unwrap()) as u64,
            16,
        ),
    };
    ordered(x, width).abs_diff(ordered(y, width))
}

/// f32 within `f32_ulps` of the result or of operands of magnitude 1 (FMA contraction and
/// 2.5-ulp division on GPUs), halves within 1 ulp.
pub fn assert_close(what: &str, dtype: DType, cpu: &[u8], gpu: &[u8], f32_ulps: u64) {
    assert_eq!(cpu.len(), gpu.len(), "{what}: output length");
    let size = dtype.size();
    let limit = if dtype == DType::F32 { f32_ulps } else { 1 };
    let mut worst = (0u64, 0usize);
    for (i, (c, g)) in cpu.chunks(size).zip(gpu.chunks(size)).enumerate() {
        let mut d = ulps(dtype, c, g);
        if dtype == DType::F32 {
            // Results near 0 come from cancelling operands of magnitude ≤ 1: an ulp of the
            // operands (a rescale factor or FMA contraction) is many ulps of the result.
            let (x, y) = (
                f32::from_le_bytes(c.try_into().unwrap()),
                f32::from_le_bytes(g.try_into().unwrap()),
            );
            if (x - y).abs() <= f32_ulps as f32 * f32::EPSILON {
                d = d.min(limit);
            }
        }
        if d > worst.0 {
            worst = (d, i);
        }
    }
    let at = |b: &[u8]| {
        let mut v = [0f32];
        dtype.decode(&b[worst.1 * size..(worst.1 + 1) * size], &mut v);
        v[0]
    };
    assert!(
        worst.0 <= limit,
        "{what}: element {} differs by {} ulp: cpu {:e}, gpu {:e}",
        worst.1,
        worst.0,
        at(cpu),
        at(gpu)
    );
}

pub const DTYPES: [DType; 3] = [DType::F32, DType::F16, DType::BF16];

pub fn run_probe(ctx: &GpuContext, source: &str, words: u64, groups: u32) -> Vec<u32> {
    run_probe_with(ctx, source, words, groups, &[])
}

/// Runs `main` of `source` over `groups` workgroups: binding 0 receives `words` words (returned),
/// binding 1, when `input` is not empty, holds `input`.
pub fn run_probe_with(
    ctx: &GpuContext,
    source: &str,
    words: u64,
    groups: u32,
    input: &[u8],
) -> Vec<u32> {
    use wgpu::util::DeviceExt;
    let device = ctx.device();
    let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: None,
        source: wgpu::ShaderSource::Wgsl(source.into()),
    });
    let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: None,
        layout: None,
        module: &module,
        entry_point: Some("main"),
        compilation_options: Default::default(),
        cache: None,
    });
    let usage = wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC;
    let out = device.create_buffer(&wgpu::BufferDescriptor {
        label: None,
        size: words * 4,
        usage,
        mapped_at_creation: false,
    });
    let read = device.create_buffer(&wgpu::BufferDescriptor {
        label: None,
        size: words * 4,
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    let input = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
        label: None,
        contents: if input.is_empty() { &[0; 4] } else { input },
        usage: wgpu::BufferUsages::STORAGE,
    });
    let mut entries = vec![wgpu::BindGroupEntry {
        binding: 0,
        resource: out.as_entire_binding(),
    }];
    if input.size() > 4 {
        entries.push(wgpu::BindGroupEntry {
            binding: 1,
            resource: input.as_entire_binding(),
        });
    }
    let bind = device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: None,
        layout: &pipeline.get_bind_group_layout(0),
        entries: &entries,
    });
    let mut encoder = device.create_command_encoder(&Default::default());
    {
        let mut pass = encoder.begin_compute_pass(&Default::default());
        pass.set_pipeline(&pipeline);
        pass.set_bind_group(0, &bind, &[]);
        pass.dispatch_workgroups(groups, 1, 1);
    }
    encoder.copy_buffer_to_buffer(&out, 0, &read, 0, words * 4);
    ctx.queue().submit([encoder.finish()]);
    read.slice(..)
        .map_async(wgpu::MapMode::Read, |r| r.expect("map"));
    device
        .poll(wgpu::PollType::wait_indefinitely())
        .expect("poll");
    let words = bytemuck::pod_collect_to_vec(&read.slice(..).get_mapped_range().expect("mapped"));
    read.unmap();
    words
}

/// A random mask is the same bits on both paths: with one input at weight 1 and no rescale every
/// element is exactly base + δ where kept and exactly base where dropped. Checks that, and that
/// about `density` of the elements are kept, for `method` over a tensor of `shape`.
pub fn assert_same_mask(
    method: MethodKind,
    shape: &[usize],
    per_input: &[(ParamName, f64)],
    tied: bool,
) {
    let Some(ctx) = adapter(false) else { return };
    let numel: usize = shape.iter().product();
    let density = per_input
        .iter()
        .find(|(name, _)| *name == ParamName::Density)
        .map_or(1.0, |&(_, d)| d);
    let mut r = recipe(
        method,
        1,
        numel,
        &[(ParamName::Rescale, encoded::RESCALE_OFF)],
        per_input,
    );
    r.shape = shape.to_vec();
    r.per_input[0].insert(ParamName::Weight, 1.0);
    let mut d = data(DType::F32, 2, numel, tied);
    let cpu = cpu_merge(&r, &d, DType::F32);
    let gpu = gpu_merge(ctx, &r, &mut d, DType::F32);
    assert!(cpu == gpu, "{} {shape:?}: masks differ", method.key());
    let kept = cpu
        .chunks(4)
        .zip(d.slots[0].chunks(4))
        .filter(|(o, b)| o != b)
        .count();
    assert!(
        (kept as f64 / numel as f64 - density).abs() < 0.015,
        "{} {shape:?}: kept {kept} of {numel}",
        method.key()
    );
}
