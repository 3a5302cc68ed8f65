//! DELLA, SCE, RAM and arcee_fusion on the GPU against their CPU twins, every dtype, with rows
//! spanning several sort tiles and tensors cut into many chunks: f32 within a few ulp (RAM
//! exactly), f16/bf16 within 1 ulp, DELLA's keep masks bit-identical.

use crate::common;

use common::gpu::*;
use mixmerge::dtype::DType;
use mixmerge::gpu::shaders;
use mixmerge::gpu::{merge_tensor, GpuTensor};
use mixmerge::merge::catalog::{encoded, MethodKind, ParamName};
use mixmerge::merge::rng::{tensor_key, Stream};

/// (shape, tiny binding): one element, a 1-D tensor (one row), rows of several 1024-pair sort
/// tiles, and many rows cut into dozens of chunks.
const SHAPES: [(&[usize], bool); 5] = [
    (&[1], false),
    (&[7], false),
    (&[13, 77], false),
    (&[3, 2600], false),
    (&[500, 40], true),
];

fn check(
    method: MethodKind,
    inputs: usize,
    global: &[(ParamName, f64)],
    per_input: &[(ParamName, f64)],
    tied: bool,
    f32_ulps: u64,
) {
    for (shape, tiny) in SHAPES {
        let Some(ctx) = adapter(tiny) else { return };
        let numel = shape.iter().product();
        for dtype in DTYPES {
            let mut r = recipe(method, inputs, numel, global, per_input);
            r.shape = shape.to_vec();
            let mut d = data(dtype, inputs + 1, numel, tied);
            let cpu = cpu_merge(&r, &d, dtype);
            let gpu = gpu_merge(ctx, &r, &mut d, dtype);
            let what = format!(
                "{} {dtype} {shape:?} {global:?} {per_input:?}",
                method.key()
            );
            assert_close(&what, dtype, &cpu, &gpu, f32_ulps);
        }
    }
}

const RESCALES: [f64; 3] = [
    encoded::RESCALE_OFF,
    encoded::RESCALE_L1,
    encoded::RESCALE_INVERSE,
];

#[test]
fn della_matches_cpu() {
    let per_input = [(ParamName::Density, 0.4), (ParamName::Epsilon, 0.15)];
    for rescale in RESCALES {
        let global = [(ParamName::Rescale, rescale)];
        check(MethodKind::Della, 3, &global, &per_input, true, 4);
        check(MethodKind::DellaLinear, 2, &global, &per_input, false, 4);
    }
}

/// One input at density 1 stays dense beside a sparsified one.
#[test]
fn della_mixes_dense_and_sparse_inputs() {
    let Some(ctx) = adapter(false) else { return };
    for dtype in DTYPES {
        let mut r = recipe(MethodKind::Della, 2, 1500, &[], &[]);
        r.shape = vec![3, 500];
        r.per_input[0].insert(ParamName::Density, 1.0);
        r.per_input[1].insert(ParamName::Density, 0.3);
        let mut d = data(dtype, 3, 1500, true);
        let cpu = cpu_merge(&r, &d, dtype);
        let gpu = gpu_merge(ctx, &r, &mut d, dtype);
        assert_close(&format!("della dense+sparse {dtype}"), dtype, &cpu, &gpu, 4);
    }
}

/// DELLA's keep masks, ranks with heavy ties, rows of one to three sort tiles.
#[test]
fn della_masks_are_bit_identical() {
    let per_input = [(ParamName::Density, 0.3), (ParamName::Epsilon, 0.2)];
    for (shape, tied) in [
        (&[40, 1000][..], true),
        (&[12, 3000], true),
        (&[9, 777], false),
    ] {
        assert_same_mask(MethodKind::DellaLinear, shape, &per_input, tied);
    }
}

#[test]
fn della_row_larger_than_a_binding_is_an_error_naming_the_tensor() {
    let Some(ctx) = adapter(true) else { return };
    let r = recipe(
        MethodKind::Della,
        2,
        5000,
        &[],
        &[(ParamName::Density, 0.5)],
    );
    let mut d = data(DType::F32, 3, 5000, false);
    let tensor = GpuTensor::new(&r, Some(DType::F32), vec![DType::F32; 2], DType::F32);
    let error =
        pollster::block_on(merge_tensor(ctx, &tensor, &mut d, &mut |_| Ok(()))).unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains("model.layers.3.mlp.up_proj.weight") && message.contains("5000"),
        "{message}"
    );
}

#[test]
fn sce_matches_cpu() {
    for select_topk in [1.0, 0.5, 0.1, 0.0] {
        let global = [(ParamName::SelectTopk, select_topk)];
        check(MethodKind::Sce, 3, &global, &[], true, 4);
        check(MethodKind::Sce, 2, &global, &[], false, 4);
    }
}

/// One model: every variance is zero, so nothing is selected at select_topk < 1.
#[test]
fn sce_with_one_model_matches_cpu() {
    check(
        MethodKind::Sce,
        1,
        &[(ParamName::SelectTopk, 0.5)],
        &[],
        false,
        4,
    );
    check(MethodKind::Sce, 1, &[], &[], false, 4);
}

#[test]
fn ram_matches_cpu_exactly_in_f32() {
    for epsilon in [1e-5, 0.04] {
        check(
            MethodKind::Ram,
            3,
            &[(ParamName::Epsilon, epsilon)],
            &[],
            false,
            0,
        );
        check(
            MethodKind::Ram,
            2,
            &[(ParamName::Epsilon, epsilon)],
            &[],
            true,
            0,
        );
    }
}

#[test]
fn arcee_fusion_matches_cpu() {
    check(MethodKind::ArceeFusion, 1, &[], &[], false, 4);
    check(MethodKind::ArceeFusion, 1, &[], &[], true, 4);
}

/// Above 1,000,000 elements the quantiles come from a sample of positions.
#[test]
fn arcee_fusion_with_sampled_quantiles_matches_cpu() {
    let Some(ctx) = adapter(false) else { return };
    let shape = vec![1100, 1000];
    for dtype in [DType::F32, DType::BF16] {
        let mut r = recipe(MethodKind::ArceeFusion, 1, 1_100_000, &[], &[]);
        r.shape = shape.clone();
        let mut d = data(dtype, 2, 1_100_000, false);
        let cpu = cpu_merge(&r, &d, dtype);
        let gpu = gpu_merge(ctx, &r, &mut d, dtype);
        assert_close(
            &format!("arcee_fusion sampled {dtype}"),
            dtype,
            &cpu,
            &gpu,
            4,
        );
    }
}

/// common/divide.wgsl against Rust's f32 division, on random and edge values, by 1 to 17 and
/// by the largest count it takes.
#[test]
fn div_count_rounds_like_f32_division() {
    let Some(ctx) = adapter(false) else { return };
    let stream = Stream::new(3, tensor_key("div"), 0);
    let mut values: Vec<f32> = (0..1 << 16)
        .map(|i| f32::from_bits(stream.bits(i)))
        .collect();
    values.extend([
        0.0,
        -0.0,
        1.0,
        3.0,
        f32::MAX,
        f32::MIN_POSITIVE,
        1e-45,
        1.5e-39,
        16777215.0,
    ]);
    values.retain(|v| v.is_finite());
    let counts: Vec<u32> = (1..=17).chain([255, 65_535]).collect();
    let groups = (values.len() * counts.len()).div_ceil(256) as u32;
    let source = format!(
        "{}\n@group(0) @binding(0) var<storage, read_write> out: array<f32>;\n\
         @group(0) @binding(1) var<storage, read> values: array<f32>;\n\
         @compute @workgroup_size(256) fn main(@builtin(global_invocation_id) id: vec3<u32>) {{\n\
           let i = id.x;\n\
           if (i >= arrayLength(&out)) {{ return; }}\n\
           let counts = array<u32, {}>({});\n\
           out[i] = div_count(values[i / {}u], counts[i % {}u]);\n\
         }}",
        shaders::DIVIDE,
        counts.len(),
        counts
            .iter()
            .map(|c| format!("{c}u"))
            .collect::<Vec<_>>()
            .join(", "),
        counts.len(),
        counts.len(),
    );
    let words = (values.len() * counts.len()) as u64;
    let got = run_probe_with(ctx, &source, words, groups, bytemuck::cast_slice(&values));
    let mut checked = 0;
    for (i, &word) in got.iter().enumerate() {
        let (x, n) = (values[i / counts.len()], counts[i % counts.len()]);
        let expected = x / n as f32;
        // A subnormal quotient is left to the driver's division (which may flush it).
        if expected != 0.0 && expected.abs() < f32::MIN_POSITIVE {
            continue;
        }
        assert_eq!(word, expected.to_bits(), "{x:e} / {n}");
        checked += 1;
    }
    assert!(
        checked > values.len() * counts.len() * 9 / 10,
        "checked {checked}"
    );
}
