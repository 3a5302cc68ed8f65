//! The native GPU merge reads the next held tensor on a thread: with tensors held whole and
//! tensors too large for one binding (chunked, not read ahead) mixed in one merge, the output
//! equals the CPU's; held tensors upload straight from the mapped shards, odd byte lengths
//! included, through transfers of any piece size; a cancelled merge stops without waiting on
//! the reading thread.

use crate::common;

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use common::gpu::adapter;
use common::{llama_like, read_all, tensor, write_model};
use mixmerge::dtype::DType;
use mixmerge::gpu::{request_native, GpuContext};
use mixmerge::native::{merge_to_folder, prepare, read_config, Device, MergeOptions};
use mixmerge::MergeError;

const RECIPE: &str = "merge_method: ties\nbase_model: base\nmodels:\n  - model: a\n    parameters: {weight: 0.6, density: 0.5}\n  - model: b\n    parameters: {weight: 0.4, density: 0.7}\n";

fn models(dir: &Path) {
    llama_like(&dir.join("base"), 3, DType::BF16, 0.0);
    llama_like(&dir.join("a"), 3, DType::BF16, 1.0);
    llama_like(&dir.join("b"), 3, DType::BF16, -2.0);
    std::fs::write(dir.join("recipe.yml"), RECIPE).unwrap();
}

fn merge(dir: &Path, out: &str, device: Device, cancel: bool) -> mixmerge::Result<()> {
    let prepared = prepare(read_config(&dir.join("recipe.yml"))?, Some(3))?;
    let options = MergeOptions {
        device,
        ..MergeOptions::default()
    };
    let cancel = AtomicBool::new(cancel);
    merge_to_folder(&prepared, &dir.join(out), &options, &cancel, &mut |_| {}).map(|_| ())
}

/// A context whose bindings hold the base and both inputs of an 8×8 bf16 tensor (3 × 128 bytes)
/// but not of the 16×8 embedding.
fn small_bindings() -> Option<GpuContext> {
    adapter(false)?;
    let ctx = request_native(false).expect("requesting an adapter")?;
    Some(ctx.with_binding_limit(3 * 128 + 64))
}

#[test]
fn held_and_chunked_tensors_in_one_merge_equal_the_cpu() {
    let Some(ctx) = small_bindings() else { return };
    let dir = tempfile::tempdir().unwrap();
    models(dir.path());
    merge(dir.path(), "cpu", Device::Cpu, false).unwrap();
    merge(dir.path(), "gpu", Device::Gpu(Arc::new(ctx)), false).unwrap();
    assert_outputs_within_one_ulp(dir.path());
}

/// bf16 tensors of odd element counts: mapped views that end inside a word, at offsets
/// that are not word-aligned in the shard.
fn odd_models(dir: &Path) {
    for (name, shift) in [("base", 0.0f32), ("a", 1.0), ("b", -2.0)] {
        let values = |n: usize, salt: f32| -> Vec<f32> {
            (0..n)
                .map(|i| {
                    (i as f32 * 0.61 + salt).cos() * 0.3 + shift * ((i % 5) as f32 - 2.0) * 0.01
                })
                .collect()
        };
        write_model(
            &dir.join(name),
            &[
                tensor(
                    "model.embed_tokens.weight",
                    DType::BF16,
                    &[7, 3],
                    &values(21, 0.2),
                ),
                tensor(
                    "model.layers.0.input_layernorm.weight",
                    DType::BF16,
                    &[5],
                    &values(5, 0.7),
                ),
                tensor(
                    "model.layers.0.self_attn.q_proj.weight",
                    DType::BF16,
                    &[3, 3],
                    &values(9, 1.1),
                ),
                tensor("model.norm.weight", DType::BF16, &[3], &values(3, 2.3)),
            ],
        );
    }
}

#[test]
fn held_tensors_of_odd_byte_lengths_upload_from_the_map_and_equal_the_cpu() {
    if adapter(false).is_none() {
        return;
    }
    let ctx =
        Arc::new((request_native(false).expect("requesting an adapter")).expect("an adapter"));
    let two = |a: &str, b: &str| {
        format!("models:\n  - model: a\n    parameters: {{{a}}}\n  - model: b\n    parameters: {{{b}}}\n")
    };
    let recipes = [
        ("linear", two("weight: 0.6", "weight: 0.4")),
        (
            "ties",
            two("weight: 0.6, density: 0.5", "weight: 0.4, density: 0.7"),
        ),
        (
            "dare_ties",
            two("weight: 0.6, density: 0.5", "weight: 0.4, density: 0.7"),
        ),
        (
            "slerp",
            "parameters: {t: 0.3}\nmodels:\n  - model: base\n  - model: a\n".into(),
        ),
    ];
    for (method, models) in recipes {
        let dir = tempfile::tempdir().unwrap();
        odd_models(dir.path());
        let recipe = format!("merge_method: {method}\nbase_model: base\n{models}");
        std::fs::write(dir.path().join("recipe.yml"), recipe).unwrap();
        merge(dir.path(), "cpu", Device::Cpu, false).unwrap();
        merge(dir.path(), "gpu", Device::Gpu(ctx.clone()), false).unwrap();
        assert_outputs_within_one_ulp(dir.path());
    }
}

/// Uploads and read-backs cut into pieces of a few words (a staging ring of two 48-byte
/// slices, two 48-byte read-back buffers) move tensors of many pieces, odd lengths included,
/// held whole or in chunks, as whole transfers do.
#[test]
fn transfers_in_pieces_smaller_than_a_tensor_equal_the_cpu() {
    if adapter(false).is_none() {
        return;
    }
    let whole = (request_native(false).expect("requesting an adapter")).expect("an adapter");
    let chunked = small_bindings().expect("an adapter");
    for ctx in [whole, chunked] {
        let ctx = Arc::new(ctx.with_transfer_bytes(48));
        for odd in [false, true] {
            let dir = tempfile::tempdir().unwrap();
            if odd {
                odd_models(dir.path());
                std::fs::write(dir.path().join("recipe.yml"), RECIPE).unwrap();
            } else {
                models(dir.path());
            }
            merge(dir.path(), "cpu", Device::Cpu, false).unwrap();
            merge(dir.path(), "gpu", Device::Gpu(ctx.clone()), false).unwrap();
            assert_outputs_within_one_ulp(dir.path());
        }
    }
}

fn assert_outputs_within_one_ulp(dir: &Path) {
    let (cpu, gpu) = (read_all(&dir.join("cpu")), read_all(&dir.join("gpu")));
    assert_eq!(
        cpu.keys().collect::<Vec<_>>(),
        gpu.keys().collect::<Vec<_>>()
    );
    for (name, (dtype, shape, bytes)) in &cpu {
        let (gpu_dtype, gpu_shape, gpu_bytes) = &gpu[name];
        assert_eq!((dtype, shape), (gpu_dtype, gpu_shape), "{name}");
        let ulps = bytes
            .chunks_exact(2)
            .zip(gpu_bytes.chunks_exact(2))
            .map(|(c, g)| {
                (i16::from_le_bytes([c[0], c[1]]) as i32 - i16::from_le_bytes([g[0], g[1]]) as i32)
                    .abs()
            })
            .max()
            .unwrap_or(0);
        assert!(ulps <= 1, "{name}: {ulps} ulp");
    }
}

#[test]
fn a_cancelled_gpu_merge_returns_without_output() {
    if adapter(false).is_none() {
        return;
    }
    let ctx = (request_native(false).expect("requesting an adapter")).expect("an adapter");
    let dir = tempfile::tempdir().unwrap();
    models(dir.path());
    let cancelled = merge(dir.path(), "gpu", Device::Gpu(Arc::new(ctx)), true);
    assert!(
        matches!(cancelled, Err(MergeError::Cancelled)),
        "{cancelled:?}"
    );
    assert!(!dir.path().join("gpu").exists());
}
