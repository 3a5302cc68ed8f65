//! Helpers for the inference tests: the tiny fixture models (tests/fixtures/eval, written with
//! their reference logits by make_fixtures.py) and a CPU or GPU device to run them on.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::OnceLock;

use burn::prelude::{Device, Tensor};
use mixmerge::io::{open_checkpoint, read_model_config};
use mixmerge::model::{cpu_device, Model};

/// The fixture models: Llama with GQA + llama3 rope scaling (f32), Qwen2-style biases (bf16),
/// SmolLM-style tied embeddings (f16), GPT-2 (f32).
pub const FIXTURES: [&str; 4] = ["llama_gqa", "qwen2_bias", "smollm_tied", "gpt2"];

/// Logits agree when `|got − want| ≤ TOLERANCE · max(1, |want|)`: f32 arithmetic against a
/// float64 reference over two layers leaves errors near 1e-6; 1e-4 still catches any real slip.
pub const TOLERANCE: f32 = 1e-4;

pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/eval")
        .join(name)
}

/// `(tokens, logits [tokens][vocab])` from the fixture's `expected.json`.
pub fn expected(name: &str) -> (Vec<u32>, Vec<Vec<f32>>) {
    let text = std::fs::read_to_string(fixture(name).join("expected.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let tokens = json["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_u64().unwrap() as u32)
        .collect();
    let logits = json["logits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            row.as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap() as f32)
                .collect()
        })
        .collect();
    (tokens, logits)
}

pub fn load(name: &str, device: &Device) -> Model {
    let folder = fixture(name);
    let config = read_model_config(&folder).unwrap().unwrap();
    let checkpoint = open_checkpoint(&folder).unwrap();
    pollster::block_on(Model::load(&config, &checkpoint, device)).unwrap()
}

pub fn to_rows(logits: Tensor<2>) -> Vec<Vec<f32>> {
    let [_, vocab] = logits.dims();
    let flat = logits.into_data().try_into_vec_as::<f32>().unwrap();
    flat.chunks(vocab).map(|r| r.to_vec()).collect()
}

/// Largest `|got − want| / max(1, |want|)`.
pub fn max_error(got: &[Vec<f32>], want: &[Vec<f32>]) -> f32 {
    assert_eq!(got.len(), want.len(), "rows");
    got.iter()
        .zip(want)
        .flat_map(|(g, w)| {
            assert_eq!(g.len(), w.len(), "vocab");
            g.iter()
                .zip(w)
                .map(|(g, w)| (g - w).abs() / w.abs().max(1.0))
        })
        .fold(0.0, f32::max)
}

pub fn cpu() -> Device {
    cpu_device().device
}

/// The wgpu device (lavapipe here), initialised once per test binary; `None` means skip,
/// unless MIXMERGE_REQUIRE_GPU=1 makes a missing adapter (or a build without `gpu`) a failure.
pub fn gpu() -> Option<Device> {
    static GPU: OnceLock<Option<Device>> = OnceLock::new();
    GPU.get_or_init(|| match find_gpu() {
        Ok(device) => Some(device),
        Err(e) => mixmerge::testing::require_gpu(None, &format!("no GPU inference: {e}")),
    })
    .clone()
}

#[cfg(feature = "gpu")]
fn find_gpu() -> Result<Device, String> {
    let found = mixmerge::model::gpu_device().map_err(|e| e.to_string())?;
    eprintln!("inference GPU: {}", found.description);
    Ok(found.device)
}

#[cfg(not(feature = "gpu"))]
fn find_gpu() -> Result<Device, String> {
    Err("this test binary was built without the gpu feature (use --features eval,gpu)".into())
}
