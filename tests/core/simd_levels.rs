//! The CPU hot loops give the same bytes at every instruction-set level this machine has
//! (baseline, AVX2): whole merges of every loop-heavy method, bf16/f16/f32 tensors
//! large enough for the windowed select and with ragged tails.

use crate::common;

use std::collections::BTreeMap;

use common::{merge_into, read_all, tensor, write_model};
use mixmerge::dtype::DType;
use mixmerge::merge::sparsify::wide::{limit_simd, simd_level, SimdLevel};
use mixmerge::native::MergeOptions;

/// Deterministic values with many ties and a few outliers, different per model.
fn values(n: usize, model: usize, salt: u32) -> Vec<f32> {
    (0..n as u32)
        .map(|i| {
            let h = (i ^ salt)
                .wrapping_mul(0x9E37_79B9)
                .rotate_left(13)
                .wrapping_mul(model as u32 * 2 + 1);
            let step = (h % 61) as f32 - 30.0;
            let outlier = if h % 997 == 0 { 40.0 } else { 1.0 };
            step * outlier * 1e-3 + (i % 5) as f32 * 0.25
        })
        .collect()
}

fn write_models(dir: &std::path::Path) {
    // One tensor past the windowed select's capture-all size, the others with ragged lengths.
    let shapes: [(&str, DType, &[usize]); 4] = [
        ("model.embed_tokens.weight", DType::BF16, &[401, 353]),
        (
            "model.layers.0.self_attn.q_proj.weight",
            DType::F16,
            &[129, 67],
        ),
        ("model.layers.0.mlp.up_proj.weight", DType::F32, &[77, 45]),
        ("model.norm.weight", DType::BF16, &[1003]),
    ];
    for (model, name) in ["base", "a", "b"].iter().enumerate() {
        let tensors: Vec<_> = shapes
            .iter()
            .enumerate()
            .map(|(t, &(tensor_name, dtype, shape))| {
                let n = shape.iter().product();
                tensor(
                    tensor_name,
                    dtype,
                    shape,
                    &values(n, model, t as u32 * 7919),
                )
            })
            .collect();
        write_model(&dir.join(name), &tensors);
    }
}

const METHODS: &[&str] = &[
    "merge_method: ties\nbase_model: base\nmodels:\n  - {model: a, parameters: {weight: 0.6, density: 0.4}}\n  - {model: b, parameters: {weight: 0.5, density: 0.7}}\nparameters: {normalize: true}\n",
    "merge_method: dare_ties\nbase_model: base\nmodels:\n  - {model: a, parameters: {weight: 0.6, density: 0.5}}\n  - {model: b, parameters: {weight: 0.5, density: 0.3}}\n",
    "merge_method: breadcrumbs_ties\nbase_model: base\nmodels:\n  - {model: a, parameters: {weight: 0.6, density: 0.5, gamma: 0.01}}\n  - {model: b, parameters: {weight: 0.5, density: 0.6, gamma: 0.02}}\nparameters: {rescale: true}\n",
    "merge_method: della\nbase_model: base\nmodels:\n  - {model: a, parameters: {weight: 0.6, density: 0.5, epsilon: 0.1}}\n  - {model: b, parameters: {weight: 0.5, density: 0.4, epsilon: 0.05}}\n",
    "merge_method: dare_linear\nbase_model: base\nmodels:\n  - {model: a, parameters: {weight: 0.6, density: 0.5}}\n  - {model: b, parameters: {weight: 0.5, density: 0.5}}\nparameters: {rescale: inverse}\nout_dtype: float16\n",
    "merge_method: task_arithmetic\nbase_model: base\nmodels:\n  - {model: a, parameters: {weight: 0.6}}\n  - {model: b, parameters: {weight: 0.5}}\nout_dtype: bfloat16\n",
    "merge_method: linear\nmodels:\n  - {model: a, parameters: {weight: 0.3}}\n  - {model: b, parameters: {weight: 0.7}}\n",
    "merge_method: sce\nbase_model: base\nmodels:\n  - {model: a}\n  - {model: b}\nparameters: {select_topk: 0.5}\n",
];

type Model = BTreeMap<String, (DType, Vec<usize>, Vec<u8>)>;

#[test]
fn every_simd_level_gives_the_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    write_models(dir.path());
    let options = MergeOptions {
        seed: Some(7),
        ..MergeOptions::default()
    };
    let levels: Vec<SimdLevel> = SimdLevel::ALL
        .into_iter()
        .filter(|&level| {
            limit_simd(level);
            simd_level() == level
        })
        .collect();
    assert!(levels.contains(&SimdLevel::Baseline));
    for (m, config) in METHODS.iter().enumerate() {
        let mut outputs: Vec<(SimdLevel, Model)> = Vec::new();
        for &level in &levels {
            limit_simd(level);
            let out = dir.path().join(format!("out-{m}-{level:?}"));
            merge_into(dir.path(), config, &out, &options).unwrap();
            outputs.push((level, read_all(&out)));
        }
        let (first_level, first) = &outputs[0];
        for (level, model) in &outputs[1..] {
            for (name, (_, _, bytes)) in first {
                assert!(
                    model[name].2 == *bytes,
                    "method {m}: tensor {name} differs between {first_level:?} and {level:?}"
                );
            }
        }
    }
    limit_simd(SimdLevel::Avx2);
}
