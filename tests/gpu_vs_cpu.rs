#![cfg(feature = "gpu")]
//! Every GPU kernel against its CPU twin: f32 within a few ulp, f16/bf16 within 1 ulp, codecs
//! and random masks bit-identical. Runs on lavapipe without a GPU; with MIXMERGE_REQUIRE_GPU=1 a
//! missing adapter fails the test instead of skipping it.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use mixmerge::dtype::DType;
use mixmerge::gpu::bench::MemorySlots;
use mixmerge::gpu::{merge_tensor, request_native, GpuContext, GpuTensor};
use mixmerge::merge::catalog::{encoded, MethodKind, ParamName, Scope};
use mixmerge::merge::rng::{tensor_key, Stream};
use mixmerge::merge::{build_merger, Chunk, TensorRecipe};

/// Binding limit that cuts the larger test tensors into dozens of chunks.
const TINY_BINDING: u64 = 4096;

fn adapter(tiny: bool) -> Option<&'static GpuContext> {
    static NORMAL: OnceLock<Option<GpuContext>> = OnceLock::new();
    static TINY: OnceLock<Option<GpuContext>> = OnceLock::new();
    let make = || {
        let ctx = request_native(false).expect("requesting an adapter");
        match &ctx {
            Some(c) => eprintln!("gpu tests on {:?} ({:?})", c.info().name, c.info().device_type),
            None if std::env::var("MIXMERGE_REQUIRE_GPU").as_deref() == Ok("1") => {
                panic!("MIXMERGE_REQUIRE_GPU=1 but no GPU adapter was found (install mesa-vulkan-drivers for lavapipe)")
            }
            None => eprintln!(
                "\n*** SKIPPED: no GPU adapter (install mesa-vulkan-drivers); set MIXMERGE_REQUIRE_GPU=1 to fail instead ***\n"
            ),
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

fn recipe(
    method: MethodKind,
    inputs: usize,
    numel: usize,
    global: &[(ParamName, f64)],
    per_input: &[(ParamName, f64)],
) -> TensorRecipe {
    let mut all: BTreeMap<ParamName, f64> = method
        .params()
        .into_iter()
        .filter(|d| d.scope == Scope::Global)
        .filter_map(|d| d.default.map(|v| (d.name, v)))
        .collect();
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
fn data(dtype: DType, slots: usize, numel: usize, tied: bool) -> MemorySlots {
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

fn cpu_merge(recipe: &TensorRecipe, data: &MemorySlots, out: DType) -> Vec<u8> {
    let decoded: Vec<Vec<f32>> = data
        .slots
        .iter()
        .map(|b| {
            let mut v = vec![0f32; b.len() / data.dtype.size()];
            data.dtype.decode(b, &mut v);
            v
        })
        .collect();
    let (base, inputs) = if recipe.has_base {
        (Some(decoded[0].as_slice()), &decoded[1..])
    } else {
        (None, &decoded[..])
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

fn gpu_merge(
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
    merge_tensor(ctx, &tensor, data, &mut |b| {
        bytes.extend_from_slice(b);
        Ok(())
    })
    .expect("gpu merge");
    bytes
}

/// Distance in units in the last place between two encoded values of `dtype`.
fn ulps(dtype: DType, a: &[u8], b: &[u8]) -> u64 {
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
fn assert_close(what: &str, dtype: DType, cpu: &[u8], gpu: &[u8], f32_ulps: u64) {
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

const DTYPES: [DType; 3] = [DType::F32, DType::F16, DType::BF16];
const SIZES: [(usize, bool); 4] = [(1, false), (7, false), (1001, false), (20_003, true)];

fn check(
    method: MethodKind,
    inputs: usize,
    global: &[(ParamName, f64)],
    per_input: &[(ParamName, f64)],
    tied: bool,
) {
    for (numel, tiny) in SIZES {
        let Some(ctx) = adapter(tiny) else { return };
        for dtype in DTYPES {
            let r = recipe(method, inputs, numel, global, per_input);
            let mut d = data(dtype, inputs + usize::from(r.has_base), numel, tied);
            let cpu = cpu_merge(&r, &d, dtype);
            let gpu = gpu_merge(ctx, &r, &mut d, dtype);
            let what = format!(
                "{} {dtype} n={numel} {global:?} {per_input:?}",
                method.key()
            );
            assert_close(&what, dtype, &cpu, &gpu, 4);
        }
    }
}

#[test]
fn linear_matches_cpu() {
    check(
        MethodKind::Linear,
        3,
        &[(ParamName::Normalize, 1.0)],
        &[],
        false,
    );
    check(
        MethodKind::Linear,
        2,
        &[(ParamName::Normalize, 0.0)],
        &[],
        false,
    );
}

#[test]
fn passthrough_matches_cpu() {
    check(
        MethodKind::Passthrough,
        1,
        &[(ParamName::Scale, 0.75)],
        &[],
        false,
    );
}

#[test]
fn nearswap_matches_cpu() {
    check(MethodKind::Nearswap, 1, &[(ParamName::T, 0.01)], &[], false);
}

#[test]
fn task_arithmetic_matches_cpu() {
    check(MethodKind::TaskArithmetic, 3, &[], &[], false);
    check(
        MethodKind::TaskArithmetic,
        2,
        &[(ParamName::Lambda, 0.7), (ParamName::Normalize, 1.0)],
        &[],
        false,
    );
}

#[test]
fn dare_matches_cpu() {
    for rescale in [
        encoded::RESCALE_OFF,
        encoded::RESCALE_L1,
        encoded::RESCALE_INVERSE,
    ] {
        let global = [(ParamName::Rescale, rescale)];
        check(
            MethodKind::DareLinear,
            2,
            &global,
            &[(ParamName::Density, 0.4)],
            false,
        );
        check(
            MethodKind::DareTies,
            3,
            &global,
            &[(ParamName::Density, 0.6)],
            false,
        );
    }
}

#[test]
fn ties_matches_cpu() {
    for consensus in [encoded::CONSENSUS_SUM, encoded::CONSENSUS_COUNT] {
        let global = [(ParamName::Consensus, consensus)];
        check(
            MethodKind::Ties,
            3,
            &global,
            &[(ParamName::Density, 0.3)],
            true,
        );
        check(
            MethodKind::Ties,
            2,
            &global,
            &[(ParamName::Density, 0.3)],
            false,
        );
    }
    let l1 = [(ParamName::Rescale, encoded::RESCALE_L1)];
    check(MethodKind::Ties, 2, &l1, &[(ParamName::Density, 0.5)], true);
}

#[test]
fn breadcrumbs_match_cpu() {
    let per_input = [(ParamName::Density, 0.5), (ParamName::Gamma, 0.1)];
    check(MethodKind::Breadcrumbs, 2, &[], &per_input, true);
    check(MethodKind::BreadcrumbsTies, 3, &[], &per_input, false);
}

/// DARE's keep mask is the same bits: one input, weight 1, no rescale, so every element is
/// exactly base + δ where kept and exactly base where dropped.
#[test]
fn dare_masks_are_bit_identical() {
    let numel = 100_003;
    let Some(ctx) = adapter(false) else { return };
    let mut r = recipe(
        MethodKind::DareLinear,
        1,
        numel,
        &[(ParamName::Rescale, encoded::RESCALE_OFF)],
        &[(ParamName::Density, 0.25)],
    );
    r.per_input[0].insert(ParamName::Weight, 1.0);
    let mut d = data(DType::F32, 2, numel, false);
    let cpu = cpu_merge(&r, &d, DType::F32);
    let gpu = gpu_merge(ctx, &r, &mut d, DType::F32);
    assert_eq!(cpu, gpu);
    let base = &d.slots[0];
    let kept = cpu
        .chunks(4)
        .zip(base.chunks(4))
        .filter(|(o, b)| o != b)
        .count();
    assert!(
        (kept as f64 / numel as f64 - 0.25).abs() < 0.01,
        "kept {kept}"
    );
}

/// Codecs: every f16 pattern decodes, and random f32 patterns encode to f16 and bf16, exactly
/// as src/dtype.rs does (passthrough at scale 1 is decode then encode).
#[test]
fn codecs_are_bit_identical() {
    let Some(ctx) = adapter(false) else { return };
    let every_f16: Vec<u8> = (0..=u16::MAX).flat_map(|h| h.to_le_bytes()).collect();
    let mut patterns: Vec<u32> = (0..200_000u32)
        .map(|i| Stream::new(9, 0, 0).bits(i))
        .collect();
    patterns.extend([
        0,
        0x8000_0000,
        0x7f80_0000,
        0xff80_0000,
        0x7f7f_ffff,
        0x0000_0001,
        0x3f80_8000,
        0x3f80_8001,
        0x3880_0000,
        0x3300_0000,
        0x3300_0001,
        0x477f_f000,
        0x477f_efff,
    ]);
    let random_f32: Vec<u8> = patterns.iter().flat_map(|w| w.to_le_bytes()).collect();
    for (input, bytes, out) in [
        (DType::F16, every_f16.clone(), DType::F32),
        (DType::BF16, every_f16, DType::F32),
        (DType::F32, random_f32.clone(), DType::F16),
        (DType::F32, random_f32, DType::BF16),
    ] {
        let numel = bytes.len() / input.size();
        let r = recipe(
            MethodKind::Passthrough,
            1,
            numel,
            &[(ParamName::Scale, 1.0)],
            &[],
        );
        let mut d = MemorySlots {
            dtype: input,
            slots: vec![bytes],
        };
        let cpu = cpu_merge(&r, &d, out);
        let gpu = gpu_merge(ctx, &r, &mut d, out);
        let size = out.size();
        for (i, (c, g)) in cpu.chunks(size).zip(gpu.chunks(size)).enumerate() {
            // A NaN's payload may be quieted on its way through a GPU's float registers
            // (lavapipe does so for signalling NaNs): NaN must stay NaN of the same sign.
            if is_nan(out, c) {
                assert!(
                    is_nan(out, g) && c[size - 1] & 0x80 == g[size - 1] & 0x80,
                    "{input} → {out}: element {i}"
                );
            } else {
                assert_eq!(c, g, "{input} → {out}: element {i}");
            }
        }
    }
}

fn is_nan(dtype: DType, bytes: &[u8]) -> bool {
    let mut value = [0f32];
    dtype.decode(bytes, &mut value);
    value[0].is_nan()
}

/// The WGSL stream (common/rng.wgsl) against src/merge/rng.rs on 1M indices.
#[test]
fn rng_is_bit_identical_on_a_million_indices() {
    let Some(ctx) = adapter(false) else { return };
    let n = 1u32 << 20;
    let seed = 0x1234_5678_9abc_def0u64;
    let name = "model.layers.0.mlp.up_proj.weight";
    let source = format!(
        "{}\n@group(0) @binding(0) var<storage, read_write> out: array<u32>;\n\
         @compute @workgroup_size(256) fn main(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {{\n\
           let i = id.y * nwg.x * 256u + id.x;\n\
           let key = stream_key({}u, {}u, {}u, 3u);\n\
           out[2u * i] = stream_bits(key, i);\n\
           out[2u * i + 1u] = bitcast<u32>(stream_uniform(key, i));\n\
         }}",
        mixmerge::gpu::shaders::RNG,
        seed as u32,
        (seed >> 32) as u32,
        tensor_key(name)
    );
    let words = run_probe(ctx, &source, 2 * n as u64, n / 256);
    let stream = Stream::new(seed, tensor_key(name), 3);
    for i in 0..n {
        assert_eq!(words[2 * i as usize], stream.bits(i), "bits at {i}");
        assert_eq!(
            words[2 * i as usize + 1],
            stream.uniform(i).to_bits(),
            "uniform at {i}"
        );
    }
}

fn run_probe(ctx: &GpuContext, source: &str, words: u64, groups: u32) -> Vec<u32> {
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
    let bind = device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: None,
        layout: &pipeline.get_bind_group_layout(0),
        entries: &[wgpu::BindGroupEntry {
            binding: 0,
            resource: out.as_entire_binding(),
        }],
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

mod common;

/// A whole plan through `run_gpu` equals `run_native` (within 1 ulp), including a method with
/// no GPU kernel yet (slerp: CPU fallback) and a bf16 output with chunked tensors.
#[test]
fn run_gpu_matches_run_native() {
    let Some(ctx) = adapter(true) else { return };
    let dir = tempfile::tempdir().unwrap();
    for (name, seed) in [("base", 0.0), ("a", 1.0), ("b", 2.0)] {
        common::llama_like(&dir.path().join(name), 3, DType::BF16, seed);
    }
    let configs = [
        "merge_method: ties\nbase_model: base\nmodels:\n  - {model: base}\n  - {model: a, parameters: {weight: 0.6, density: 0.4}}\n  - {model: b, parameters: {weight: 0.5, density: 0.7}}\nparameters: {normalize: true}\n",
        "merge_method: dare_linear\nbase_model: base\nmodels:\n  - {model: base}\n  - {model: a, parameters: {weight: 0.6, density: 0.5}}\n  - {model: b, parameters: {weight: 0.5, density: 0.5}}\nparameters: {rescale: true}\nout_dtype: float32\n",
        "merge_method: linear\nmodels:\n  - {model: a, parameters: {weight: 0.3}}\n  - {model: b, parameters: {weight: 0.7}}\nout_dtype: float16\n",
        "merge_method: slerp\nbase_model: a\nmodels:\n  - {model: a}\n  - {model: b}\nparameters: {t: 0.3}\n",
    ];
    for (c, config) in configs.iter().enumerate() {
        let cpu = merge_plan(dir.path(), &format!("{c}-cpu"), config, None);
        let gpu = merge_plan(dir.path(), &format!("{c}-gpu"), config, Some((ctx, false)));
        assert_same_model(&format!("config {c}"), &cpu, &gpu);
    }
}

/// A device lost in the middle of a merge (after its first tensor) moves the rest to the CPU:
/// the output is complete and equal to the CPU's.
#[test]
fn lost_device_mid_merge_finishes_on_the_cpu() {
    let Some(_) = adapter(false) else { return };
    // A context of its own: this test destroys its device.
    let ctx = request_native(false).unwrap().unwrap();
    let dir = tempfile::tempdir().unwrap();
    for (name, seed) in [("base", 0.0), ("a", 1.0), ("b", 2.0)] {
        common::llama_like(&dir.path().join(name), 2, DType::BF16, seed);
    }
    let config = "merge_method: ties\nbase_model: base\nmodels:\n  - {model: a, parameters: {weight: 0.6, density: 0.4}}\n  - {model: b, parameters: {weight: 0.5, density: 0.7}}\n";
    let cpu = merge_plan(dir.path(), "cpu", config, None);
    let gpu = merge_plan(dir.path(), "lost", config, Some((&ctx, true)));
    assert_same_model("device lost", &cpu, &gpu);
}

type Model = BTreeMap<String, (DType, Vec<usize>, Vec<u8>)>;

/// Merges `config` (models in `dir`) on the CPU, or on `gpu` — destroying its device once the
/// first tensor is written when asked — and reads the output back.
fn merge_plan(
    dir: &std::path::Path,
    tag: &str,
    config: &str,
    gpu: Option<(&GpuContext, bool)>,
) -> Model {
    use mixmerge::exec::{run_native, ExecOptions};
    use mixmerge::io::{DirSink, ShardWriter};
    use std::sync::atomic::AtomicBool;
    let path = dir.join(format!("merge{tag}.yml"));
    std::fs::write(&path, config).unwrap();
    let prepared =
        mixmerge::native::prepare(mixmerge::native::read_config(&path).unwrap(), None).unwrap();
    let plan = &prepared.plan;
    let out = dir.join(format!("out{tag}"));
    std::fs::create_dir_all(&out).unwrap();
    let mut writer = ShardWriter::new(
        DirSink::new(&out),
        plan.output_tensors(),
        u64::MAX,
        Default::default(),
    )
    .unwrap();
    let options = ExecOptions {
        threads: 2,
        chunk_elements: 40,
    };
    let cancel = AtomicBool::new(false);
    match gpu {
        None => run_native(
            plan,
            &prepared.models,
            &mut writer,
            &options,
            &cancel,
            &mut |_| {},
        )
        .unwrap(),
        Some((ctx, destroy)) => mixmerge::gpu::run_gpu(
            ctx,
            plan,
            &prepared.models,
            &mut writer,
            &options,
            &cancel,
            &mut |progress| {
                if destroy && progress.tensors_done == 1 {
                    ctx.device().destroy();
                }
            },
        )
        .unwrap(),
    }
    writer.finish().unwrap();
    common::read_all(&out)
}

fn assert_same_model(what: &str, cpu: &Model, gpu: &Model) {
    assert_eq!(
        cpu.keys().collect::<Vec<_>>(),
        gpu.keys().collect::<Vec<_>>()
    );
    for (name, (dtype, shape, cpu)) in cpu {
        let (_, gpu_shape, gpu) = &gpu[name];
        assert_eq!(shape, gpu_shape);
        assert_close(&format!("{what} {name}"), *dtype, cpu, gpu, 4);
    }
}
