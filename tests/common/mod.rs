//! Helpers shared by the end-to-end tests: tiny hand-made checkpoints and reading outputs back.
#![allow(dead_code)]

#[cfg(feature = "gpu")]
pub mod gpu;
pub mod hub;
pub mod smollm2;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use mixmerge::dtype::DType;
use mixmerge::io::{open_checkpoint, DirSink, OutputTensor, ShardWriter};
use mixmerge::native::{merge_to_folder, prepare, read_config, MergeOptions, MergeReport};
use mixmerge::Result;

/// One tensor of a hand-made checkpoint.
pub struct TensorSpec {
    pub name: String,
    pub dtype: DType,
    pub shape: Vec<usize>,
    pub values: Vec<f32>,
}

pub fn tensor(name: &str, dtype: DType, shape: &[usize], values: &[f32]) -> TensorSpec {
    assert_eq!(shape.iter().product::<usize>(), values.len());
    TensorSpec {
        name: name.to_string(),
        dtype,
        shape: shape.to_vec(),
        values: values.to_vec(),
    }
}

/// Writes a model folder with `model.safetensors` and a small Llama `config.json`.
pub fn write_model(dir: &Path, tensors: &[TensorSpec]) {
    write_sharded_model(dir, tensors, u64::MAX);
}

/// [`write_model`] in shards of at most `shard_bytes` (with an index when there are several).
pub fn write_sharded_model(dir: &Path, tensors: &[TensorSpec], shard_bytes: u64) {
    std::fs::create_dir_all(dir).unwrap();
    let outputs: Vec<OutputTensor> = tensors
        .iter()
        .map(|t| OutputTensor {
            name: t.name.clone(),
            dtype: t.dtype,
            shape: t.shape.clone(),
        })
        .collect();
    let mut writer =
        ShardWriter::new(DirSink::new(dir), outputs, shard_bytes, BTreeMap::new()).unwrap();
    for t in tensors {
        let mut bytes = vec![0u8; t.values.len() * t.dtype.size()];
        t.dtype.encode(&t.values, &mut bytes);
        writer.write(&bytes).unwrap();
    }
    writer.finish().unwrap();
    let layers = tensors
        .iter()
        .filter_map(|t| mixmerge::plan::layer_of(&t.name))
        .max()
        .map_or(0, |l| l + 1);
    std::fs::write(
        dir.join("config.json"),
        format!(
            "{{\"model_type\": \"llama\", \"num_hidden_layers\": {layers}, \"torch_dtype\": \"bfloat16\"}}"
        ),
    )
    .unwrap();
}

/// A small Llama-like model: embeddings, `layers` blocks of two tensors, final norm.
/// `seed` shifts every value so different seeds are different "fine-tunes".
pub fn llama_like(dir: &Path, layers: usize, dtype: DType, seed: f32) {
    let values = |n: usize, salt: f32| -> Vec<f32> {
        (0..n)
            .map(|i| (i as f32 * 0.37 + salt).sin() * 0.5 + seed * ((i % 7) as f32 - 3.0) * 0.01)
            .collect()
    };
    let mut tensors = vec![tensor(
        "model.embed_tokens.weight",
        dtype,
        &[16, 8],
        &values(128, 0.1),
    )];
    for l in 0..layers {
        tensors.push(tensor(
            &format!("model.layers.{l}.self_attn.q_proj.weight"),
            dtype,
            &[8, 8],
            &values(64, l as f32 + 0.5),
        ));
        tensors.push(tensor(
            &format!("model.layers.{l}.input_layernorm.weight"),
            dtype,
            &[8],
            &values(8, l as f32 + 0.9),
        ));
    }
    tensors.push(tensor("model.norm.weight", dtype, &[8], &values(8, 3.3)));
    write_model(dir, &tensors);
}

/// Raw bytes, dtype and shape of every tensor of a checkpoint.
pub fn read_all(path: &Path) -> BTreeMap<String, (DType, Vec<usize>, Vec<u8>)> {
    let checkpoint = open_checkpoint(path).unwrap();
    let mut out = BTreeMap::new();
    for name in &checkpoint.order {
        let location = checkpoint.get(name).unwrap();
        let numel = location.info.numel();
        let mut bytes = vec![0u8; numel * location.info.dtype.size()];
        pollster::block_on(checkpoint.read_elements(name, 0, numel, &mut bytes)).unwrap();
        out.insert(
            name.clone(),
            (location.info.dtype, location.info.shape.clone(), bytes),
        );
    }
    out
}

pub fn read_values(path: &Path, tensor: &str) -> Vec<f32> {
    let all = read_all(path);
    let (dtype, _, bytes) = &all[tensor];
    let mut values = vec![0f32; bytes.len() / dtype.size()];
    dtype.decode(bytes, &mut values);
    values
}

/// Writes `config` into `dir/merge.yml` and merges it into `dir/out`.
pub fn merge(dir: &Path, config: &str, options: &MergeOptions) -> Result<MergeReport> {
    merge_into(dir, config, &dir.join("out"), options)
}

pub fn merge_into(
    dir: &Path,
    config: &str,
    out: &Path,
    options: &MergeOptions,
) -> Result<MergeReport> {
    let path = dir.join("merge.yml");
    std::fs::write(&path, config).unwrap();
    let spec = read_config(&path)?;
    let prepared = prepare(spec, options.seed)?;
    merge_to_folder(
        &prepared,
        out,
        options,
        &AtomicBool::new(false),
        &mut |_| {},
    )
}

/// Entries of a folder other than the inputs the test created: what a failed merge left behind.
pub fn leftovers(dir: &Path, inputs: &[&str]) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            !inputs.contains(&name.as_str()) && name != "merge.yml"
        })
        .collect()
}
