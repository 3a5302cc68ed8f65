//! burn inference against an independent reference: the tiny Llama-family and GPT-2 fixtures'
//! logits must match those of make_fixtures.py's float64 numpy forward pass (tolerance in
//! eval_support::TOLERANCE), in one pass, token by token through the KV cache, and on wgpu.

use crate::eval_support;

use std::collections::BTreeMap;

use burn::prelude::Device;
use eval_support::*;
use mixmerge::io::Checkpoint;
use mixmerge::model::{Model, WeightSource};
use mixmerge::MergeError;

fn check_full_pass(name: &str, device: &Device) {
    let (tokens, want) = expected(name);
    let model = load(name, device);
    let got = to_rows(model.forward(&tokens, &mut model.new_cache()).unwrap());
    let error = max_error(&got, &want);
    assert!(
        error <= TOLERANCE,
        "{name}: logits differ from the numpy reference by {error}"
    );
}

#[test]
fn logits_match_the_numpy_reference_on_cpu() {
    for name in FIXTURES {
        check_full_pass(name, &cpu());
    }
}

#[test]
fn kv_cache_continuation_matches_one_full_pass() {
    for name in FIXTURES {
        let (tokens, want) = expected(name);
        let model = load(name, &cpu());
        let mut cache = model.new_cache();
        // A 5-token prefix, then one token at a time, as generation feeds them.
        let mut got = to_rows(model.forward(&tokens[..5], &mut cache).unwrap());
        for token in &tokens[5..] {
            got.extend(to_rows(model.forward(&[*token], &mut cache).unwrap()));
        }
        assert_eq!(cache.len(), tokens.len());
        let error = max_error(&got, &want);
        assert!(
            error <= TOLERANCE,
            "{name}: cached logits differ by {error}"
        );
    }
}

#[test]
fn wgpu_backend_matches_cpu_and_the_reference() {
    let Some(gpu) = gpu() else { return };
    for name in FIXTURES {
        let (tokens, want) = expected(name);
        let reference_model = load(name, &cpu());
        let on_cpu = to_rows(
            reference_model
                .forward(&tokens, &mut reference_model.new_cache())
                .unwrap(),
        );
        let model = load(name, &gpu);
        let mut cache = model.new_cache();
        let mut on_gpu = to_rows(model.forward(&tokens[..7], &mut cache).unwrap());
        on_gpu.extend(to_rows(model.forward(&tokens[7..], &mut cache).unwrap()));
        let versus_cpu = max_error(&on_gpu, &on_cpu);
        assert!(
            versus_cpu <= TOLERANCE,
            "{name}: wgpu differs from CPU by {versus_cpu}"
        );
        let versus_reference = max_error(&on_gpu, &want);
        assert!(
            versus_reference <= TOLERANCE,
            "{name}: wgpu differs from numpy by {versus_reference}"
        );
    }
}

/// Tensors by name: (shape, f32 values).
type TensorMap = BTreeMap<String, (Vec<usize>, Vec<f32>)>;

/// The fixture's tensors in memory, so a test can drop or reshape one.
fn fixture_tensors(name: &str) -> (serde_json::Value, TensorMap) {
    let folder = fixture(name);
    let config = mixmerge::io::read_model_config(&folder).unwrap().unwrap();
    let checkpoint = mixmerge::io::open_checkpoint(&folder).unwrap();
    let tensors = checkpoint
        .order
        .iter()
        .map(|t| {
            let shape = checkpoint.shape_of(t).unwrap();
            (
                t.clone(),
                (shape, pollster::block_on(checkpoint.read_f32(t)).unwrap()),
            )
        })
        .collect();
    (config, tensors)
}

/// A [`WeightSource`] over plain vectors: the trait a GGUF reader will implement too.
struct VecWeights(TensorMap);

impl WeightSource for VecWeights {
    fn source_name(&self) -> &str {
        "in-memory weights"
    }
    fn shape_of(&self, tensor: &str) -> Option<Vec<usize>> {
        self.0.get(tensor).map(|t| t.0.clone())
    }
    async fn read_f32(&self, tensor: &str) -> mixmerge::Result<Vec<f32>> {
        Ok(self.0[tensor].1.clone())
    }
}

#[test]
fn any_weight_source_loads_the_same_model() {
    let (config, tensors) = fixture_tensors("qwen2_bias");
    let (tokens, want) = expected("qwen2_bias");
    let model = pollster::block_on(Model::load(&config, &VecWeights(tensors), &cpu())).unwrap();
    let got = to_rows(model.forward(&tokens, &mut model.new_cache()).unwrap());
    assert!(max_error(&got, &want) <= TOLERANCE);
}

#[test]
fn missing_and_misshapen_tensors_are_named() {
    let (config, mut tensors) = fixture_tensors("llama_gqa");
    tensors.remove("model.layers.1.mlp.up_proj.weight");
    let err = pollster::block_on(Model::load(&config, &VecWeights(tensors.clone()), &cpu()))
        .err()
        .unwrap();
    assert!(
        matches!(&err, MergeError::MissingTensor { tensor, .. } if tensor == "model.layers.1.mlp.up_proj.weight"),
        "{err}"
    );

    let (_, mut tensors) = fixture_tensors("llama_gqa");
    let k = tensors
        .get_mut("model.layers.0.self_attn.k_proj.weight")
        .unwrap();
    k.0 = vec![32, 16]; // transposed: [in, out] instead of HF's [out, in]
    let err = pollster::block_on(Model::load(&config, &VecWeights(tensors), &cpu()))
        .err()
        .unwrap();
    assert!(
        matches!(&err, MergeError::BadTensor { tensor, .. } if tensor == "model.layers.0.self_attn.k_proj.weight"),
        "{err}"
    );
    assert!(err.to_string().contains("[16, 32]"), "{err}");
}

#[test]
fn bf16_storage_decodes_like_the_reference_rounding() {
    // qwen2_bias is stored in bf16: its tensors read back as exactly representable bf16 values.
    let folder = fixture("qwen2_bias");
    let checkpoint: Checkpoint<_> = mixmerge::io::open_checkpoint(&folder).unwrap();
    let values = pollster::block_on(checkpoint.read_f32("model.embed_tokens.weight")).unwrap();
    assert!(values.iter().all(|v| v.to_bits() & 0xffff == 0));
    assert!(values.iter().any(|v| *v != 0.0));
}
