//! Every GPU kernel against its CPU twin: f32 within a few ulp, f16/bf16 within 1 ulp, codecs
//! and random masks bit-identical. Runs on lavapipe without a GPU; with MIXMERGE_REQUIRE_GPU=1 a
//! missing adapter fails the test instead of skipping it.

use crate::common;

use std::collections::BTreeMap;

use common::gpu::*;
use mixmerge::dtype::DType;
use mixmerge::gpu::bench::MemorySlots;
use mixmerge::gpu::{request_native, GpuContext};
use mixmerge::merge::catalog::{encoded, MethodKind, ParamName};
use mixmerge::merge::rng::{tensor_key, Stream};

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

/// Rank cuts count in workgroup histograms on GPUs and by global atomics on software
/// adapters: TIES gets the CPU's cuts from either kernel, whichever adapter runs the tests.
#[test]
fn ties_matches_cpu_with_either_histogram_kernel() {
    let Some(default) = adapter(true) else { return };
    assert_eq!(default.workgroup_histograms(), !default.is_cpu());
    for workgroup_histograms in [true, false] {
        let ctx = request_native(false)
            .expect("requesting an adapter")
            .expect("the adapter found above")
            .with_binding_limit(TINY_BINDING)
            .with_workgroup_histograms(workgroup_histograms);
        let per_input = [(ParamName::Density, 0.3)];
        for (numel, dtype) in [(1001, DType::F32), (20_003, DType::BF16)] {
            let r = recipe(MethodKind::Ties, 2, numel, &[], &per_input);
            let mut d = data(dtype, 3, numel, true);
            let cpu = cpu_merge(&r, &d, dtype);
            let gpu = gpu_merge(&ctx, &r, &mut d, dtype);
            let what =
                format!("ties {dtype} n={numel} workgroup histograms {workgroup_histograms}");
            assert_close(&what, dtype, &cpu, &gpu, 4);
        }
    }
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
    assert_same_mask(
        MethodKind::DareLinear,
        &[100_003],
        &[(ParamName::Density, 0.25)],
        false,
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

/// A whole plan through `run_gpu` equals `run_native` (within 1 ulp): sparsified, dense and
/// geometric methods, f32/f16/bf16 outputs, tensors cut into many chunks.
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
