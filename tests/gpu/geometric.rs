//! The geometric GPU kernels (slerp, nuslerp, multislerp, karcher, model_stock) against their
//! CPU twins: every variant × f32/f16/bf16 × shapes from one element to tensors cut into dozens
//! of chunks (a tiny binding limit), rows longer than one reduction segment included. f32
//! within a few ulp, halves within 1 ulp; statistics do not depend on the chunking.

use crate::common;

use common::gpu::{adapter, assert_close, cpu_merge, data, gpu_merge, recipe, DTYPES};
use mixmerge::dtype::DType;
use mixmerge::gpu::request_native;
use mixmerge::merge::catalog::{MethodKind, ParamName};
use mixmerge::merge::TensorRecipe;

/// (shape, tiny binding): one element, a 1-D tensor, rows shorter than the 2048-element
/// reduction segment, and chunked tensors whose rows span several segments and chunks.
const SHAPES: [(&[usize], bool); 6] = [
    (&[1], false),
    (&[7], false),
    (&[77, 13], false),
    (&[83, 241], true),
    (&[3, 5003], true),
    (&[5003, 3], true),
];

fn shaped(
    method: MethodKind,
    inputs: usize,
    shape: &[usize],
    global: &[(ParamName, f64)],
    has_base: bool,
) -> TensorRecipe {
    let mut r = recipe(method, inputs, shape.iter().product(), global, &[]);
    r.shape = shape.to_vec();
    r.has_base = has_base;
    r
}

fn check(method: MethodKind, inputs: usize, global: &[(ParamName, f64)], has_base: bool) {
    for (shape, tiny) in SHAPES {
        let Some(ctx) = adapter(tiny) else { return };
        for dtype in DTYPES {
            let r = shaped(method, inputs, shape, global, has_base);
            let mut d = data(dtype, inputs + usize::from(has_base), r.numel(), false);
            let cpu = cpu_merge(&r, &d, dtype);
            let gpu = gpu_merge(ctx, &r, &mut d, dtype);
            let what = format!("{} {dtype} {shape:?} {global:?}", method.key());
            assert_close(&what, dtype, &cpu, &gpu, 4);
        }
    }
}

#[test]
fn slerp_matches_cpu() {
    check(MethodKind::Slerp, 1, &[(ParamName::T, 0.4)], true);
    check(MethodKind::Slerp, 1, &[(ParamName::T, 0.9)], true);
}

/// Nearly parallel tensors take the CPU's lerp branch (|cos| > 0.9995): so must the GPU's.
#[test]
fn slerp_of_nearly_parallel_tensors_lerps_like_cpu() {
    let Some(ctx) = adapter(false) else { return };
    let r = shaped(
        MethodKind::Slerp,
        1,
        &[64, 33],
        &[(ParamName::T, 0.3)],
        true,
    );
    let base: Vec<f32> = (0..r.numel())
        .map(|i| 1.0 + (i % 17) as f32 / 8.0)
        .collect();
    let other: Vec<f32> = base.iter().map(|b| b * 1.001).collect();
    let mut d = mixmerge::gpu::bench::MemorySlots {
        dtype: DType::F32,
        slots: [base, other]
            .iter()
            .map(|v| v.iter().flat_map(|x| x.to_le_bytes()).collect())
            .collect(),
    };
    let cpu = cpu_merge(&r, &d, DType::F32);
    assert_close(
        "slerp lerp branch",
        DType::F32,
        &cpu,
        &gpu_merge(ctx, &r, &mut d, DType::F32),
        4,
    );
}

#[test]
fn nuslerp_matches_cpu_in_every_vector_layout() {
    let t = |flatten: f64, row_wise: f64| {
        [
            (ParamName::NuslerpFlatten, flatten),
            (ParamName::NuslerpRowWise, row_wise),
        ]
    };
    for has_base in [true, false] {
        check(MethodKind::Nuslerp, 2, &t(1.0, 0.0), has_base);
        check(MethodKind::Nuslerp, 2, &t(0.0, 0.0), has_base);
        check(MethodKind::Nuslerp, 2, &t(0.0, 1.0), has_base);
    }
}

#[test]
fn multislerp_matches_cpu() {
    check(MethodKind::Multislerp, 3, &[], true);
    check(MethodKind::Multislerp, 2, &[], false);
    check(MethodKind::Multislerp, 1, &[], true);
}

#[test]
fn karcher_matches_cpu() {
    check(MethodKind::Karcher, 3, &[], false);
    check(MethodKind::Karcher, 2, &[(ParamName::MaxIter, 3.0)], true);
    check(MethodKind::Karcher, 1, &[], false);
}

#[test]
fn model_stock_matches_cpu() {
    check(MethodKind::ModelStock, 3, &[], true);
    check(
        MethodKind::ModelStock,
        2,
        &[(ParamName::FilterWise, 1.0)],
        true,
    );
    check(
        MethodKind::ModelStock,
        4,
        &[(ParamName::FilterWise, 1.0)],
        true,
    );
}

/// Whole-tensor statistics are summed over fixed spans: a binding limit that still holds whole
/// spans (64 KiB: ~5000 f32 elements of three slots) gives the same bytes as one chunk.
#[test]
fn statistics_do_not_depend_on_chunking() {
    let Some(whole) = adapter(false) else { return };
    let Some(chunked) = request_native(false).expect("adapter") else {
        return;
    };
    let chunked = chunked.with_binding_limit(64 << 10);
    let cases = [
        (MethodKind::Slerp, 1, vec![(ParamName::T, 0.4)]),
        (MethodKind::Multislerp, 2, vec![]),
        (
            MethodKind::Nuslerp,
            2,
            vec![(ParamName::NuslerpRowWise, 1.0)],
        ),
        (MethodKind::ModelStock, 2, vec![]),
    ];
    for (method, inputs, global) in cases {
        let r = shaped(method, inputs, &[10_007, 13], &global, true);
        let mut d = data(DType::F32, inputs + 1, r.numel(), false);
        let one = gpu_merge(whole, &r, &mut d, DType::F32);
        let many = gpu_merge(&chunked, &r, &mut d, DType::F32);
        assert!(one == many, "{}: chunking changed the result", method.key());
    }
}

/// Inputs the CPU twin rejects (nuslerp of three models, model_stock of one) get no GPU plan:
/// the error names the method and the tensor, and nothing is written.
#[test]
fn inputs_the_cpu_twin_rejects_are_refused_by_name() {
    use mixmerge::gpu::{merge_tensor, GpuTensor};
    let Some(ctx) = adapter(false) else { return };
    for (method, inputs) in [(MethodKind::Nuslerp, 3), (MethodKind::ModelStock, 1)] {
        let r = shaped(method, inputs, &[4, 4], &[], true);
        let mut d = data(DType::F32, inputs + 1, 16, false);
        let tensor = GpuTensor::new(&r, Some(DType::F32), vec![DType::F32; inputs], DType::F32);
        let mut written = 0;
        let error = pollster::block_on(merge_tensor(ctx, &tensor, &mut d, &mut |b| {
            written += b.len();
            Ok(())
        }))
        .unwrap_err()
        .to_string();
        assert!(
            error.contains(&r.name) && error.contains(method.key()),
            "{error}"
        );
        assert_eq!(written, 0);
    }
}
