//! Writing deterministic synthetic checkpoints: a base, and variants that are the base plus a
//! small task vector of their own (so every merge method has real deltas to work with).

use std::path::Path;

use super::shapes::ModelShape;
use crate::dtype::DType;
use crate::error::{MergeError, Result};
use crate::io::{DirSink, OutputTensor, ShardSink, ShardWriter};
use crate::merge::rng::{tensor_key, Stream};

const GENERATION_CHUNK: usize = 1 << 20;

/// Value of element `index` of `tensor` in model `variant` (0 = the base).
fn synthetic_value(tensor: &OutputTensor, key: u32, variant: u32, index: usize) -> f32 {
    let base = Stream::new(0, key, 0).uniform(index as u32) - 0.5;
    let is_norm = tensor.shape.len() == 1;
    let mut value = if is_norm {
        1.0 + 0.1 * base
    } else {
        0.04 * base
    };
    if variant > 0 {
        let delta = Stream::new(variant as u64, key, variant).uniform(index as u32) - 0.5;
        value += 0.004 * delta;
    }
    value
}

/// Writes a model folder (`config.json` + shards) for `shape` into `dir`.
pub fn write_synthetic_model(
    dir: &Path,
    shape: &ModelShape,
    dtype: DType,
    variant: u32,
    max_shard_bytes: u64,
) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| MergeError::io(dir.display(), e))?;
    write_synthetic_shards(DirSink::new(dir), shape, dtype, variant, max_shard_bytes)?;
    let config = serde_json::to_string_pretty(&shape.config_json()).expect("JSON serialises");
    let path = dir.join("config.json");
    std::fs::write(&path, config).map_err(|e| MergeError::io(path.display(), e))
}

/// The single safetensors file of `shape`'s model `variant`, in memory.
pub fn synthetic_checkpoint_bytes(
    shape: &ModelShape,
    dtype: DType,
    variant: u32,
) -> Result<Vec<u8>> {
    let mut file = Vec::new();
    write_synthetic_shards(OneFileSink(&mut file), shape, dtype, variant, u64::MAX)?;
    Ok(file)
}

fn write_synthetic_shards<K: ShardSink>(
    sink: K,
    shape: &ModelShape,
    dtype: DType,
    variant: u32,
    max_shard_bytes: u64,
) -> Result<()> {
    let tensors = shape.tensors(dtype);
    let mut writer = ShardWriter::new(
        sink,
        tensors.clone(),
        max_shard_bytes,
        [("format".to_string(), "pt".to_string())].into(),
    )?;
    let mut values = Vec::with_capacity(GENERATION_CHUNK);
    let mut bytes = Vec::new();
    for tensor in &tensors {
        let key = tensor_key(&tensor.name);
        let numel: usize = tensor.shape.iter().product();
        let mut start = 0;
        while start < numel {
            let end = (start + GENERATION_CHUNK).min(numel);
            values.clear();
            values.extend((start..end).map(|i| synthetic_value(tensor, key, variant, i)));
            bytes.resize(values.len() * dtype.size(), 0);
            dtype.encode(&values, &mut bytes);
            writer.write(&bytes)?;
            start = end;
        }
    }
    writer.finish()?;
    Ok(())
}

/// Collects the one file a writer without a shard limit produces.
struct OneFileSink<'a>(&'a mut Vec<u8>);

impl ShardSink for OneFileSink<'_> {
    fn begin_file(&mut self, _name: &str) -> Result<()> {
        self.0.clear();
        Ok(())
    }

    fn write(&mut self, bytes: &[u8]) -> Result<()> {
        self.0.extend_from_slice(bytes);
        Ok(())
    }

    fn end_file(&mut self) -> Result<()> {
        Ok(())
    }
}
